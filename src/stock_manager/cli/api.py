"""``stock-manager api list|show|call``: every KIS REST API through the generic client.

``list`` and ``show`` read only the catalog (and usually run without typer: see
:mod:`._catalog`). ``call`` sends one request with ``make_request``: the client validates the
fields against the catalog first, order TR_IDs (…U) are journaled, and against a KIS host an
order asks for confirmation like every other money-moving command (``--yes`` skips it,
``--dry-run`` prints the exact request and sends nothing).
"""

from __future__ import annotations

from typing import Annotated

import typer

from stock_manager.adapters.broker.kis.tr_ids import list_json, spec_json

from ._catalog import api_list, api_show
from ._errors import CLIError
from ._runtime import State, emit_json, state_of
from .resv import DryRunOpt, JsonOpt, YesOpt, _dry_run

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=False,  # a missing sub-command is a usage error (_errors.report)
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ApiIdArg = Annotated[
    str, typer.Argument(metavar="API_ID", help="KIS API ID, e.g. v1_국내주식-018,019.")
]


@app.command("list")
def list_(
    ctx: typer.Context,
    category: Annotated[
        str, typer.Option("--category", help="Only this category (substring).")
    ] = "",
    search: Annotated[
        str, typer.Option("--search", help="ID, name, path or TR_ID contains this.")
    ] = "",
    json_: JsonOpt = False,
) -> None:
    """List the catalogued APIs (276 REST, 60 WebSocket)."""
    from stock_manager.adapters.broker.kis.tr_ids import CATALOG

    st = state_of(ctx, json=json_)
    found = CATALOG.search(search, category=category)
    if st.json:
        emit_json(list_json(found))
    else:
        typer.echo(api_list(found), nl=False)


@app.command("show")
def show(ctx: typer.Context, api_id: ApiIdArg, json_: JsonOpt = False) -> None:
    """Method, path, TR_IDs, paging and fields (required, length, allowed codes) of an API."""
    from stock_manager.adapters.broker.kis.tr_ids import CATALOG

    st = state_of(ctx, json=json_)
    spec = CATALOG[api_id]
    if st.json:
        emit_json(spec_json(spec))
    else:
        typer.echo(api_show(spec), nl=False)


def parse_params(items: list[str]) -> dict[str, str]:
    """``["PDNO=005930", "ORD_QTY=1"]`` → ``{"PDNO": "005930", "ORD_QTY": "1"}``."""
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CLIError(f"--param {item!r}: expected KEY=VALUE")
        params[key.strip()] = value
    return params


_ACCOUNT_FIELDS = ("CANO", "ACNT_PRDT_CD")


def _fill_account(st: State, fields: set[str], params: dict[str, str]) -> str:
    """Fill CANO/ACNT_PRDT_CD of an account API from the configured account; the note saying so.

    Only when the API has both fields and the caller gave neither (half of one account and
    half of another is no account); without a configured account they stay missing and the
    local validation names them. The note shows the account masked.
    """
    if not set(_ACCOUNT_FIELDS) <= fields or any(name in params for name in _ACCOUNT_FIELDS):
        return ""
    from stock_manager.adapters.broker.kis import KISConfigError

    try:
        config = st.config()
    except KISConfigError:
        return ""  # the client below reports the settings problem
    if not config.kis_account_no:
        return ""
    params.update(CANO=config.cano, ACNT_PRDT_CD=config.acnt_prdt_cd)
    return f"note: CANO/ACNT_PRDT_CD filled from the configured account {config.masked_account}"


@app.command("call")
def call(
    ctx: typer.Context,
    api_id: ApiIdArg,
    action: Annotated[
        str | None,
        typer.Option(
            "--action", "-a", help="For multi-TR APIs (see api show).", show_default=False
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", metavar="KEY=VALUE", help="A request field (repeat)."),
    ] = None,
    dry_run: DryRunOpt = False,
    json_: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Send one request to any catalogued REST API (validated locally first)."""
    from stock_manager.adapters.broker.kis.tr_ids import CATALOG

    st = state_of(ctx, json=json_, yes=yes)
    spec = CATALOG[api_id]
    params = parse_params(param or [])
    note = _fill_account(st, {f.name for f in spec.fields}, params)
    with st.client() as client:
        prepared = client.prepare(spec.method, spec.path, params, action=action)
        if note:  # after the local validation: an invalid request gets its one error line
            st.err.print(note, soft_wrap=True, markup=False)
        if dry_run:
            _dry_run(st, [client.describe(spec.method, spec.path, params, action=action)])
            return
        if prepared.is_order:
            st.confirm(client.base_url, f"send {spec.name} ({prepared.tr_id})")
        response = client.send(prepared)
    body = response.body.to_dict() if hasattr(response.body, "to_dict") else dict(response.body)
    if st.json:
        emit_json(body)
        return
    import json

    typer.echo(f"{response.rt_cd} {response.msg_cd} {response.msg1}".strip())
    if response.journal_id is not None:
        typer.echo(f"journal entry {response.journal_id}")
    outputs = {k: v for k, v in body.items() if k.lower() not in {"rt_cd", "msg_cd", "msg1"}}
    typer.echo(json.dumps(outputs, ensure_ascii=False, indent=2))
