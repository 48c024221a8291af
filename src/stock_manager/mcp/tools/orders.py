"""Order tools (only with ``--allow-orders``): ``preview_reservation`` → ``execute_reservation``.

``preview_reservation`` validates with the library (the same checks as the CLI and the Python
API), runs the pre-flight (tick, price band, sellable quantity, buying power: GETs only), checks
the ``[mcp]`` limits and returns the normalized request, the findings and a single-use
``confirmation_token`` (see :mod:`..confirmations`). Nothing is sent.

``execute_reservation`` redeems the token, checks the kill switch and the limits again (the
day's counts come from the journal), asks the *person* through MCP elicitation when the client
can (a one-line summary; only "accept" with ``confirm: true`` sends), and sends exactly the
previewed request through the library, which journals it before it leaves. It never retries:
an unknown outcome is returned as ``"unknown"`` with the journal id, for ``reconcile``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from ..limits import OrderValue, check_order, day_start, usage_today
from ..registry import Registry, ToolRefusal
from ..runtime import Runtime, ok
from .read import _date

__all__ = ["Confirm", "ask_person", "register", "usage"]

KIND = "reservation"


class Confirm(BaseModel):
    """What the person is asked: one checkbox."""

    confirm: bool = Field(description="Tick to send this order now")


@dataclass
class Preview:
    """What a preview decided: the request shown, what execute needs, the findings."""

    request: dict[str, Any]
    private: dict[str, Any]
    order: OrderValue | None
    findings: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _money(price: Decimal | str | int) -> str:
    p = Decimal(str(price))
    return "market price" if not p else f"{p:,.0f} won"


def _finding(f: Any) -> dict[str, Any]:
    return {"check": f.check, "ok": f.ok, "severity": f.severity, "message": f.message}


def _snapshot(r: Any) -> dict[str, Any]:
    """The terms of a current reservation that a modify/cancel preview is bound to."""
    return {
        "seq": r.seq,
        "symbol": r.symbol,
        "side": r.side.label if r.side else "",
        "qty": r.qty,
        "price": str(r.price),
        "order_type": r.order_type,
        "order_date": r.order_date.isoformat() if r.order_date else None,
        "end_date": r.end_date.isoformat() if r.end_date else None,
        "status": r.status,
    }


def usage(rt: Runtime) -> Any:
    """Today's (KST) order count and value of this account, from the journal."""
    journal = rt.client.journal
    now = rt.options.clock()
    entries = journal.entries(since=day_start(now)) if journal is not None else []
    return usage_today(entries, now, rt.env.account)


def _check_limits(rt: Runtime, order: OrderValue | None) -> Any:
    if (
        rt.client.journal is None
        and order is not None
        and (
            rt.options.limits.orders_per_day is not None
            or rt.options.limits.value_per_day is not None
        )
    ):
        raise ToolRefusal(
            "journal_off", "the journal is off, so the daily limits cannot be counted; refusing"
        )
    used = usage(rt)
    check_order(rt.options.limits, order, used)
    return used


def _preview(
    rt: Runtime,
    action: str,
    *,
    symbol: str | None,
    qty: int | str | None,
    price: int | str | None,
    side: str | None,
    order_type: str | None,
    end_date: str | None,
    seq: str | None,
) -> Preview:
    """Validate and pre-flight one reservation change (blocking; GETs only)."""
    from stock_manager.adapters.broker.kis.errors import KISValidationError
    from stock_manager.adapters.broker.kis.reservations.models import parse_side, today_kst

    r = rt.reservations()
    if action == "place":
        if seq is not None:
            raise KISValidationError("seq is for modify and cancel, not place")
        if symbol is None or qty is None or side is None:
            raise KISValidationError("place needs symbol, qty and side (and price for a limit)")
        args: dict[str, Any] = {
            "symbol": symbol,
            "qty": qty,
            "price": price,
            "side": side,
            "order_type": order_type or "limit",
            "end_date": _date(end_date, "end_date"),
        }
        plan = r.plan_place(**args)  # every local rule, then the calendar (may GET once a day)
        report = r.preflight(plan.terms)
        t, s = plan.terms, plan.schedule
        send = {
            "symbol": t.symbol,
            "qty": t.qty,
            "price": str(t.price),
            "side": t.side.label,
            "order_type": t.order_type.label,
            "end_date": s.end_date.isoformat() if s.end_date else None,
        }
        request = {"action": "place", **send, "order_date": s.order_date.isoformat()}
        return Preview(
            request,
            {"send": send, "body": _digest(plan.body)},
            OrderValue(t.symbol, t.qty, t.price),
            [_finding(f) for f in report.findings],
            list(plan.warnings),
        )
    if seq is None or not str(seq).strip():
        raise KISValidationError(f"{action} needs seq (the reservation's sequence number)")
    current = r.get_reservation(seq)
    if not current.is_pending:  # waiting, or a period reservation still active
        raise KISValidationError(
            f"reservation {current.seq} is {current.status}; it can no longer be changed"
        )
    if symbol is not None and symbol.strip().upper().removeprefix("A") != current.symbol:
        raise KISValidationError(f"reservation {current.seq} is for {current.symbol}, not {symbol}")
    if side is not None and current.side is not None and parse_side(side) != current.side:
        raise KISValidationError(f"reservation {current.seq} is a {current.side.label} order")
    snap = _snapshot(current)
    if action == "cancel":
        if any(v is not None for v in (qty, price, order_type, end_date)):
            raise KISValidationError("cancel takes only seq")
        r.describe_cancel(current.seq)  # the library's checks for a cancel (sends nothing)
        request = {"action": "cancel", "seq": current.seq, "current": snap}
        return Preview(request, {"current": snap}, None)
    new_end = _date(end_date, "end_date")
    changes = {"qty": qty, "price": price, "order_type": order_type, "end_date": new_end}
    given: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
    if not given:
        raise KISValidationError("modify needs at least one of qty, price, order_type, end_date")
    r.describe_modify(current.seq, **given)  # the library's checks of the changes; no send
    # The merged terms, validated like a new order, and their pre-flight (GETs only).
    terms = current.terms(today=today_kst(rt.options.clock()), **given)
    report = r.preflight(terms, exclude_seq=current.seq)
    new_qty, new_price = terms.qty, terms.price
    warnings: list[str] = []
    if new_end is not None:
        warnings += list(r.schedule(new_end).warnings)
    norm = {k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in given.items()}
    request = {
        "action": "modify",
        "seq": current.seq,
        "changes": norm,
        "current": snap,
        "after": {"qty": new_qty, "price": str(new_price)},
    }
    return Preview(
        request,
        {"current": snap, "changes": norm},
        OrderValue(current.symbol, new_qty, new_price),
        [_finding(f) for f in report.findings],
        warnings,
    )


def _send(rt: Runtime, request: dict[str, Any], private: dict[str, Any]) -> dict[str, Any]:
    """Send exactly the previewed change (blocking). Refuses if the world moved since."""
    r = rt.reservations()
    action = request["action"]
    if action == "place":
        send = dict(private["send"])
        plan = r.plan_place(**send, end_date_policy="refuse")
        if _digest(plan.body) != private["body"]:
            raise ToolRefusal(
                "changed",
                "the request would now differ from the preview (the date moved?); preview again",
            )
        receipt = r.place_reservation(**send, end_date_policy="refuse")
        return {
            "result": "sent",
            "action": "place",
            "seq": receipt.seq,
            "msg_cd": receipt.msg_cd,
            "msg1": receipt.msg1,
            "journal_id": receipt.journal_id,
            "warnings": list(receipt.warnings),
        }
    current = r.get_reservation(request["seq"])
    if _snapshot(current) != private["current"]:
        raise ToolRefusal(
            "changed",
            f"reservation {current.seq} changed since the preview; preview again",
            now=_snapshot(current),
        )
    if action == "cancel":
        result = r.cancel_reservation(current.seq, current=current)
    else:
        changes: dict[str, Any] = dict(private["changes"])
        if "end_date" in changes:
            changes["end_date"] = _date(changes["end_date"], "end_date")
        result = r.modify_reservation(current.seq, **changes)
    return {
        "result": "sent",
        "action": action,
        "seq": result.seq,
        "ok": result.ok,
        "msg_cd": result.msg_cd,
        "msg1": result.msg1,
        "journal_id": result.journal_id,
        "warnings": list(result.warnings),
    }


def _supports_elicitation(ctx: Context[Any, Any]) -> bool:
    caps = ctx.client_capabilities
    return caps is not None and caps.elicitation is not None


async def ask_person(rt: Runtime, ctx: Context[Any, Any], summary: str) -> None:
    """Ask the person (elicitation) or accept the token alone (``--confirm token``);
    raise :class:`ToolRefusal` unless the order may be sent."""
    if _supports_elicitation(ctx):
        answer = await ctx.elicit(f"{summary}. Send this order?", Confirm)
        if answer.action != "accept" or not answer.data.confirm:
            raise ToolRefusal(
                "declined", f"the person did not confirm ({answer.action}); nothing was sent"
            )
        return
    if rt.options.confirm == "token":
        return
    raise ToolRefusal(
        "no_elicitation",
        "this MCP client cannot ask the person (no elicitation support), and the server was"
        " not started with --confirm token; nothing was sent",
    )


def register(reg: Registry) -> None:
    """Register ``preview_reservation`` and ``execute_reservation``."""
    rt = reg.rt

    async def preview_reservation(
        action: Literal["place", "modify", "cancel"],
        symbol: str | None = None,
        qty: int | str | None = None,
        price: int | str | None = None,
        side: Literal["buy", "sell"] | None = None,
        order_type: Literal["limit", "market", "conditional", "pre-market"] | None = None,
        end_date: str | None = None,
        seq: str | None = None,
    ) -> CallToolResult:
        """Check a reservation order (place: symbol, qty, side, price, order_type, end_date;
        modify: seq + what changes; cancel: seq) and return what would be sent, the
        pre-flight findings and a single-use confirmation_token for execute_reservation.
        Nothing is sent. The token expires (see expires_at)."""
        p = await rt.run(
            _preview,
            rt,
            action,
            symbol=symbol,
            qty=qty,
            price=price,
            side=side,
            order_type=order_type,
            end_date=end_date,
            seq=seq,
        )
        used = await rt.run(_check_limits, rt, p.order)
        issued = rt.confirmations.issue(
            KIND, p.request, env=rt.env.key, account=rt.env.account, private=p.private
        )
        return ok(
            rt,
            {
                "confirmation_token": issued.token,
                "expires_at": issued.expires_at.isoformat(),
                "request": p.request,
                "findings": p.findings,
                "warnings": p.warnings,
                "summary": _summary_of(rt, p.request),
                "environment": rt.env.describe(),
                "today": {"orders": used.orders, "value": str(used.value)},
            },
        )

    async def execute_reservation(
        confirmation_token: str, ctx: Context[Any, Any]
    ) -> CallToolResult:
        """Send exactly the reservation change previewed under confirmation_token (single
        use). The person is asked to confirm first when the client supports it. Returns
        result 'sent', a rejection, or 'unknown' (then call reconcile with the journal_id)."""
        from stock_manager.adapters.broker.kis.errors import OrderOutcomeUnknownError

        redeemed = rt.confirmations.redeem(
            confirmation_token, KIND, env=rt.env.key, account=rt.env.account
        )
        request, private = redeemed.request, redeemed.private
        order = None
        if request["action"] == "place":
            s = private["send"]
            order = OrderValue(s["symbol"], int(s["qty"]), Decimal(s["price"]))
        elif request["action"] == "modify":
            after = request["after"]
            order = OrderValue(
                request["current"]["symbol"], int(after["qty"]), Decimal(after["price"])
            )
        async with rt.order_lock:  # limits counted and order sent one at a time
            await rt.run(_check_limits, rt, order)
            summary = _summary_of(rt, request)
            await ask_person(rt, ctx, summary)
            await rt.run(_check_limits, rt, order)  # the person may have taken a while
            try:
                sent = await rt.run(_send, rt, request, private)
            except OrderOutcomeUnknownError as exc:
                return ok(
                    rt,
                    {
                        "result": "unknown",
                        "journal_id": exc.journal_id,
                        "message": str(exc),
                        "hint": f"do not place it again; call reconcile with journal_id"
                        f" {exc.journal_id} to learn whether it took effect",
                        "request": request,
                    },
                )
        return ok(rt, {**sent, "request": request})

    reg.add(preview_reservation, read_only=True)
    reg.add(execute_reservation, read_only=False)


def _summary_of(rt: Runtime, request: dict[str, Any]) -> str:
    """The one line the person sees, rebuilt from the stored request (not the model's)."""
    account, where = rt.env.account, f"{rt.env.kind} {rt.env.base_url}"
    if request["action"] == "place":
        until = f" until {request['end_date']}" if request.get("end_date") else " (one day)"
        return (
            f"PLACE reservation: {request['side'].upper()} {request['qty']} x"
            f" {request['symbol']} at {_money(request['price'])} ({request['order_type']}),"
            f" order date {request['order_date']}{until}, account {account}, {where}"
        )
    cur = request["current"]
    if request["action"] == "cancel":
        return (
            f"CANCEL reservation {request['seq']}: {cur['side'].upper()} {cur['qty']} x"
            f" {cur['symbol']} at {_money(cur['price'])}, order date {cur['order_date']},"
            f" account {account}, {where}"
        )
    after = request["after"]
    return (
        f"MODIFY reservation {request['seq']}: {cur['side'].upper()} {cur['symbol']}"
        f" {cur['qty']} x {_money(cur['price'])} -> {after['qty']} x {_money(after['price'])},"
        f" order date {cur['order_date']}, account {account}, {where}"
    )
