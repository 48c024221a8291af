"""``stock-manager api list|show|call``: every KIS REST API through the generic client.

``list`` and ``show`` read only the catalog (no settings, no network). ``call`` sends one
request with ``make_request``: the client validates the fields against the catalog first,
order TR_IDs (…U) are journaled, and against a KIS host an order asks for confirmation like
every other money-moving command (``--yes`` skips it, ``--dry-run`` prints the exact request
and sends nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stock_manager.adapters.broker.kis.tr_ids import list_json, spec_json

from . import _meta
from ._errors import CLIError
from ._runtime import State, emit_json, show_dry_run, state_of
from ._typer import ApiIdArg, DryRunOpt, JsonOpt, Typer, YesOpt

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis.tr_ids import ApiSpec

__all__ = ["api_list", "api_show", "app"]

app = Typer(name="api", help=_meta.COMMAND_HELP["api"])


def _tr_table(table: Any) -> str:
    if table is None:
        return "not supported (모의투자 미지원)"
    if not table:
        return "-"
    return ", ".join(
        f"{t} ({a})" if a else f"{t} (default)" if len(table) > 1 else t for a, t in table.items()
    )


def api_show(spec: ApiSpec) -> str:
    """``api show`` as text: method, path, TR_IDs, fields with required/length/allowed."""
    lines = [
        f"{spec.api_id}  {spec.name}  [{spec.category}]",
        f"  {spec.method} {spec.path}   ({spec.transport}, {spec.kind})",
        f"  TR_ID real : {_tr_table(spec.real)}",
        f"  TR_ID paper: {_tr_table(spec.paper)}",
    ]
    if spec.paging:
        keys = "/".join(spec.paging.ctx_keys) or "no keys"
        rule = "tr_cont F/M → N" if spec.paging.tr_cont else "keys only (no tr_cont)"
        lines.append(f"  paging     : {keys}; {rule}")
    if spec.tr_note:
        lines.append(f"  note       : {spec.tr_note}")
    lines.append("  request fields (* required):")
    width = max((len(f.name) for f in spec.fields), default=4)
    for f in spec.fields:
        length = "" if f.length is None else str(f.length)
        if f.sheet_length is not None:
            length += f" (sheet {f.sheet_length})"
        scope = f" [{'/'.join(f.actions)}]" if f.actions is not None else ""
        lines.append(
            f"    {'*' if f.required else ' '} {f.name.ljust(width)}  {length:<4} "
            f" {f.korean}{scope}"
        )
        if f.allowed:
            codes = ", ".join(f"{k}={v}" for k, v in f.allowed.items())
            lines.append(f"        {' ' * width}allowed: {codes}")
    blocks = [b for b in spec.response if b.fields]
    if blocks:
        lines.append("  response:")
        for b in blocks:
            name = b.name or "(top level)"
            names = ", ".join(n for n, _ in b.fields)
            lines.append(f"    {name} ({b.kind}): {names}")
    return "\n".join(lines) + "\n"


def api_list(specs: Sequence[ApiSpec]) -> str:
    """``api list`` as text: one API per line."""
    if not specs:
        return "no API matches\n"
    width = max(len(s.api_id) for s in specs)
    lines = []
    for s in specs:
        trs = ",".join(dict.fromkeys(s.real.values())) or "-"
        paper = "" if s.paper_supported else "  (real only)"
        verb = s.method if s.transport == "REST" else "WS"
        lines.append(f"{s.api_id.ljust(width)}  {verb:<4} {trs:<22} {s.name}{paper}")
    lines.append(f"{len(specs)} APIs")
    return "\n".join(lines) + "\n"


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
            show_dry_run(st, [client.describe(spec.method, spec.path, params, action=action)])
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
