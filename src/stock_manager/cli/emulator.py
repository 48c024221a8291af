"""``stock-manager emulator serve``: the local KIS emulator in the foreground.

It needs no configuration: credentials default to the ``KIS_*`` settings, else a generated
demo set printed in the banner.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from . import _meta
from ._typer import Typer

__all__ = ["app"]

app = Typer(name="emulator", help=_meta.COMMAND_HELP["emulator"])


class ModeChoice(StrEnum):
    """``--mode`` values."""

    real = "real"
    paper = "paper"


@app.command("serve")
def emulator_serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0 = any free port).")
    ] = 8765,
    app_key: Annotated[
        str | None, typer.Option("--app-key", help="Accepted app key.", show_default=False)
    ] = None,
    app_secret: Annotated[
        str | None, typer.Option("--app-secret", help="Accepted app secret.", show_default=False)
    ] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", metavar="12345678-01", help="Account.", show_default=False),
    ] = None,
    mode: Annotated[
        ModeChoice, typer.Option("--mode", case_sensitive=False, help="real or paper.")
    ] = ModeChoice.real,
    state: Annotated[
        str | None,
        typer.Option("--state", metavar="FILE", help="Persist state in this SQLite file."),
    ] = None,
    no_rate_limit: Annotated[
        bool, typer.Option("--no-rate-limit", help="Switch the 20/2 req/s limit off.")
    ] = False,
    clock: Annotated[
        str | None,
        typer.Option(
            "--clock",
            metavar="2026-12-01T16:00+09:00",
            help="Start the emulator clock at this instant (it keeps running).",
            show_default=False,
        ),
    ] = None,
    no_window: Annotated[
        bool,
        typer.Option("--no-window", help="Accept reservations at any hour (KIS does not)."),
    ] = False,
    closed_days: Annotated[
        str | None,
        typer.Option(
            "--closed-days",
            metavar="2026-12-02,2026-12-03",
            help="Extra KRX closed days (comma separated).",
            show_default=False,
        ),
    ] = None,
    late_days: Annotated[
        str | None,
        typer.Option(
            "--late-days",
            metavar="2026-12-04",
            help="Extra late-session days (session and reservation window one hour later).",
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            metavar="KEY:SECRET[:MODE[:ACCOUNTS[:RATE|new]]]",
            help="Another app key to accept (repeatable): its mode (real/paper), accounts"
            " (comma separated) and budget (req/s, or 'new' for a new key's 3/s).",
            show_default=False,
        ),
    ] = None,
    any_symbol: Annotated[
        bool,
        typer.Option(
            "--any-symbol",
            help="Accept orders for any well-formed code, not only the emulator's listed ones"
            " (KIS refuses an unknown code).",
        ),
    ] = False,
    token_lifetime: Annotated[
        int,
        typer.Option(
            "--token-lifetime",
            metavar="SECONDS",
            help="How long the access tokens it issues live, in seconds (KIS: 86400, a day)."
            " Longer lets a rehearsal move the clock days ahead without a new token each day.",
        ),
    ] = 86400,
    hts_id: Annotated[
        str | None,
        typer.Option(
            "--hts-id",
            metavar="ID",
            help="The HTS ID of the app key: the tr_key its execution notices are subscribed"
            " with (default: a demo ID printed in the banner).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the local KIS emulator in the foreground (Ctrl-C stops it).

    Credentials default to KIS_APP_KEY/KIS_APP_SECRET/KIS_ACCOUNT_NO, else a generated demo set;
    the banner prints the exports that point this CLI at it.
    """
    from stock_manager.emulator import serve
    from stock_manager.emulator.config import parse_key
    from stock_manager.emulator.krx_calendar import parse_days, parse_instant
    from stock_manager.emulator.server import ServeOptionError, check_serve_options

    try:
        check_serve_options(
            host=host,
            port=port,
            app_key=app_key,
            app_secret=app_secret,
            account=account,
            state_file=state,
            token_lifetime=token_lifetime,
        )
        option = "--key"
        extra: dict[str, Any] = {"keys": tuple(parse_key(k) for k in key or ())}
        option = "--clock"
        extra["start_at"] = parse_instant(clock) if clock else None
        option = "--closed-days"
        extra["closed_days"] = parse_days(closed_days or "")
        option = "--late-days"
        extra["late_days"] = parse_days(late_days or "")
        extra["enforce_window"] = not no_window
        extra["token_lifetime_s"] = token_lifetime
        if any_symbol:
            extra["any_symbol"] = True
        if hts_id is not None:
            option = "--hts-id"
            if not hts_id.strip() or len(hts_id.strip()) > 12:
                raise ValueError("must be 1-12 characters")
            extra["hts_id"] = hts_id.strip()
    except ServeOptionError as exc:
        raise typer.BadParameter(str(exc), ctx=ctx, param_hint=f"'{exc.option}'") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), ctx=ctx, param_hint=f"'{option}'") from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: the emulator listens on {host}, not only on this machine", err=True)
    serve(
        host=host,
        port=port,
        app_key=app_key,
        app_secret=app_secret,
        account=account,
        mode=mode.value,
        state_file=state,
        rate_limit=0 if no_rate_limit else None,
        **extra,
    )
