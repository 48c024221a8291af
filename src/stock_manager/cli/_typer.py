"""typer as every command module of this CLI uses it: :class:`Typer` and its classes.

The differences from plain typer are small and each has one reason:

* Help is rendered by typer's rich formatter (boxes, colour on a colour terminal, the
  terminal's width; ``NO_COLOR`` or a pipe: no colour), but our help texts are **plain text**:
  they are escaped before rich reads them, so ``TOML file of [[reservation]]s`` or
  ``[default: 30]`` are shown as written instead of being taken for rich markup tags and
  eaten. No help text of this CLI uses markup on purpose.
* A command's help is reflowed to the terminal's width: the line breaks inside a paragraph of
  a docstring are the source's, not the reader's (paragraphs stay apart; a paragraph that
  starts with ``\\b`` keeps its lines, as in click).
* Shell completion options are off (``add_completion=False``), and ``-h`` is ``--help``.

It also holds the option types several commands share (``--json``, ``--yes``, ``--dry-run``,
``SEQ``, ``API_ID``), defined once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = [
    "CONTEXT",
    "ApiIdArg",
    "Command",
    "DryRunOpt",
    "Group",
    "JsonOpt",
    "SeqArg",
    "Typer",
    "YesOpt",
    "literal_help",
]

#: Context settings of every command: ``-h`` is ``--help``.
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

_F = TypeVar("_F", bound=Callable[..., Any])


def literal_help(commands: Iterable[Any]) -> None:
    """Escape the help texts of ``commands`` and their parameters for rich, once each.

    Called right before typer's rich formatter reads them (help output only: a command that
    just runs never imports rich for its help).
    """
    from rich.markup import escape

    for command in commands:
        if command is None or getattr(command, "_stock_manager_literal", False):
            continue
        for attr in ("help", "short_help", "epilog"):
            text = getattr(command, attr, None)
            if text:
                setattr(command, attr, escape(_reflowed(text)))
        for param in getattr(command, "params", ()):
            text = getattr(param, "help", None)
            if text:
                param.help = escape(text)
        command._stock_manager_literal = True


def _reflowed(text: str) -> str:
    """``text`` with the line breaks inside each paragraph made spaces (``\\b``: kept)."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n")) for p in paragraphs)


class Command(TyperCommand):
    """A typer command whose help texts are shown literally (see the module docstring)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """typer's rich help, the texts escaped first."""
        literal_help([self])
        super().format_help(ctx, formatter)


class Group(TyperGroup):
    """A typer group whose help, and its sub-commands' one-line help, are shown literally."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """typer's rich help, the texts of the group and of the listed commands escaped first."""
        literal_help([self, *(self.get_command(ctx, n) for n in self.list_commands(ctx))])
        super().format_help(ctx, formatter)


class Typer(typer.Typer):
    """``typer.Typer`` with this CLI's defaults: :class:`Group`/:class:`Command`, no completion."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("no_args_is_help", False)  # a missing sub-command: usage error, exit 2
        kwargs.setdefault("pretty_exceptions_enable", False)
        kwargs.setdefault("context_settings", CONTEXT)
        super().__init__(**kwargs)

    def command(  # the same keywords as typer.Typer.command, one default changed
        self, name: str | None = None, **kwargs: Any
    ) -> Callable[[_F], _F]:
        """``typer.Typer.command`` with ``cls=Command`` and ``-h`` by default."""
        kwargs.setdefault("cls", Command)
        kwargs.setdefault("context_settings", CONTEXT)
        decorator: Callable[[_F], _F] = super().command(name, **kwargs)
        return decorator


# --- option types shared by several commands ---------------------------------------------------
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Print the exact request (secrets masked); no order is sent. A place with an end"
        " date reads KIS's holiday calendar first, as a real place does.",
    ),
]
SeqArg = Annotated[str, typer.Argument(metavar="SEQ", help="Reservation sequence number.")]
ApiIdArg = Annotated[
    str, typer.Argument(metavar="API_ID", help="KIS API ID, e.g. v1_국내주식-018,019.")
]
