"""``stock-manager mcp``: the MCP server for AI agents (see ``docs/mcp.md``).

The ``mcp`` package (the official MCP Python SDK) is an optional extra, imported only inside
this command, so no other command pays for it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from . import _meta
from ._errors import CLIError
from ._runtime import state_of
from ._typer import Typer

__all__ = ["app", "mcp"]

app = Typer()


class ConfirmChoice(StrEnum):
    """``--confirm`` values."""

    elicit = "elicit"
    token = "token"


class TransportChoice(StrEnum):
    """``--transport`` values."""

    stdio = "stdio"
    http = "http"


@app.command("mcp", help=_meta.COMMAND_HELP["mcp"])
def mcp(
    ctx: typer.Context,
    emulator: Annotated[
        str | None,
        typer.Option(
            "--emulator", metavar="URL", help="Serve against this emulator URL.", show_default=False
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            metavar="NAME",
            show_default=False,
            help="Settings and [NAME.mcp] limits from the config file.",
        ),
    ] = None,
    allow_orders: Annotated[
        bool, typer.Option("--allow-orders", help="Register the order tools (preview/execute).")
    ] = False,
    allow_live: Annotated[
        bool, typer.Option("--allow-live", help="Allow a real KIS host (real money).")
    ] = False,
    confirm: Annotated[
        ConfirmChoice,
        typer.Option(
            "--confirm",
            case_sensitive=False,
            help="elicit: the person confirms every order through the client (refused when the"
            " client cannot ask); token: the confirmation token alone is enough.",
        ),
    ] = ConfirmChoice.elicit,
    token_ttl: Annotated[
        float,
        typer.Option("--token-ttl", min=1.0, help="Seconds a confirmation token stays valid."),
    ] = 120.0,
    spec_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--spec-dir",
            metavar="DIR",
            help="preview_apply may read standing-reservation files here (repeat).",
        ),
    ] = None,
    transport: Annotated[
        TransportChoice,
        typer.Option(
            "--transport",
            case_sensitive=False,
            help="stdio, or http: Streamable HTTP on 127.0.0.1 only, with a bearer token taken"
            " from STOCK_MANAGER_MCP_TOKEN or generated into a 0600 file whose path is shown.",
        ),
    ] = TransportChoice.stdio,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port of --transport http.")
    ] = 8770,
) -> None:
    """Serve stock-manager to AI agents over MCP (stdio): read tools; orders only with
    --allow-orders, as preview -> person confirms -> execute, within the [mcp] limits."""
    st = state_of(ctx)
    st.emulator = emulator or st.emulator
    st.profile = profile or st.profile
    try:
        import mcp as _sdk  # noqa: F401  (only to give a clear message when it is missing)
    except ImportError:
        raise CLIError(
            "the MCP server needs the MCP Python SDK, which is not installed",
            hint="pip install 'stock-manager[mcp]'",
        ) from None
    import logging
    import sys

    import anyio

    from stock_manager.masking import SECRET_FILTER
    from stock_manager.mcp.limits import Limits
    from stock_manager.mcp.runtime import ServerOptions
    from stock_manager.mcp.server import LiveRefusedError, runtime_for, serve_stdio, startup_line

    from ._runtime import config_file, profile_table

    where = f"[{st.profile}.mcp] of {config_file()}"
    try:
        limits = Limits.from_table(profile_table(st.profile, "mcp") if st.profile else None, where)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    options = ServerOptions(
        allow_orders=allow_orders,
        allow_live=allow_live,
        confirm="token" if confirm is ConfirmChoice.token else "elicit",
        token_ttl_s=token_ttl,
        limits=limits,
        spec_dirs=tuple(str(p.expanduser().resolve()) for p in spec_dir or ()),
    )
    # stdout carries the protocol: every log line goes to stderr, secrets filtered.
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SECRET_FILTER)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    lib = logging.getLogger("stock_manager")
    lib.handlers = [handler]  # replaces the CLI's quiet NullHandler: a server has no other voice
    lib.setLevel(logging.DEBUG if st.debug else logging.WARNING)
    lib.propagate = False
    config = st.config()
    st.check_clock(config.effective_base_url)  # STOCK_MANAGER_NOW: emulators only
    options.manager_clock = st.clock  # the invocation's one clock
    try:
        rt = runtime_for(config, options)
    except LiveRefusedError as exc:
        raise CLIError(str(exc)) from None
    from .. import mcp as package

    tools = package.tool_names(options)
    sys.stderr.write(startup_line(rt, tools) + "\n")
    sys.stderr.flush()
    if transport is TransportChoice.stdio:
        anyio.run(serve_stdio, rt)
        return
    from stock_manager.adapters.broker.kis.config import default_state_dir
    from stock_manager.mcp.http import load_or_create_token, serve_http

    try:
        token, where = load_or_create_token(default_state_dir())
    except ValueError as exc:
        rt.close()
        raise CLIError(str(exc)) from None
    sys.stderr.write(f"bearer token: {where}\n")
    anyio.run(serve_http, rt, port, token)
