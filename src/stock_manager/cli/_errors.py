"""Exit codes and the one-line error message.

=====  ===========================================================================
code   meaning
=====  ===========================================================================
0      success
1      KIS refused, the network failed, a runtime error (nothing wrong with the input)
2      usage error or bad input (an unknown SEQ too): no order was sent
3      an order request may or may not have been processed: reconcile before resending
4      ``resv report``: a reservation was rejected or not processed (see the report)
130    interrupted (Ctrl-C)
=====  ===========================================================================

Every error is printed as ONE line on stderr — ``error: <what happened> — <what to do next>``
— built from the exception (``msg_cd``/``msg1`` are already part of a KIS error's text) and,
when the message code is one we know, :func:`~stock_manager.adapters.broker.kis.errors.explain`.
``--debug`` prints the traceback first. A file with problems (``resv plan/apply FILE``) lists
them first, one per line as ``FILE:LINE:COLUMN: ...``; its ``error:`` line still comes once, last.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Any

__all__ = [
    "EXIT_API",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNKNOWN",
    "EXIT_USAGE",
    "CLIError",
    "ReaderLeft",
    "classify",
    "report",
]

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3
EXIT_INTERRUPTED = 130

_KIS_ERRORS = "stock_manager.adapters.broker.kis.errors"


class ReaderLeft(Exception):
    """stdout was closed by its reader (``stock-manager resv list | head``): exit 0, quietly."""


class CLIError(Exception):
    """An error the CLI itself detected (bad argument value, refused confirmation, ...)."""

    def __init__(self, message: str, *, exit_code: int = EXIT_USAGE, hint: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.hint = hint


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _has_class(exc: BaseException, name: str) -> bool:
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def _kis(exc: BaseException) -> tuple[str, str, int] | None:
    """(message, advice, exit code) for the KIS library's exceptions, else ``None``."""
    errors = sys.modules.get(_KIS_ERRORS)
    if errors is None or not isinstance(exc, errors.KISError):
        return None
    message = str(exc)
    info = errors.explain(exc.msg_cd) if exc.msg_cd else None
    advice = info.advice if info else ""
    if isinstance(exc, errors.OrderOutcomeUnknownError):
        target = str(exc.journal_id) if exc.journal_id is not None else "--pending"
        return (
            message,
            f"do NOT resend; run: stock-manager resv reconcile {target}",
            EXIT_UNKNOWN,
        )
    if isinstance(exc, errors.KISConfigError):
        return message, advice or "see: stock-manager config check", EXIT_USAGE
    if isinstance(exc, errors.KISTransportError):
        return (
            message,
            advice or "nothing was sent; check the network and the base URL (--emulator)",
            EXIT_API,
        )
    if isinstance(exc, errors.KISNotSentError):
        # Validation, TR_ID and paper-mode refusals — and ReservationNotFoundError, which the
        # library files under validation: an unknown SEQ is bad input like any other (exit 2).
        return message, advice, EXIT_USAGE
    if isinstance(exc, errors.KISAuthError):
        return message, advice or "check KIS_APP_KEY/KIS_APP_SECRET (config check)", EXIT_API
    if isinstance(exc, errors.KISBusinessError):
        return message, advice or "KIS refused it; nothing was changed", EXIT_API
    if isinstance(exc, errors.KISServerError):
        return message, advice or "KIS had a server-side problem; try again later", EXIT_API
    return message, advice, EXIT_API


def classify(exc: BaseException) -> tuple[str, int]:
    """The one-line message (without the ``error:`` prefix) and exit code of ``exc``."""
    if isinstance(exc, CLIError):
        text = str(exc) + (f" — {exc.hint}" if exc.hint else "")
        return _one_line(text), exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    kis = _kis(exc)
    if kis is not None:
        message, advice, code = kis
        return _one_line(message + (f" — {advice}" if advice else "")), code
    click_like = _click_message(exc)
    if click_like is not None:
        return click_like
    if isinstance(exc, OSError):
        return _one_line(f"{exc}"), EXIT_API
    return (
        _one_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)"),
        EXIT_API,
    )


def _click_message(exc: BaseException) -> tuple[str, int] | None:
    """Usage errors and aborts raised by typer's bundled click."""
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc  # typer vendors click as typer._click

    if isinstance(exc, click_exc.UsageError):
        hint = ""
        ctx: Any = exc.ctx
        if ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        return _one_line(exc.format_message() + hint), exc.exit_code
    if isinstance(exc, click_exc.ClickException):
        return _one_line(exc.format_message()), exc.exit_code
    if isinstance(exc, typer_exc.Abort):
        return "aborted; nothing was sent", EXIT_API
    return None


def _missing_command(exc: BaseException) -> bool:
    """A command group run without its sub-command (click's "Missing command.")."""
    return (
        _has_class(exc, "UsageError")
        and getattr(exc, "ctx", None) is not None
        and getattr(exc, "message", "") == "Missing command."
    )


def _exit_code_of(exc: BaseException) -> int | None:
    """``typer.Exit`` / ``SystemExit`` carry their own code: not errors."""
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if _has_class(exc, "Exit") and isinstance(getattr(exc, "exit_code", None), int):
        code: int = exc.exit_code  # type: ignore[attr-defined]
        return code
    return None


def report(exc: BaseException, *, debug: bool = False) -> int:
    """Print ``exc`` as one line on stderr (traceback first with ``debug``); return the code."""
    code = _exit_code_of(exc)
    if code is not None:
        return code
    if _missing_command(exc):
        # A command group run without a sub-command is a usage error: its help (on stderr)
        # says which sub-commands there are; the error line below, exit 2.
        import contextlib

        ctx: Any = getattr(exc, "ctx", None)
        try:
            # typer's rich help formatter prints the help itself (to stdout) and returns "".
            with contextlib.redirect_stdout(sys.stderr):
                text = ctx.get_help()
            if text:
                sys.stderr.write(text if text.endswith("\n") else text + "\n")
        except (OSError, ValueError):
            pass
    message, code = classify(exc)
    if debug and not isinstance(exc, KeyboardInterrupt):
        traceback.print_exception(exc, file=sys.stderr)
    prefix = "error:"
    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        prefix = "\x1b[1;31merror:\x1b[0m"
    try:
        sys.stderr.write(f"{prefix} {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code
