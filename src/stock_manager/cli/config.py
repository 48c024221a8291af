"""``stock-manager config check``: validate the settings and show them masked.

The app secret, the token and the full account number are never printed.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import typer

from . import _meta
from ._errors import EXIT_USAGE
from ._runtime import State, config_file, emit_json, is_kis_host, profile_wording, state_of
from ._typer import JsonOpt, Typer

__all__ = ["app"]

app = Typer(name="config", help=_meta.COMMAND_HELP["config"])


class _Check:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []


@app.command("check")
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
