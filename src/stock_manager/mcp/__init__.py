"""An MCP server for AI agents, with the guard rails built in (issue #21).

``stock-manager mcp [--profile P | --emulator URL] [--allow-orders] [--allow-live]``

* The environment (emulator, paper or live) is fixed when the server starts; a real KIS host
  needs ``--allow-live``. No tool can choose a host, a mode or an account.
* Read tools always: ``search_apis``, ``describe_api``, ``call_api`` (inquiries only),
  ``list_reservations``, ``reservation_report``, ``market_calendar``, ``journal``,
  ``reconcile``.
* With ``--allow-orders``: ``preview_reservation`` → ``execute_reservation`` and
  ``preview_apply`` → ``execute_apply``; single-use confirmation tokens bound to the exact
  request, the environment and the account; the person confirms through MCP elicitation;
  the ``[PROFILE.mcp]`` limits and kill switch; everything through the journal, never retried.

Modules: :mod:`.server` (build, stdio), :mod:`.http` (Streamable HTTP on 127.0.0.1 with a
bearer token), :mod:`.registry` (tool wrapper, unknown arguments), :mod:`.runtime`
(environment, client, results), :mod:`.confirmations`, :mod:`.limits`, :mod:`.tools` (by
role). Needs the ``mcp`` extra: ``pip install 'stock-manager[mcp]'``. Guide: ``docs/mcp.md``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ORDER_TOOLS", "READ_TOOLS", "tool_names"]

READ_TOOLS = (
    "search_apis",
    "describe_api",
    "call_api",
    "list_reservations",
    "reservation_report",
    "market_calendar",
    "journal",
    "reconcile",
)
ORDER_TOOLS = ("preview_reservation", "execute_reservation", "preview_apply", "execute_apply")


def tool_names(options: Any) -> tuple[str, ...]:
    """The tools a server started with ``options`` exposes."""
    return READ_TOOLS + (ORDER_TOOLS if options.allow_orders else ())
