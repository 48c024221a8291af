"""A simulated week against the emulator (library level; the CLI twin is in tests/cli)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from stock_manager.emulator import ServedEmulator
from stock_manager.manager import ReservationManager, parse_spec

from .conftest import at
from .week import ORDER_ENDPOINTS, SPEC


def order_requests(emu: ServedEmulator) -> int:
    return sum(emu.requests.count(name=n) for n in ORDER_ENDPOINTS)


def seq_of(manager: ReservationManager, decl_id: str) -> str:
    links = [link for link in manager._local.links.links("week") if link.decl_id == decl_id]
    return links[-1].seq


def test_simulated_week(emu: ServedEmulator, manager: ReservationManager) -> None:
    spec = parse_spec(SPEC)

    # Monday evening: three declared, three placed.
    first = manager.apply(spec)
    assert [i.item.action for i in first.items] == ["place", "place", "place"]
    assert all(i.ok for i in first.items), first.items
    assert order_requests(emu) == 3
    assert first.plan.order_day == date(2026, 12, 8)

    # Nothing changed: a second apply sends nothing.
    before = order_requests(emu)
    again = manager.apply(spec)
    assert again.items == ()
    assert order_requests(emu) == before
    assert {i.action for i in again.plan.items} == {"keep"}

    samsung, hynix, naver = (seq_of(manager, i) for i in ("samsung-dip", "hynix-add", "naver-trim"))

    # Tuesday's processing: fills one, partly fills one, rejects one.
    emu.clock.freeze(at(8, 7, 0))
    emu.process_day({samsung: "filled", hynix: "partial", naver: "rejected"})

    # Tuesday morning report.
    emu.clock.freeze(at(8, 8, 40))
    report = manager.report()
    assert report.date == date(2026, 12, 8)
    rows = {r.seq: r for r in report.processed}
    assert rows[samsung].state == "filled"
    assert rows[samsung].filled_qty == 10
    assert rows[samsung].avg_price == Decimal(69000)
    assert rows[samsung].odno
    assert rows[hynix].state == "partial"
    assert (rows[hynix].filled_qty, rows[hynix].remaining_qty) == (5, 5)
    assert rows[hynix].open
    assert rows[naver].state == "rejected"
    assert rows[naver].reason
    assert rows[naver].odno == ""
    assert report.attention
    assert report.summary["sent"] == 2
    assert "rejected 1" in report.text

    # Cancel the rest of the partial fill during the session.
    emu.clock.freeze(at(8, 10, 0))
    change = manager.cancel_order(hynix)
    assert change.action == "cancel"
    assert change.qty == 5
    after = {r.seq: r for r in manager.report().processed}
    assert after[hynix].remaining_qty == 0
    assert after[hynix].cancelled_qty == 5
    assert after[hynix].filled_qty == 5

    # Tuesday evening: only the partly filled one is renewed, for what is still unfilled.
    emu.clock.freeze(at(8, 16, 0))
    before = order_requests(emu)
    evening = manager.apply(spec)
    actions = {i.id: i.action for i in evening.plan.items}
    assert actions == {"samsung-dip": "keep", "hynix-add": "renew", "naver-trim": "keep"}
    renewed = next(i for i in evening.items if i.item.id == "hynix-add")
    assert renewed.ok
    assert renewed.item.qty == 5
    assert order_requests(emu) == before + 1
    rejected = next(i for i in evening.plan.items if i.id == "naver-trim")
    assert rejected.attention

    before = order_requests(emu)
    assert manager.apply(spec).items == ()
    assert order_requests(emu) == before

    # Friday evening: the next order day skips the closed weekend.
    emu.clock.freeze(at(11, 16, 0))
    period = parse_spec(
        SPEC
        + """
[[reservation]]
id = "kakao-period"
symbol = "035720"
side = "buy"
qty = 3
price = 40000
days = 2
"""
    )
    plan = manager.plan(period)
    assert plan.order_day == date(2026, 12, 14)  # Monday, not Saturday
    placed = next(i for i in plan.items if i.id == "kakao-period")
    assert placed.action == "place"
    assert placed.end_date == date(2026, 12, 15)  # 2 open days: Mon 14th and Tue 15th

    # Saturday: the latest session is Friday's.
    emu.clock.freeze(at(12, 9, 0))
    assert manager.report().date == date(2026, 12, 11)
