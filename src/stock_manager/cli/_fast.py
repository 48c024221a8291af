"""Typer-free fast paths for the most frequent invocations.

Importing typer (which builds pydantic adapters for its parameters) and the whole command tree
costs a command about 7x a bare ``python -c pass`` before it has done anything. Two things are
therefore answered without typer:

* ``--help`` of every command: the text typer would print (plain, 100 columns), rendered ahead
  of time into :mod:`._helptext` by ``python -m stock_manager.cli._helpgen``. A test renders
  it again through typer and compares.
* ``stock-manager [global options] resv list [options]``: parsed here, then run by
  :func:`resv_list`, the same function typer's ``resv list`` calls.

Anything this module does not fully understand (an unknown option, a bad choice, a missing
value) returns ``None`` and goes through typer, which gives the usual usage error. Setting
``STOCK_MANAGER_NO_FAST=1`` sends everything through typer.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._runtime import State

__all__ = ["dispatch", "parse_resv_list", "print_reservations", "resv_list", "static_help"]

_HELP_FLAGS = ("--help", "-h")
# Global options (before the command) -> State field. Flags take no value.
_GLOBAL_FLAGS = {"--json": "json", "--debug": "debug", "--yes": "yes", "-y": "yes"}
_GLOBAL_VALUES = {"--emulator": "emulator", "--profile": "profile"}
# Global options the fast path leaves to typer (they end the run before any command).
GLOBAL_TO_TYPER = ("--version", "-V")
# `resv list` options -> resv_list() keyword.
LIST_FLAGS = {"--include-cancelled": "include_cancelled", "--json": "json"}
LIST_VALUES = {
    "--from": "start",
    "--to": "end",
    "--symbol": "symbol",
    "-s": "symbol",
    "--side": "side",
    "--status": "status",
}
_LIST_CHOICES = {
    "side": ("buy", "sell"),
    "status": ("all", "pending", "waiting", "active", "processed", "ended"),
}


def enabled() -> bool:
    """Whether fast paths may be used (``STOCK_MANAGER_NO_FAST`` unset or ``0``)."""
    return os.environ.get("STOCK_MANAGER_NO_FAST", "") in ("", "0")


def static_help(args: Sequence[str]) -> str | None:
    """The pre-rendered help of ``COMMAND ... --help``, or ``None`` (then typer renders it)."""
    if len(args) < 2 or args[-1] not in _HELP_FLAGS:
        return None
    from ._helptext import HELP

    return HELP.get(" ".join(args[:-1]))


def _split(args: Sequence[str], i: int) -> tuple[str, str | None]:
    """``--opt=value`` -> (``--opt``, ``value``); anything else -> (arg, ``None``)."""
    arg = args[i]
    if arg.startswith("--") and "=" in arg:
        name, value = arg.split("=", 1)
        return name, value
    return arg, None


def parse_resv_list(args: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(global options, list options)`` of a plain ``resv list`` invocation, else ``None``."""
    glob: dict[str, Any] = {}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name, value = _split(args, i)
        if name in _GLOBAL_FLAGS and value is None:
            glob[_GLOBAL_FLAGS[name]] = True
        elif name in _GLOBAL_VALUES:
            if value is None:
                i += 1
                if i >= len(args):
                    return None
                value = args[i]
            glob[_GLOBAL_VALUES[name]] = value
        else:  # GLOBAL_TO_TYPER and anything unknown
            return None
        i += 1
    if list(args[i : i + 2]) != ["resv", "list"]:
        return None
    opts: dict[str, Any] = {}
    i += 2
    while i < len(args):
        name, value = _split(args, i)
        if name in LIST_FLAGS and value is None:
            opts[LIST_FLAGS[name]] = True
        elif name in LIST_VALUES:
            if value is None:
                i += 1
                if i >= len(args):
                    return None
                value = args[i]
            key = LIST_VALUES[name]
            if key in _LIST_CHOICES:
                value = value.lower()  # typer: case_sensitive=False
                if value not in _LIST_CHOICES[key]:
                    return None
            opts[key] = value
        else:
            return None  # --help, a stray argument, an unknown option: typer's business
        i += 1
    return glob, opts


def resv_list(
    st: State,
    *,
    start: str | None = None,
    end: str | None = None,
    symbol: str | None = None,
    side: str | None = None,
    status: str = "all",
    include_cancelled: bool = False,
) -> None:
    """``stock-manager resv list``: rows are printed page by page as they arrive.

    With ``--json`` they are streamed as one JSON array; otherwise a rich table, or for long
    listings a light aligned layout (see :func:`print_reservations`).
    """
    from stock_manager.adapters.broker.kis.reservations import Reservations

    from ._runtime import emit_json_stream, parse_date

    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if symbol is not None:
        symbol = _checked_symbol(symbol)
    with st.client(need_account=True) as client:
        # The default range is counted from today on the invocation's one clock.
        rows = Reservations(client, clock=st.clock).list_reservations(
            first,
            last,
            symbol=symbol,
            side=side,
            status=status,  # type: ignore[arg-type]  # one of _LIST_CHOICES["status"]
            include_cancelled=include_cancelled,
        )
        if st.json:
            emit_json_stream(rows)
            return
        print_reservations(rows, st)


def _checked_symbol(text: str) -> str:
    """``--symbol`` through the library's one symbol check (as ``resv place`` refuses it)."""
    from stock_manager.adapters.broker.kis.errors import KISValidationError
    from stock_manager.adapters.broker.kis.reservations.models import parse_symbol

    try:
        return parse_symbol(text)
    except ValueError as exc:
        raise KISValidationError(f"invalid reservation filter: symbol: {exc}") from None


def dispatch(args: Sequence[str]) -> int | None:
    """Run ``args`` if it is a plain ``resv list``; return the exit code, else ``None``."""
    if not enabled():
        return None
    parsed = parse_resv_list(args)
    if parsed is None:
        return None
    glob, opts = parsed
    from ._runtime import State, configure_logging

    if not glob.get("profile"):
        glob["profile"] = os.environ.get("STOCK_MANAGER_PROFILE") or None
    st = State(**glob)
    configure_logging(st.debug)
    if opts.pop("json", False):
        st.json = True
    resv_list(st, **opts)
    return 0


def print_reservations(reservations: Iterable[Any], st: State, title: str = "Reservations") -> int:
    """Print a listing to the human output of ``st`` as it arrives; return the number of rows.

    Up to :data:`RICH_TABLE_MAX_ROWS` rows it is rich's table: drawn by :mod:`._table` when
    stdout is certain to get the same bytes, else by rich. Longer listings stream in the light
    layout of :func:`._render.print_reservations`.
    """
    from ._listing import RICH_TABLE_MAX_ROWS, box_table  # here: --help never needs it

    rows = iter(reservations)
    head = list(itertools.islice(rows, RICH_TABLE_MAX_ROWS + 1))
    if len(head) <= RICH_TABLE_MAX_ROWS and not st.json and not st.out_built and enabled():
        from . import _table

        term = _table.terminal(sys.stdout)
        if term is not None:
            text = box_table(head, term, title)
            if text is not None:
                sys.stdout.write(text)
                sys.stdout.flush()
                return len(head)
    from ._render import print_reservations as rich_print

    return rich_print(itertools.chain(head, rows), st.out, title)
