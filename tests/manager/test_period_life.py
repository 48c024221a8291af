"""Issue #18, finding 3: a period reservation can be stopped on every day of its life.

Spec §1.5: a period reservation (기간예약) is sent every open day until its end date for the
still-unfilled quantity; cancelling it after it was sent stops its later days, and the order
already made of it that day is separate (주식주문(정정취소)). Every instant below is fixed: the
week of Monday 2026-12-07 (see conftest), evenings inside the entry window.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISRestClient
from stock_manager.adapters.broker.kis.errors import KISValidationError
from stock_manager.adapters.broker.kis.reservations import Reservations
from stock_manager.emulator import ServedEmulator
from stock_manager.manager import AsyncReservationManager, ReservationManager, parse_spec

from .conftest import at, kis_config

END = date(2026, 12, 17)  # a Thursday, ten days after Monday the 7th


def test_monday() -> None:
    assert date(2026, 12, 7).weekday() == 0 and END.weekday() == 3


def changes(emu: ServedEmulator) -> int:
    return emu.requests.count(name="order-resv-rvsecncl")


def test_period_reservation_stays_active_cancellable_and_modifiable(
    emu: ServedEmulator, client: KISRestClient
) -> None:
    resv = Reservations(client, clock=emu.clock.now)
    period = resv.place_reservation("005930", 10, 69000, "buy", end_date=END).seq
    partial = resv.place_reservation("000660", 10, 180000, "buy", end_date=END).seq
    one_day = resv.place_reservation("035420", 4, 200000, "sell").seq
    assert all(r.is_pending for r in resv.list_reservations())

    # Tuesday's processing: every one becomes an order; none fills, one fills half.
    emu.clock.freeze(at(8, 7, 0))
    emu.process_day({partial: "partial"}, default="unfilled")

    # Tuesday evening.
    emu.clock.freeze(at(8, 16, 0))
    # `--status pending` shows what can still act: both period reservations.
    pending = {r.seq for r in resv.list_reservations(status="pending")}
    assert pending == {period, partial}
    rows = {r.seq: r for r in resv.list_reservations()}
    assert rows[period].status == "active" and rows[period].order_no
    assert rows[partial].status == "active" and rows[partial].filled_qty == 5
    assert rows[one_day].status == "sent"  # a one-day reservation ends when it is sent
    assert {r.seq for r in resv.list_reservations(status="waiting")} == set()
    assert {r.seq for r in resv.list_reservations(status="active")} == {period, partial}
    assert {r.seq for r in resv.list_reservations(status="ended")} == {one_day}
    assert {r.seq for r in resv.list_reservations(status="processed")} == set(rows)

    # The one-day reservation has ended: refused locally, pointing at its order.
    before = changes(emu)
    with pytest.raises(KISValidationError, match=f"resv cancel-order {one_day}"):
        resv.cancel_reservation(one_day)
    assert changes(emu) == before

    # The active ones can be modified and cancelled (later days only).
    assert resv.modify_reservation(partial, price=179000).ok
    assert emu.state.reservations[int(partial)].unpr == 179000
    bulk = resv.cancel_reservations()  # cancel-all: every one that can still act
    assert sorted(i.seq for i in bulk.items) == sorted([period, partial])
    assert bulk.succeeded == 2
    assert resv.get_reservation(period).status == "cancelled"

    # Wednesday's processing sends neither again.
    emu.clock.freeze(at(9, 7, 0))
    assert emu.process_day(default="unfilled") == []


def test_period_reservation_ends_on_its_end_date(
    emu: ServedEmulator, client: KISRestClient
) -> None:
    resv = Reservations(client, clock=emu.clock.now)
    seq = resv.place_reservation("005930", 10, 69000, "buy", end_date=date(2026, 12, 9)).seq
    emu.clock.freeze(at(8, 7, 0))
    emu.process_day(default="unfilled")
    emu.clock.freeze(at(9, 6, 0))  # before Wednesday's processing: it is sent once more
    assert resv.get_reservation(seq).status == "active"
    emu.process_day(default="unfilled")
    emu.clock.freeze(at(9, 16, 0))  # its last day has been processed
    row = resv.get_reservation(seq)
    assert row.status == "sent"
    assert not row.is_pending
    with pytest.raises(KISValidationError, match="past its end date"):
        resv.cancel_reservation(seq)


PERIOD = """
[[reservation]]
id = "dip"
symbol = "005930"
side = "buy"
qty = 10
price = 69000
until = 2026-12-17

[[reservation]]
id = "keep"
symbol = "000660"
side = "buy"
qty = 2
price = 180000
"""


def test_manager_keeps_a_live_period_reservation_and_cancels_it_when_removed(
    emu: ServedEmulator, manager: ReservationManager
) -> None:
    spec = parse_spec(PERIOD, name="period")
    placed = manager.apply(spec)
    dip = next(i.seq for i in placed.items if i.item.id == "dip")
    assert placed.items[0].item.end_date == END
    emu.clock.freeze(at(8, 7, 0))
    emu.process_day(default="unfilled")

    # Tuesday evening: the period reservation is still alive: nothing is placed again.
    emu.clock.freeze(at(8, 16, 0))
    again = manager.apply(spec)
    assert again.items == (), again.items
    item = next(i for i in again.plan.items if i.id == "dip")
    assert (item.action, item.seq) == ("keep", dip)

    # A changed price modifies it (its later days), keeping its end date.
    repriced = manager.apply(parse_spec(PERIOD.replace("69000", "68000"), name="period"))
    assert [(i.item.action, i.seq, i.ok) for i in repriced.items] == [("modify", dip, True)]
    assert "active period reservation" in repriced.items[0].item.reason
    assert emu.state.reservations[int(dip)].unpr == 68000
    assert emu.state.reservations[int(dip)].end_dt == "20261217"

    # The declaration is removed mid-period: apply cancels the reservation.
    only_keep = parse_spec("[[reservation]]" + PERIOD.split("[[reservation]]")[2], name="period")
    gone = manager.apply(only_keep)
    assert [(i.item.action, i.seq, i.ok) for i in gone.items] == [("cancel", dip, True)]
    assert "no longer declared" in gone.items[0].item.reason
    assert emu.state.reservations[int(dip)].status == "cancelled"
    assert manager.apply(only_keep).items == ()

    # Wednesday's processing does not send it again.
    emu.clock.freeze(at(9, 7, 0))
    sent = {r["seq"] for r in emu.process_day(default="unfilled")}
    assert dip not in sent


async def test_async_manager_cancels_a_removed_active_period_reservation(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    client = AsyncKISRestClient(kis_config(emu, tmp_path / "async"))
    m = AsyncReservationManager(client, clock=emu.clock.now)
    try:
        placed = await m.apply(parse_spec(PERIOD, name="period"))
        dip = next(i.seq for i in placed.items if i.item.id == "dip")
        emu.clock.freeze(at(8, 7, 0))
        emu.process_day(default="unfilled")
        emu.clock.freeze(at(8, 16, 0))
        assert (await m.apply(parse_spec(PERIOD, name="period"))).items == ()
        only_keep = parse_spec(
            "[[reservation]]" + PERIOD.split("[[reservation]]")[2], name="period"
        )
        gone = await m.apply(only_keep)
        assert [(i.item.action, i.seq, i.ok) for i in gone.items] == [("cancel", dip, True)]
        assert emu.state.reservations[int(dip)].status == "cancelled"
    finally:
        m.close()
        await client.aclose()
