"""Housekeeping commands: ``journal``, ``token``, ``tr-id``, ``config check``, ``emulator serve``.

None of these changes an order. ``tr-id`` and ``emulator serve`` need no configuration at all;
``journal`` falls back to the default journal path when credentials are not configured.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ._errors import EXIT_USAGE, CLIError
from ._runtime import (
    State,
    config_file,
    emit_json,
    is_kis_host,
    profile_wording,
    show_sharing_warnings,
    state_of,
)

__all__ = [
    "config_app",
    "emulator_app",
    "journal",
    "show_sharing_warnings",
    "token_app",
    "tr_id",
]


_CONTEXT = {"help_option_names": ["-h", "--help"]}
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]

token_app = typer.Typer(context_settings=_CONTEXT)
config_app = typer.Typer(context_settings=_CONTEXT)
emulator_app = typer.Typer(context_settings=_CONTEXT)


# --- journal ------------------------------------------------------------------------------------
def _journal_path(st: State) -> Path | None:
    """Where the journal is (``None`` when switched off), even without credentials."""
    from stock_manager.adapters.broker.kis import KISConfigError

    try:
        config = st.config()
    except KISConfigError:
        # No credentials needed just to read the journal: use what the settings would say.
        overrides = st.config_overrides()
        if overrides.get("journal_path"):
            return Path(overrides["journal_path"]).expanduser()
        if os.environ.get("KIS_JOURNAL_PATH"):
            return Path(os.environ["KIS_JOURNAL_PATH"]).expanduser()
        from stock_manager.adapters.broker.kis.config import default_state_dir

        return default_state_dir() / "journal.sqlite3"
    return config.effective_journal_path if config.journal else None


def journal(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N entries.")] = 20,
    pending: Annotated[
        bool, typer.Option("--pending", help="Only entries to reconcile (pending/unknown).")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Show the order journal, newest first."""
    st = state_of(ctx, json=json_)
    path = _journal_path(st)
    if path is None:
        raise CLIError("the order journal is switched off (KIS_JOURNAL=false)")
    entries: list[Any] = []
    # Do not create an empty journal file just to say that it is empty.
    if path.exists():
        from stock_manager.journal import OrderJournal

        with OrderJournal(path) as jr:
            entries = jr.needs_reconcile()[::-1][:limit] if pending else jr.entries(limit=limit)
    if st.json:
        emit_json(entries)
        return
    from ._render import journal_table

    title = "Entries to reconcile" if pending else "Order journal"
    empty = "nothing pending: no entry needs reconciling" if pending else "the journal is empty"
    st.out.print(journal_table(entries, title=f"{title} ({path})", empty=empty))
    if pending and entries:
        st.out.print("reconcile them with: stock-manager resv reconcile --pending", soft_wrap=True)


# --- token --------------------------------------------------------------------------------------
@token_app.command("status")
def token_status(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Is a token cached, and until when? (Never prints the token or the secret.)"""
    st = state_of(ctx, json=json_)
    config = st.config()
    from stock_manager.adapters.broker.kis.auth import TokenManager
    from stock_manager.adapters.broker.kis.shared_state import open_shared_state

    shared = open_shared_state(config)  # a Redis that does not answer: KISConfigError, exit 2
    tokens = TokenManager(
        base_url=config.effective_base_url,
        app_key=config.kis_app_key,
        app_secret=config.kis_app_secret,
        cache_dir=config.token_cache_dir,
        store=shared.tokens,
    )
    token = tokens.cached()
    # Token lifetimes are POSIX times on the machine's clock (counted from expires_in when the
    # token arrived), so they are judged on it — not on the invocation's (possibly moved) clock.
    now = datetime.now().astimezone()
    info: dict[str, Any] = {
        "cached": token is not None,
        "valid": bool(token and token.valid_at(now.timestamp(), 0)),
        "issued_at": None,
        "expires_at": None,
        "expires_in_s": None,
        "app_key": config.masked_app_key,
        "base_url": config.effective_base_url,
        "cache_file": str(tokens.path),
        "shared_state": shared.description,
    }
    if token is not None:
        info["issued_at"] = datetime.fromtimestamp(token.issued_at).astimezone().isoformat()
        info["expires_at"] = datetime.fromtimestamp(token.expires_at).astimezone().isoformat()
        info["expires_in_s"] = max(0, int(token.expires_at - now.timestamp()))
    if st.json:
        emit_json(info)
        return
    from rich.table import Table

    table = Table(show_header=False, box=None, title="Access token", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    if token is None:
        state = "[yellow]none cached[/] (one is issued on the next request)"
    elif info["valid"]:
        hours, rest = divmod(info["expires_in_s"], 3600)
        state = f"[green]cached, valid[/] for {hours} h {rest // 60} min"
    else:
        state = "[red]cached but expired[/]"
    table.add_row("token", state)
    table.add_row("issued", info["issued_at"] or "-")
    table.add_row("expires", info["expires_at"] or "-")
    table.add_row("app key", info["app_key"])
    table.add_row("host", info["base_url"])
    table.add_row("cache file", info["cache_file"])
    table.add_row("shared via", info["shared_state"])
    st.out.print(table)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Revoke the cached token at KIS (/oauth2/revokeP) and delete it locally."""
    st = state_of(ctx, json=json_)
    with st.client() as client:
        revoked = client.revoke_token()
    if st.json:
        emit_json({"revoked": revoked})
    elif revoked:
        st.out.print("[green]✓[/] token revoked and removed from the cache")
    else:
        st.out.print("no cached token: nothing to revoke")


# --- tr-id --------------------------------------------------------------------------------------
def tr_id(
    ctx: typer.Context,
    api_id: Annotated[
        str, typer.Argument(metavar="API_ID", help="KIS API ID, e.g. v1_국내주식-018,019.")
    ],
    paper: Annotated[bool, typer.Option("--paper", help="Paper (모의투자) TR_ID.")] = False,
    action: Annotated[
        str | None,
        typer.Option("--action", help="For multi-TR APIs: cancel or modify.", show_default=False),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Print the TR_ID of an API from the static catalog (no settings, no network)."""
    st = state_of(ctx, json=json_)
    from ._catalog import tr_id_of

    spec, value = tr_id_of(api_id, paper=paper, action=action)
    if st.json:
        emit_json(
            {
                "api_id": spec.api_id,
                "name": spec.name,
                "method": spec.method,
                "path": spec.path,
                "paper": paper,
                "action": action,
                "tr_id": value,
            }
        )
        return
    # Bare value on stdout so that `$(stock-manager tr-id ...)` works in scripts.
    typer.echo(value)


# --- config -------------------------------------------------------------------------------------
class _Check:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []


@config_app.command("check")
def config_check(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Validate the settings, say what is missing, print them masked (never the secret)."""
    st = state_of(ctx, json=json_)
    from stock_manager.adapters.broker.kis import KISConfigError

    check = _Check()
    settings: dict[str, Any] = {}
    profile_file = config_file()
    if st.profile:
        settings["profile"] = f"{st.profile} ({profile_file})"
        _file_permissions(profile_file, check)
    try:
        config = st.config()
    except KISConfigError as exc:
        text = str(exc).removeprefix("invalid KIS configuration: ")
        check.problems.extend(p.strip() for p in text.split(";") if p.strip())
    else:
        settings.update(
            {
                "app_key": config.masked_app_key,
                "app_secret": "set (hidden)",
                "account": config.masked_account or None,
                "hts_id": config.masked_hts_id or None,
                "mode": config.mode,
                "base_url": config.effective_base_url,
                "host": "KIS server" if is_kis_host(config.effective_base_url) else "emulator",
                "custtype": config.custtype,
                "rate_limit": config.effective_rate_limit,
                "token_cache_dir": str(config.token_cache_dir),
                "journal": str(config.effective_journal_path) if config.journal else "off",
            }
        )
        if not config.kis_account_no:
            problem = (
                "kis_account_no (KIS_ACCOUNT_NO): is required for reservation orders"
                " (8+2 digits, 12345678-01)"
            )
            if st.profile:
                problem = profile_wording(problem, st.profile)
            check.problems.append(problem)
        if config.is_paper:
            check.warnings.append(
                "mode is paper: KIS offers no reservation orders in paper trading"
            )
        _shared_state_check(config, settings, check)
    ok = not check.problems
    if st.json:
        emit_json(
            {"ok": ok, "problems": check.problems, "warnings": check.warnings, "settings": settings}
        )
    else:
        _print_check(st, ok, check, settings)
    if not ok:
        raise typer.Exit(EXIT_USAGE)


def _shared_state_check(config: Any, settings: dict[str, Any], check: _Check) -> None:
    """Token cache usable? Shared state reachable? Rate right for a new key? (issue #9)"""
    from stock_manager.adapters.broker.kis import KISConfigError
    from stock_manager.adapters.broker.kis import constants as C
    from stock_manager.adapters.broker.kis.auth import TokenManager

    settings["shared_state"] = config.shared_state_display
    try:
        TokenManager(
            base_url=config.effective_base_url,
            app_key=config.kis_app_key,
            app_secret=config.kis_app_secret,
            cache_dir=config.token_cache_dir,
        ).check_cache()
    except KISConfigError as exc:
        check.problems.append(str(exc))
    if config.shared_state_url:
        from stock_manager.adapters.broker.kis.shared_state import open_shared_state

        try:
            settings["shared_state"] = open_shared_state(config).description + " (reachable)"
        except KISConfigError as exc:
            check.problems.append(str(exc))
    if not config.is_paper and config.effective_rate_limit > C.NEW_KEY_REQUESTS_PER_SECOND:
        check.warnings.append(
            f"a new app key (issued since 2026-04-03) is limited to"
            f" {C.NEW_KEY_REQUESTS_PER_SECOND:.0f} requests/s for its first"
            f" {C.NEW_KEY_LIMITED_DAYS} days (KIS notice 2026-03-20): for those days set"
            f" KIS_RATE_LIMIT={C.NEW_KEY_REQUESTS_PER_SECOND:.0f} (or rate_limit ="
            f" {C.NEW_KEY_REQUESTS_PER_SECOND:.0f} in the profile); without it the client lowers"
            f" its rate by itself after sustained EGW00201 answers, losing a few requests first"
        )


def _file_permissions(path: Path, check: _Check) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        check.warnings.append(f"{path} is readable by other users; run: chmod 600 {path}")


def _print_check(st: State, ok: bool, check: _Check, settings: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    if settings:
        table = Table(show_header=False, box=None, title="Settings", title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        for key, value in settings.items():
            table.add_row(key, escape("-" if value is None else str(value)))
        st.out.print(table)
    for warning in check.warnings:
        st.out.print(f"[yellow]![/] {escape(warning)}", soft_wrap=True)
    for problem in check.problems:
        st.out.print(f"[red]✗[/] {escape(problem)}", soft_wrap=True)
    if ok:
        st.out.print("[green]✓ configuration OK[/]")
    else:
        st.out.print(
            "set them as KIS_* environment variables, in .env, or in a --profile section of "
            + escape(str(config_file())),
            soft_wrap=True,
        )


# --- emulator -----------------------------------------------------------------------------------
class ModeChoice(StrEnum):
    """``--mode`` values."""

    real = "real"
    paper = "paper"


@emulator_app.command("serve")
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
