"""Entry point of ``stock-manager``: :func:`run`.

Start-up is what a user feels most often, so this module imports nothing heavy:

* ``stock-manager --help`` / ``-h`` print the top-level help from the table in :mod:`._meta`
  without importing typer at all (typer alone costs ~7x a bare ``python -c pass``; with its
  rich help formatter ~15x). A bare ``stock-manager`` (or a command group without its
  sub-command, e.g. ``stock-manager resv``) is a usage error: the help goes to stderr, exit 2.
  ``--version`` prints ``stock-manager X.Y.Z``.
* ``stock-manager COMMAND ... --help`` prints the text typer would, pre-rendered into
  :mod:`._helptext`; ``stock-manager [global options] resv list [options]`` is parsed and run
  without typer (both in :mod:`._fast`). ``STOCK_MANAGER_NO_FAST=1`` turns these off.
* Every other invocation goes through typer, imported when the command is dispatched; httpx,
  pydantic, the KIS library and the emulator only inside the command that needs them.

All exceptions end here and become an exit code (see :mod:`._errors`): 0 ok, 1 API/runtime
error, 2 usage/bad input, 3 outcome unknown. Without ``--debug`` an error is one line on
stderr; with ``--debug`` the traceback is shown too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from . import _meta

if TYPE_CHECKING:
    import typer

__all__ = ["fast_help", "main", "run"]

_HELP_ARGS = (("--help",), ("-h",))
_VERSION_ARGS = (("--version",), ("-V",))


def _style(text: str, code: str, stream: Any) -> str:
    """ANSI-style ``text`` when ``stream`` is a terminal and ``NO_COLOR`` is not set."""
    if os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    return f"\x1b[{code}m{text}\x1b[0m"


def fast_help(stream: Any = None) -> str:
    """The top-level help text, built from :mod:`._meta` (no typer, no rich)."""
    out = stream or sys.stdout
    width = max(len(name) for name, _ in _meta.GLOBAL_OPTIONS + _meta.COMMANDS) + 2
    lines = [
        f"{_style('Usage:', '1', out)} {_meta.PROG} [OPTIONS] COMMAND [ARGS]...",
        "",
        *("  " + line if line else "" for line in _meta.APP_HELP.splitlines()),
        "",
        _style("Options:", "1", out),
        *(f"  {_style(o.ljust(width), '36', out)}{h}" for o, h in _meta.GLOBAL_OPTIONS),
        "",
        _style("Commands:", "1", out),
        *(f"  {_style(c.ljust(width), '36', out)}{h}" for c, h in _meta.COMMANDS),
        "",
        f"  {_meta.EXIT_CODES_HELP}",
        f"  Run '{_meta.PROG} COMMAND --help' for the options of a command.",
    ]
    return "\n".join(lines) + "\n"


def _debug_requested(argv: Sequence[str]) -> bool:
    # Read straight from argv so that even a usage error (before the typer callback ran)
    # honours --debug.
    return "--debug" in argv or os.environ.get("STOCK_MANAGER_DEBUG", "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if tuple(args) in _HELP_ARGS:
        sys.stdout.write(fast_help())
        return 0
    if tuple(args) in _VERSION_ARGS:
        sys.stdout.write(_meta.version_line() + "\n")
        return 0
    if not args:
        # A missing command is a usage error (exit 2): the help says what to type instead.
        sys.stderr.write(fast_help(sys.stderr))
        sys.stderr.write(f"error: Missing command. (see '{_meta.PROG} --help')\n")
        return 2
    from . import _fast

    if _fast.enabled():
        text = _fast.static_help(args)  # every command's --help, pre-rendered
        if text is not None:
            sys.stdout.write(text)
            return 0
    debug = _debug_requested(args)
    try:
        # tr-id and api list/show read only the catalog: answered without typer, and without
        # the error formatter unless something goes wrong (start-up: bench_cli_startup.py).
        from ._catalog import run_fast

        fast = run_fast(args)
    except BaseException as exc:
        from ._errors import report

        return report(exc, debug=debug)
    if fast is not None:
        return fast
    # httpx imports its own command line (click, pygments, rich.syntax ...) when click is
    # installed; this process never runs it. A None entry makes httpx take its documented
    # "CLI not installed" fallback: ~3x `python -c pass` saved on every command that talks HTTP.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from ._errors import report

    try:
        code = _fast.dispatch(args)  # `resv list` without typer
        if code is not None:
            return code
        from typer.main import get_command

        from .app import app

        command = get_command(app)
        # standalone_mode=False: typer/click hand every exception back to us, so usage errors
        # and library errors share one formatter and one exit-code table.
        result = command.main(args=args, prog_name=_meta.PROG, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except BrokenPipeError:
        # `stock-manager resv list | head`: the reader has what it wanted (listings stream).
        _stdout_to_devnull()
        return 0
    except BaseException as exc:  # the single place where every error ends up
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
