"""The typer application: global options, and the command table loaded lazily.

::

    stock-manager [--emulator URL] [--profile NAME] [--json] [--debug] [--yes] COMMAND
      demo                                                                (cli/demo.py)
      resv place|list|show|modify|cancel|cancel-all|reconcile              (cli/resv.py)
      resv report|cancel-order|modify-order|reconcile-orders|plan|apply   (cli/resv_manager.py)
      watch [--symbol CODE] [--json] [--notify URL]                       (cli/watch.py)
      calendar [--from DATE] [--days N]                                   (cli/calendar.py)
      journal                                                             (cli/journal.py)
      token status|revoke                                                 (cli/token.py)
      tr-id API_ID                                                        (cli/tr_id.py)
      api list|show|call                                                  (cli/api.py)
      config check                                                        (cli/config.py)
      emulator serve                                                      (cli/emulator.py)
      mcp [--allow-orders] [--allow-live] [--confirm elicit|token]        (cli/mcp_server.py)

Start-up stays cheap the way pip's does: the top level knows its commands from the table in
:mod:`._meta` (name → module, one-line help) and imports only the module of the command that
runs (click's "lazy loading subcommands" pattern: :class:`LazyGroup` overrides
``list_commands``/``get_command``). The top-level ``--help`` lists every command from the table
without importing any of them. Each module imports what it needs inside its command bodies.
"""

from __future__ import annotations

import importlib
from difflib import get_close_matches
from typing import Annotated, Any

import typer

from . import _meta
from ._errors import ReaderLeft
from ._runtime import State, configure_logging
from ._typer import Command, Group, Typer

__all__ = ["LazyGroup", "app"]


class LazyGroup(Group):
    """The top level: each command's module is imported when that command runs."""

    _listing = False
    _loaded: dict[str, Any]

    def list_commands(self, ctx: Any) -> list[str]:
        """The commands of the table, in display order."""
        return [name for name, _ in _meta.COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command ``cmd_name``, its module imported now (``None``: no such command).

        While the top-level help is being drawn, a stand-in carrying the table's one-line help
        is returned instead: listing the commands imports none of them.
        """
        module = _meta.MODULES.get(cmd_name)
        if module is None:
            return None
        if self._listing:
            return Command(cmd_name, help=_meta.COMMAND_HELP[cmd_name])
        loaded = self.__dict__.setdefault("_loaded", {})
        if cmd_name not in loaded:
            from typer.main import get_command, get_group

            typer_app = importlib.import_module(f"{__package__}.{module}").app
            # A named typer app is a command group (resv, token, config, ...), even with one
            # sub-command (config check); an unnamed one holds the one command (journal, ...).
            command = get_group(typer_app) if typer_app.info.name else get_command(typer_app)
            command.name = cmd_name
            loaded[cmd_name] = command
        return loaded[cmd_name]

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """typer's, with "Did you mean ...?" drawn from the table (typer reads ``commands``)."""
        from typer._click.exceptions import UsageError  # typer vendors click as typer._click

        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches and "Did you mean" not in exc.message:
                suggestions = ", ".join(repr(m) for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The top-level help, its command list from the table (see :meth:`get_command`)."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:
        """Run the command; a reader that went away (``... | head``) ends it quietly."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # typer would turn it into exit 1; the reader simply has what it wanted.
            raise ReaderLeft() from None


app = Typer(
    name=_meta.PROG,
    help=_meta.APP_HELP,
    epilog=_meta.EXIT_CODES_HELP,
    cls=LazyGroup,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(_meta.version_line())
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
    configure_logging(debug)
