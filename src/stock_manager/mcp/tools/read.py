"""Read tools: the API catalog, generic inquiries, reservations, report, calendar, journal,
and ``reconcile`` (reads the book, settles journal entries; never sends an order).

Every one is ``readOnlyHint``; ``call_api`` refuses order APIs and, in paper mode, real-only
APIs locally (zero requests), and reads every page through ``iter_pages`` up to a row cap.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from mcp.types import CallToolResult

from ..registry import Registry, ToolRefusal
from ..runtime import Runtime, jsonable, ok

__all__ = ["register"]

_REPLY_KEYS = {"rt_cd", "msg_cd", "msg1"}


def _date(value: str | None, what: str) -> date | None:
    """The library's date rule (YYYY-MM-DD / YYYYMMDD), as a not-sent validation error."""
    from stock_manager.adapters.broker.kis.errors import KISValidationError
    from stock_manager.adapters.broker.kis.reservations.models import strict_date

    if value is None or not str(value).strip():
        return None
    try:
        out = strict_date(value)
    except ValueError as exc:
        raise KISValidationError(f"{what}: {exc}") from None
    assert out is None or isinstance(out, date)
    return out


def _cap(value: int, upper: int, what: str) -> int:
    if value < 1:
        raise ToolRefusal("bad_argument", f"{what} must be at least 1")
    return min(value, upper)


def inquiry_spec(rt: Runtime, api_id: str) -> Any:
    """The catalog entry of an inquiry ``call_api`` may call, else a refusal (nothing sent)."""
    from stock_manager.adapters.broker.kis.tr_ids import CATALOG

    spec = CATALOG.by_tr_id(api_id) or CATALOG[api_id]
    if spec.kind == "order" or spec.method != "GET":
        raise ToolRefusal(
            "order_api",
            f"{spec.name} ({spec.api_id}) changes orders or accounts: call_api sends inquiries"
            " only (reservations go through preview_reservation/execute_reservation)",
        )
    if spec.kind != "inquiry" or spec.transport != "REST":
        raise ToolRefusal("not_callable", f"{spec.name} ({spec.api_id}) is not a REST inquiry")
    if rt.config.is_paper and not spec.paper_supported:
        raise ToolRefusal(
            "real_only_api",
            f"{spec.name} ({spec.api_id}) exists only on the real server; this server runs in"
            " paper mode",
        )
    return spec


def register(reg: Registry) -> None:
    """Register the read tools on ``reg``."""
    rt = reg.rt

    async def search_apis(query: str = "", category: str = "", limit: int = 20) -> CallToolResult:
        """Search the catalog of KIS REST APIs by ID, name, path or TR_ID (and category).

        Returns api_id, name, method, kind (inquiry/order/...), TR_IDs and paper support.
        """
        from stock_manager.adapters.broker.kis.tr_ids import CATALOG, list_json

        found = [s for s in CATALOG.search(query, category=category) if s.transport == "REST"]
        n = _cap(limit, 100, "limit")
        rows = [
            {**row, "kind": s.kind} for row, s in zip(list_json(found[:n]), found, strict=False)
        ]
        for row in rows:
            row.pop("transport", None)
        return ok(rt, {"total": len(found), "shown": len(rows), "apis": rows})

    async def describe_api(api_id: str) -> CallToolResult:
        """Method, path, TR_IDs, paging, request fields (required, length, allowed codes) and
        response blocks of one catalogued API (api_id like 'v1_국내주식-020' or a TR_ID)."""
        from stock_manager.adapters.broker.kis.tr_ids import CATALOG, spec_json

        spec = CATALOG.by_tr_id(api_id) or CATALOG[api_id]
        return ok(rt, spec_json(spec))

    async def call_api(
        api_id: str,
        params: dict[str, str] | None = None,
        action: str | None = None,
        max_rows: int = 100,
    ) -> CallToolResult:
        """Call one KIS inquiry API (GET) with its request fields; every page is read up to
        max_rows rows per output block. Order APIs are refused. Fields are validated against
        the catalog before anything is sent; the account fields (CANO, ACNT_PRDT_CD) are
        filled in by the server when the API has them and you leave them out."""
        spec = inquiry_spec(rt, api_id)
        cap = _cap(max_rows, rt.options.max_rows, "max_rows")
        fields = {f.name.upper() for f in spec.fields}
        values: dict[str, str] = {str(k).upper(): str(v) for k, v in (params or {}).items()}
        for key in ("CANO", "ACNT_PRDT_CD"):
            if key in values:
                raise ToolRefusal(
                    "account_argument",
                    f"{key} is set by the server (the account is fixed when it starts)",
                )
        if "CANO" in fields:
            values["CANO"] = rt.config.cano
        if "ACNT_PRDT_CD" in fields:
            values["ACNT_PRDT_CD"] = rt.config.acnt_prdt_cd

        def fetch() -> dict[str, Any]:
            # make_request validates every page locally (unknown/missing/too long fields)
            # before it sends anything; the pager fills the continuation keys.
            blocks: dict[str, Any] = {}
            pages, truncated, head = 0, False, {}
            for page in rt.client.iter_pages(
                spec.method, spec.path, values, action=action, max_pages=rt.options.max_pages
            ):
                pages += 1
                body = page.body.to_dict() if hasattr(page.body, "to_dict") else dict(page.body)
                head = {k: body.get(k, "") for k in ("rt_cd", "msg_cd", "msg1")}
                lists = 0
                for key, value in body.items():
                    if key.lower() in _REPLY_KEYS or key.lower().startswith("ctx_area"):
                        continue
                    if isinstance(value, list):
                        lists += 1
                        have = blocks.setdefault(key, [])
                        room = max(cap - len(have), 0)
                        have.extend(value[:room])
                        truncated = truncated or len(value) > room
                    else:
                        blocks.setdefault(key, value)
                # Every row block full: stop paging (the rest would be cut anyway).
                if lists and all(len(v) >= cap for v in blocks.values() if isinstance(v, list)):
                    truncated = True
                    break
            return {
                "api_id": spec.api_id,
                "name": spec.name,
                **head,
                "pages": pages,
                "truncated": truncated,
                "max_rows": cap,
                "output": blocks,
            }

        return ok(rt, await rt.run(fetch))

    async def list_reservations(
        start: str | None = None,
        end: str | None = None,
        symbol: str | None = None,
        side: Literal["buy", "sell"] | None = None,
        status: Literal["all", "processed", "pending"] = "all",
        include_cancelled: bool = False,
        max_rows: int = 100,
    ) -> CallToolResult:
        """List reservation orders (every page, up to max_rows). Dates are YYYY-MM-DD."""
        cap = _cap(max_rows, rt.options.max_rows, "max_rows")
        first, last = _date(start, "start"), _date(end, "end")

        def fetch() -> dict[str, Any]:
            rows: list[dict[str, Any]] = []
            more = False
            it = rt.reservations().list_reservations(
                first,
                last,
                symbol=symbol,
                side=side,
                status=status,
                include_cancelled=include_cancelled,
                max_pages=rt.options.max_pages,
            )
            for row in it:
                if len(rows) >= cap:
                    more = True
                    break
                rows.append(_row(row))
            return {"count": len(rows), "truncated": more, "reservations": rows}

        return ok(rt, await rt.run(fetch))

    async def reservation_report(day: str | None = None) -> CallToolResult:
        """The morning report of one session (default: the latest): what KIS did with each
        reservation, fills, what is waiting and what ends soon."""
        when = _date(day, "day")

        def build() -> Any:
            from stock_manager.manager import ReservationManager

            manager = ReservationManager(rt.client, clock=rt.options.manager_clock)
            try:
                return manager.report(when)
            finally:
                manager.close()

        report = await rt.run(build)
        data = jsonable(report)
        data["summary"] = report.summary
        return ok(rt, data)

    async def market_calendar(start: str | None = None, days: int = 14) -> CallToolResult:
        """KRX open/closed days from start (default today, KST) and where each answer came
        from (KIS, cache or the bundled table; 'unknown' is not 'closed')."""
        n = _cap(days, 60, "days")
        first = _date(start, "start")

        def build() -> dict[str, Any]:
            from stock_manager.calendar import bundled_calendar, calendar_for, today_kst

            cal = (
                bundled_calendar()
                if rt.config.is_paper
                else calendar_for(rt.client, clock=rt.options.clock)
            )
            begin = first or today_kst()
            out = []
            for info in cal.days(begin, n):
                out.append(
                    {
                        "date": info.day.isoformat(),
                        "status": info.status,
                        "note": info.note,
                        "session": (
                            f"{info.open:%H:%M}-{info.close:%H:%M}"
                            if info.open and info.close
                            else ""
                        ),
                        "source": info.source,
                    }
                )
            return {"from": begin.isoformat(), "days": out}

        return ok(rt, await rt.run(build))

    async def journal(
        limit: int = 20,
        outcome: Literal[
            "pending",
            "ok",
            "rejected",
            "not_sent",
            "unknown",
            "reconciled_applied",
            "reconciled_not_applied",
        ]
        | None = None,
    ) -> CallToolResult:
        """The order journal, newest first: every order request, its outcome and msg (account
        masked). Entries with outcome 'unknown' or 'pending' need reconcile."""
        n = _cap(limit, 200, "limit")

        def read() -> dict[str, Any]:
            from stock_manager.journal import Outcome

            j = rt.client.journal
            if j is None:
                return {"journal": "off", "entries": []}
            entries = j.entries(limit=n, outcome=Outcome(outcome) if outcome else None)
            return {
                "entries": [_entry(e) for e in entries],
                "needs_reconcile": len(j.needs_reconcile()),
            }

        return ok(rt, await rt.run(read))

    async def reconcile(journal_id: int | None = None) -> CallToolResult:
        """Settle an order request whose outcome is unknown, from the reservation list:
        'applied', 'not_applied' or 'unknown' (then retry_at says when to ask again). Without
        journal_id every pending/unknown entry is reconciled. Never sends an order."""

        def settle() -> dict[str, Any]:
            r = rt.reservations()
            results = [r.reconcile(journal_id)] if journal_id is not None else r.reconcile_pending()
            return {"results": [{**jsonable(x), "verdict": x.verdict} for x in results]}

        return ok(rt, await rt.run(settle))

    for fn in (
        search_apis,
        describe_api,
        call_api,
        list_reservations,
        reservation_report,
        market_calendar,
        journal,
        reconcile,
    ):
        reg.add(fn, read_only=True)


def _row(r: Any) -> dict[str, Any]:
    """A reservation, compact: only what an agent needs, no empty fields."""
    data = {
        "seq": r.seq,
        "symbol": r.symbol,
        "name": r.name,
        "side": r.side.label if r.side else "",
        "qty": r.qty,
        "price": str(r.price),
        "order_type": _type_label(r.order_type),
        "order_date": r.order_date,
        "end_date": r.end_date,
        "status": r.status,
        "filled_qty": r.filled_qty,
        "result": r.result,
        "reject_reason": r.reject_reason,
        "order_no": r.order_no,
    }
    return {k: jsonable(v) for k, v in data.items() if v not in ("", None)}


def _type_label(code: str) -> str:
    from stock_manager.adapters.broker.kis.errors import KISValidationError
    from stock_manager.adapters.broker.kis.reservations.models import parse_order_type

    try:
        return parse_order_type(code).label
    except KISValidationError:
        return code


def _entry(e: Any) -> dict[str, Any]:
    data = {
        "id": e.id,
        "intent": e.intent,
        "tr_id": e.tr_id,
        "outcome": str(e.outcome),
        "msg_cd": e.msg_cd,
        "msg1": e.msg1,
        "created_at": e.created_at,
        "sent_at": e.sent_at,
        "account": e.account,
        "request": e.request,
        "reference": e.reference,
        "note": e.note,
        "error": e.error,
    }
    return {k: jsonable(v) for k, v in data.items() if v not in ("", None, {})}
