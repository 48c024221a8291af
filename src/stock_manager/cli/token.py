"""``stock-manager token status|revoke``: the cached access token (never printed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from . import _meta
from ._runtime import emit_json, state_of
from ._typer import JsonOpt, Typer

__all__ = ["app"]

app = Typer(name="token", help=_meta.COMMAND_HELP["token"])


@app.command("status")
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


@app.command("revoke")
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
