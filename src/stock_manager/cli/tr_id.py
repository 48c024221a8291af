"""``stock-manager tr-id API_ID``: the TR_ID of an API from the static catalog.

It needs no settings and sends nothing: only the catalog is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from . import _meta
from ._runtime import emit_json, state_of
from ._typer import ApiIdArg, JsonOpt, Typer

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis.tr_ids import ApiSpec

__all__ = ["app", "tr_id", "tr_id_of"]

app = Typer()


def tr_id_of(api_id: str, *, paper: bool, action: str | None) -> tuple[ApiSpec, str]:
    """The spec and TR_ID for ``tr-id``; a CLIError names the ``--action`` choices."""
    from stock_manager.adapters.broker.kis.tr_ids import CATALOG

    spec = CATALOG[api_id]
    if spec.actions and not spec.default_action and action is None:
        from ._errors import CLIError

        raise CLIError(
            f"{spec.name} ({spec.api_id}) has one TR_ID per action",
            hint="choose --action " + " or --action ".join(spec.actions),
        )
    return spec, spec.tr_id(paper=paper, action=action)


@app.command("tr-id", help=_meta.COMMAND_HELP["tr-id"])
def tr_id(
    ctx: typer.Context,
    api_id: ApiIdArg,
    paper: Annotated[bool, typer.Option("--paper", help="Paper (모의투자) TR_ID.")] = False,
    action: Annotated[
        str | None,
        typer.Option("--action", help="For multi-TR APIs: cancel or modify.", show_default=False),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Print the TR_ID of an API from the static catalog (no settings, no network)."""
    st = state_of(ctx, json=json_)
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
