"""Entry point of ``stock-manager``: :func:`run`.

Every invocation goes through one parser, the typer application of :mod:`.app`: its top level
knows the commands from the table in :mod:`._meta` and imports only the module of the command
that runs (``--help`` lists them all from the table). httpx, pydantic, the KIS library and the
emulator are imported only inside the command that needs them. This module itself imports
nothing heavy, so that importing it (the console script does) costs nothing.

All exceptions end here and become an exit code (see :mod:`._errors`): 0 ok, 1 API/runtime
error, 2 usage/bad input, 3 outcome unknown. Without ``--debug`` an error is one line on
stderr; with ``--debug`` the traceback is shown too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from . import _meta

if TYPE_CHECKING:
    import typer

__all__ = ["main", "run"]


def _debug_requested(argv: Sequence[str]) -> bool:
    # Read straight from argv so that even a usage error (before the typer callback ran)
    # honours --debug.
    return "--debug" in argv or os.environ.get("STOCK_MANAGER_DEBUG", "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    # httpx imports its own command line (click, pygments, rich.syntax ...) whenever click is
    # installed, and it is (uvicorn, the emulator's server, requires it); this process never
    # runs that command line. A None entry makes httpx take its documented "CLI not installed"
    # fallback. bench/bench_cli_startup.py prints what it saves every command that talks HTTP
    # (`import httpx` with and without it).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        from typer.main import get_command

        from .app import app

        command = get_command(app)
        # standalone_mode=False: typer/click hand every exception back to us, so usage errors
        # and library errors share one formatter and one exit-code table.
        result = command.main(args=args, prog_name=_meta.PROG, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except BaseException as exc:  # the single place where every error ends up
        from ._errors import ReaderLeft, report

        if isinstance(exc, ReaderLeft | BrokenPipeError):
            # `stock-manager resv list | head`: the reader has what it wanted (listings stream).
            _stdout_to_devnull()
            return 0
        return report(exc, debug=debug)


def _stdout_to_devnull() -> None:
    # So that the interpreter's final flush of stdout does not complain again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def run() -> NoReturn:
    """Console-script entry point (``stock-manager = stock_manager.cli.main:run``)."""
    code = main()
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # `stock-manager ... | head`: not an error
        _stdout_to_devnull()
    sys.exit(code)


def __getattr__(name: str) -> typer.Typer:
    """``stock_manager.cli.main.app`` is the typer app, imported on first access."""
    if name == "app":
        from .app import app

        return app
    raise AttributeError(name)
