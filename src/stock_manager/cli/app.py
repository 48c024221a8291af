"""The typer application: global options and the command tree.

::

    stock-manager [--emulator URL] [--profile NAME] [--json] [--debug] [--yes] COMMAND
      demo
      resv place|list|show|modify|cancel|cancel-all|reconcile
      resv report|cancel-order|modify-order|reconcile-orders|plan|apply   (cli/resv_manager.py)
      watch [--symbol CODE] [--json] [--notify URL]
      calendar [--from DATE] [--days N]
      journal
      token status|revoke
      tr-id API_ID
      api list|show|call
      config check
      emulator serve
      mcp [--allow-orders] [--allow-live] [--confirm elicit|token]       (cli/mcp_server.py)

Only typer and this package's light modules are imported here; each command imports what it
needs when it runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import _meta, admin, api, demo, mcp_server, resv, watch
from ._runtime import State
from .calendar import calendar

__all__ = ["app"]

CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name=_meta.PROG,
    help=_meta.APP_HELP,
    epilog=_meta.EXIT_CODES_HELP,
    no_args_is_help=False,  # a missing sub-command is a usage error (_errors.report)
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
)


def _show_version(value: bool) -> None:
    # `stock-manager --json --version` and the like (a bare `--version` never reaches typer).
    if value:
        from ._meta import version_line

        typer.echo(version_line())
        raise typer.Exit(0)


@app.callback()
def _global(
    ctx: typer.Context,
    emulator: Annotated[
        str | None,
        typer.Option("--emulator", metavar="URL", help=_meta.HELP_EMULATOR, show_default=False),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            metavar="NAME",
            envvar="STOCK_MANAGER_PROFILE",
            help=_meta.HELP_PROFILE,
            show_default=False,
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help=_meta.HELP_JSON)] = False,
    debug: Annotated[bool, typer.Option("--debug", help=_meta.HELP_DEBUG)] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=_meta.HELP_YES)] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help=_meta.HELP_VERSION,
            is_eager=True,
            callback=_show_version,
        ),
    ] = False,
) -> None:
    """Reservation orders (주식예약주문) on the Korea Investment & Securities OpenAPI."""
    ctx.obj = State(emulator=emulator, profile=profile, json=json_, debug=debug, yes=yes)
    import logging

    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    else:
        # The library logs warnings (e.g. "outside the reservation window") that the commands
        # already show in their own words; keep them off stderr unless --debug.
        logging.getLogger("stock_manager").addHandler(logging.NullHandler())
        logging.getLogger("stock_manager").propagate = False
        admin.show_sharing_warnings()  # ...except those no command shows (token wait, Redis)


app.command("demo", help=_meta.COMMAND_HELP["demo"], context_settings=CONTEXT)(demo.demo)
app.add_typer(resv.app, name="resv", help=_meta.COMMAND_HELP["resv"])
app.command("watch", help=_meta.COMMAND_HELP["watch"], context_settings=CONTEXT)(watch.watch)
app.command("calendar", help=_meta.COMMAND_HELP["calendar"], context_settings=CONTEXT)(calendar)
app.command("journal", help=_meta.COMMAND_HELP["journal"], context_settings=CONTEXT)(admin.journal)
app.add_typer(admin.token_app, name="token", help=_meta.COMMAND_HELP["token"])
app.command("tr-id", help=_meta.COMMAND_HELP["tr-id"], context_settings=CONTEXT)(admin.tr_id)
app.add_typer(api.app, name="api", help=_meta.COMMAND_HELP["api"])
app.add_typer(admin.config_app, name="config", help=_meta.COMMAND_HELP["config"])
app.add_typer(admin.emulator_app, name="emulator", help=_meta.COMMAND_HELP["emulator"])
app.command("mcp", help=_meta.COMMAND_HELP["mcp"], context_settings=CONTEXT)(mcp_server.mcp)
