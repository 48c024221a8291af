"""Build and run the MCP server (official MCP Python SDK, ``MCPServer``), stdio by default.

The environment is fixed here, once: :func:`resolve_environment` decides emulator / paper /
live from the settings and refuses a real KIS host unless ``allow_live``. Without
``allow_orders`` only the read tools exist (:mod:`.tools.read`); with it the order tools of
:mod:`.tools.orders` and :mod:`.tools.apply` are registered too. Nothing is loaded or executed
at run time beyond this package and the library.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer

from stock_manager._hosts import is_kis_host

from .registry import Registry
from .runtime import Environment, Runtime, ServerOptions

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis import KISConfig

__all__ = ["LiveRefusedError", "build_server", "resolve_environment"]

log = logging.getLogger("stock_manager.mcp")

INSTRUCTIONS = (
    "Korea Investment & Securities reservation orders (주식예약주문) through stock-manager. "
    "The environment ({env}) is fixed by the person who started this server; no tool can change "
    "it. Orders are two-step: preview_reservation returns a confirmation_token, "
    "execute_reservation sends exactly the preview after the person confirms. If a result says "
    "'unknown', never place the order again: call reconcile with its journal_id."
)


class LiveRefusedError(Exception):
    """A real KIS host without ``--allow-live``."""


def resolve_environment(config: KISConfig, options: ServerOptions) -> Environment:
    """Emulator (any non-KIS host), paper or live; live only with ``allow_live``."""
    base = config.effective_base_url
    if not is_kis_host(base):
        kind = "emulator"
    elif config.is_paper:
        kind = "paper"
    else:
        kind = "live"
        if not options.allow_live:
            raise LiveRefusedError(
                f"{base} is the real KIS server: start the MCP server with --allow-live to use"
                " it (or use --emulator URL, or a paper profile)"
            )
    return Environment(kind, base, config.mode, config.masked_account)  # type: ignore[arg-type]


def build_server(rt: Runtime) -> tuple[MCPServer, Registry]:
    """The SDK server with this runtime's tools."""
    from .tools import apply, orders, read

    server = MCPServer(
        name="stock-manager",
        instructions=INSTRUCTIONS.format(env=f"{rt.env.kind} {rt.env.base_url}"),
        log_level="WARNING",
    )
    reg = Registry(server, rt)
    server._lowlevel_server.middleware.append(reg.refuse_unknown_arguments)
    read.register(reg)
    if rt.options.allow_orders:
        orders.register(reg)
        apply.register(reg)
    return server, reg


def runtime_for(config: KISConfig, options: ServerOptions) -> Runtime:
    """Decide the environment (may refuse) and build the runtime."""
    env = resolve_environment(config, options)
    return Runtime(config, options, env)


async def serve_stdio(rt: Runtime) -> None:
    """Serve over stdin/stdout until the client closes the connection."""
    server, _ = build_server(rt)
    from stock_manager.masking import SECRET_FILTER

    # The SDK installs its own stderr handler on the root logger: scrub what it prints too.
    for handler in logging.getLogger().handlers:
        handler.addFilter(SECRET_FILTER)
    try:
        await server.run_stdio_async()
    finally:
        rt.close()


def startup_line(rt: Runtime, tools: Any) -> str:
    """One line on stderr at start: environment, orders on/off, limits (nothing secret)."""
    return (
        f"stock-manager mcp: {rt.env.kind} {rt.env.base_url} account {rt.env.account or '-'};"
        f" orders {'on' if rt.options.allow_orders else 'off'}"
        f" (confirm: {rt.options.confirm}); tools: {', '.join(tools)};"
        f" limits: {rt.options.limits.describe()}"
    )
