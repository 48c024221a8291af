"""``preview_apply`` → ``execute_apply``: standing reservations (a TOML file or inline text).

The file format, plan and apply are the manager's (:mod:`stock_manager.manager`): the whole
text is validated by :func:`~stock_manager.manager.parse_spec`, the plan is
:meth:`~stock_manager.manager.ReservationManager.plan` (reads only), apply goes through the
journal. This module adds the guard rails: a file is read only from a ``--spec-dir`` given
when the server started (the model cannot make the server read any other file), the token
binds the exact text and the planned changes, each change is checked against the limits, the
person confirms, and execute refuses if the plan is no longer the previewed one.

Known limit: :meth:`ReservationManager.apply` plans once more inside its own lock; the
previewed plan is compared just before, under this server's order lock, so only another
process changing the book in between could make apply do something else (it then does what
the file declares, through the journal, like ``resv apply``).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from ..limits import OrderValue, Usage, check_order
from ..registry import Registry, ToolRefusal
from ..runtime import Runtime, ok
from .orders import ask_person, usage

__all__ = ["register"]

KIND = "apply"
_COUNTED = ("place", "renew", "modify")


def _spec_text(rt: Runtime, declarations: str | None, file: str | None) -> tuple[str, str, str]:
    """``(text, namespace default, where)`` of the standing reservations to plan."""
    if (declarations is None) == (file is None):
        raise ToolRefusal("bad_argument", "give either declarations (TOML text) or file")
    if declarations is not None:
        return declarations, "mcp", "<declarations>"
    assert file is not None
    allowed = [Path(d) for d in rt.options.spec_dirs]
    path = Path(file).expanduser()
    if not path.is_absolute() and len(allowed) == 1:
        path = allowed[0] / path
    real = path.resolve()
    if real.suffix != ".toml" or not any(real.is_relative_to(d) for d in allowed):
        raise ToolRefusal(
            "file_not_allowed",
            "this server reads standing-reservation files (*.toml) only from the --spec-dir"
            " directories it was started with"
            + (f" ({', '.join(map(str, allowed))})" if allowed else " (none were given)"),
        )
    try:
        return real.read_text(encoding="utf-8"), real.stem, str(real.name)
    except OSError as exc:
        raise ToolRefusal("file_not_readable", f"cannot read {real.name}: {exc.strerror}") from None


def _item(i: Any) -> dict[str, Any]:
    data = {
        "action": i.action,
        "id": i.id,
        "seq": i.seq,
        "symbol": i.symbol,
        "side": i.side,
        "qty": i.qty,
        "price": str(i.price),
        "order_type": i.order_type,
        "end_date": i.end_date.isoformat() if i.end_date else None,
        "reason": i.reason,
    }
    return {k: v for k, v in data.items() if v not in ("", None)}


def _key(i: dict[str, Any]) -> dict[str, Any]:
    """What must not change between preview and execute (the reason text may)."""
    return {k: v for k, v in i.items() if k != "reason"}


def _plan(rt: Runtime, text: str, name: str, where: str, prune: list[str]) -> dict[str, Any]:
    from stock_manager.manager import ReservationManager, parse_spec

    spec = parse_spec(text, name=name, path=where)  # every problem, with line numbers
    m = ReservationManager(rt.client, clock=rt.options.manager_clock)
    try:
        plan = m.plan(spec, prune=prune)
    finally:
        m.close()
    return {
        "namespace": plan.namespace,
        "order_day": plan.order_day.isoformat(),
        "counts": plan.counts(),
        "changes": [_item(i) for i in plan.changes],
        "kept": [_item(i) for i in plan.items if not i.sends],
    }


def _check_all(rt: Runtime, changes: list[dict[str, Any]]) -> Usage:
    """Every sending change against the limits, counted one after the other."""
    used: Usage = usage(rt)
    check_order(rt.options.limits, None, used)  # the kill switch, even for cancels only
    running = used
    for c in changes:
        if c["action"] not in _COUNTED:
            continue
        price = Decimal(c.get("price", "0"))
        order = OrderValue(c["symbol"], int(c["qty"]), price)
        check_order(rt.options.limits, order, running)
        running = Usage(running.day, running.orders + 1, running.value + (order.value or 0))
    return used


def _summary(rt: Runtime, request: dict[str, Any]) -> str:
    parts = [
        f"{c['action'].upper()} {c.get('side', '').upper()} {c.get('qty', '')} x"
        f" {c.get('symbol', '')} at {c.get('price', '-')} won"
        + (f" (seq {c['seq']})" if c.get("seq") else "")
        for c in request["changes"][:5]
    ]
    more = len(request["changes"]) - len(parts)
    return (
        f"APPLY {request['namespace']}: {len(request['changes'])} order request(s): "
        + "; ".join(parts)
        + (f"; and {more} more" if more > 0 else "")
        + f"; order date {request['order_day']}, account {rt.env.account},"
        f" {rt.env.kind} {rt.env.base_url}"
    )


def register(reg: Registry) -> None:
    """Register ``preview_apply`` and ``execute_apply``."""
    rt = reg.rt

    async def preview_apply(
        declarations: str | None = None,
        file: str | None = None,
        prune: list[str] | None = None,
    ) -> CallToolResult:
        """Plan standing reservations: declarations is the TOML text of [[reservation]]
        tables (id, symbol, side, qty, price, order_type, until, days, renew), or file names
        one in the server's --spec-dir. Returns what apply would place/modify/cancel, and a
        single-use confirmation_token for execute_apply when something would be sent."""
        text, name, where = _spec_text(rt, declarations, file)
        plan = await rt.run(_plan, rt, text, name, where, list(prune or ()))
        if not plan["changes"]:
            return ok(rt, {"nothing_to_do": True, **plan})
        used = await rt.run(_check_all, rt, plan["changes"])
        request = {
            "source": where,
            "spec_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "prune": sorted(prune or ()),
            **{k: plan[k] for k in ("namespace", "order_day", "changes")},
        }
        issued = rt.confirmations.issue(
            KIND,
            request,
            env=rt.env.key,
            account=rt.env.account,
            private={"text": text, "name": name, "where": where},
        )
        return ok(
            rt,
            {
                "confirmation_token": issued.token,
                "expires_at": issued.expires_at.isoformat(),
                "request": request,
                "kept": plan["kept"],
                "findings": [],
                "summary": _summary(rt, request),
                "today": {"orders": used.orders, "value": str(used.value)},
            },
        )

    async def execute_apply(confirmation_token: str, ctx: Context[Any, Any]) -> CallToolResult:
        """Apply exactly the plan previewed under confirmation_token (single use), after the
        person confirms. Items with an unknown outcome are settled by the next apply or by
        reconcile; nothing is retried."""
        redeemed = rt.confirmations.redeem(
            confirmation_token, KIND, env=rt.env.key, account=rt.env.account
        )
        request, private = redeemed.request, redeemed.private
        async with rt.order_lock:
            plan = await rt.run(
                _plan, rt, private["text"], private["name"], private["where"], request["prune"]
            )
            if [_key(c) for c in plan["changes"]] != [_key(c) for c in request["changes"]]:
                raise ToolRefusal(
                    "changed",
                    "the plan is no longer the previewed one; preview again",
                    now=plan["changes"],
                )
            await rt.run(_check_all, rt, plan["changes"])
            await ask_person(rt, ctx, _summary(rt, request))
            await rt.run(_check_all, rt, plan["changes"])
            result = await rt.run(_apply, rt, private, request["prune"])
        return ok(rt, result)

    reg.add(preview_apply, read_only=True)
    reg.add(execute_apply, read_only=False)


def _apply(rt: Runtime, private: dict[str, Any], prune: list[str]) -> dict[str, Any]:
    from stock_manager.manager import ReservationManager, parse_spec

    spec = parse_spec(private["text"], name=private["name"], path=private["where"])
    m = ReservationManager(rt.client, clock=rt.options.manager_clock)
    try:
        r = m.apply(spec, prune=prune)
    finally:
        m.close()
    items = [
        {
            "action": i.item.action,
            "id": i.item.id,
            "seq": i.seq,
            "result": "sent" if i.ok else ("unknown" if i.ok is None else "failed"),
            "detail": i.detail,
            "journal_id": i.journal_id,
        }
        for i in r.items
    ]
    unknown = [i["journal_id"] for i in items if i["result"] == "unknown"]
    out: dict[str, Any] = {
        "result": "unknown" if unknown else ("failed" if r.failed else "sent"),
        "order_requests": r.order_requests,
        "items": items,
        "reconciled": list(r.reconciled),
    }
    if unknown:
        out["hint"] = (
            "do not send these again: call reconcile (journal ids"
            f" {', '.join(map(str, unknown))}) or preview_apply again, which settles them"
            " from the book first"
        )
    return out
