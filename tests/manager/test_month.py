"""A simulated month through the library, sync and async (issue #18, "Must show").

The same thirty days as ``tests/cli/test_month.py`` (Friday 2026-12-04 to Saturday 2027-01-02:
four weekends, Christmas, the year-end closing day, New Year's Day), driven through
:class:`ReservationManager` / :class:`Reservations` and their async twins. Here every clock of
the client — the manager's, the reservation API's, the journal's and the client core's — runs
**4 hours ahead** of KIS's (the emulator's): no verdict may rest on the two agreeing. The evening
runs are at 16:00 KIS time (20:00 on the client's clock), both inside the entry window.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISRestClient
from stock_manager.emulator import ServedEmulator
from stock_manager.journal import OrderJournal, Outcome
from stock_manager.manager import AsyncReservationManager, ReservationManager, parse_spec

from .conftest import kis_config
from .month import CELLTRION, DAYS, HYNIX, SAMSUNG, SUNDAY, at, month_emulator

OFF = timedelta(hours=4)


@pytest.fixture
def memu() -> Iterator[ServedEmulator]:
    with month_emulator() as served:
        yield served


class Driver:
    """Runs the sync or the async library the same way: ``d(x)`` awaits ``x`` if needed."""

    def __init__(self, emu: ServedEmulator, home: Path, kind: str) -> None:
        self.emu = emu
        self.kind = kind
        ours: Callable[[], datetime] = lambda: emu.clock.now() + OFF  # noqa: E731
        self.now = ours
        self.journal = OrderJournal(home / "journal.sqlite3", clock=ours)
        config = kis_config(emu, home).model_copy(update={"read_timeout": 0.5})
        self.loop = asyncio.new_event_loop() if kind == "async" else None
        manager: Any
        if kind == "async":
            self.client: Any = AsyncKISRestClient(
                config, journal=self.journal, clock=lambda: ours().timestamp()
            )
            manager = AsyncReservationManager(self.client, clock=ours, sleep=lambda s: None)
        else:
            self.client = KISRestClient(
                config, journal=self.journal, clock=lambda: ours().timestamp()
            )
            manager = ReservationManager(self.client, clock=ours, sleep=lambda s: None)
        self.m = manager
        self.resv = manager.reservations

    def __call__(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            assert self.loop is not None
            return self.loop.run_until_complete(value)
        if hasattr(value, "__anext__"):
            assert self.loop is not None

            async def collect() -> list[Any]:
                return [x async for x in value]

            return self.loop.run_until_complete(collect())
        return value

    def close(self) -> None:
        self.m.close()
        if self.loop is not None:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()
        else:
            self.client.close()
        self.journal.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_month_through_the_library(memu: ServedEmulator, tmp_path: Path, kind: str) -> None:
    d = Driver(memu, tmp_path, kind)
    try:
        _month(memu, d)
    finally:
        d.close()


def _month(emu: ServedEmulator, d: Driver) -> None:
    open_days = [x for x in DAYS if emu.calendar.is_open(x)]
    spec = parse_spec(SAMSUNG + HYNIX, name="month")

    def travel(when: datetime) -> None:
        emu.clock.freeze(when)  # KIS's clock; ours follows at +4 h

    def orders_of(seq: str) -> list[Any]:
        return sorted(
            (o for o in emu.state.orders.values() if o.source_seq == int(seq)),
            key=lambda o: o.ord_dt,
        )

    # Sunday, 16:00 at KIS (20:00 here): the weekend is inside the window.
    travel(at(SUNDAY, 16))
    placed = d(d.m.apply(spec))
    assert sorted((i.item.action, i.item.id, i.ok) for i in placed.items) == [
        ("place", "hynix-period", True),
        ("place", "samsung-period", True),
    ]
    seq = {i.item.id: str(i.seq) for i in placed.items}
    to_cancel = d(d.resv.place_reservation("035420", 1, 200000, "buy", end_date=date(2026, 12, 18)))
    to_modify = d(d.resv.place_reservation("035720", 4, 40000, "buy", end_date=date(2026, 12, 18)))
    to_cancel, to_modify = to_cancel.seq, to_modify.seq
    assert {r.ord_dt for r in emu.state.reservations.values()} == {"20261207"}

    unknown_seq = ""
    verdicts: list[Any] = []
    for day in DAYS:
        if day <= SUNDAY:
            continue
        if day in open_days:
            travel(at(day, 7))
            emu.process_day(default="unfilled")
        travel(at(day, 16))
        if day == date(2026, 12, 8):
            assert d(d.resv.modify_reservation(to_modify, price=39000)).ok
        if day == date(2026, 12, 9):
            pending = {r.seq for r in d(d.resv.list_reservations(status="pending"))}
            assert to_cancel in pending
            assert d(d.resv.cancel_reservation(to_cancel)).ok
        if day == date(2026, 12, 10):
            spec = parse_spec(SAMSUNG, name="month")
            removed = d(d.m.apply(spec))
            assert [(i.item.action, i.item.id, i.ok) for i in removed.items] == [
                ("cancel", "hynix-period", True)
            ]
        if day == date(2026, 12, 11):
            spec = parse_spec(SAMSUNG + CELLTRION, name="month")
            emu.faults.add("order-resv", "late_commit", seconds=1.0)
            unknown = d(d.m.apply(spec))
            assert [(i.item.id, i.ok) for i in unknown.items] == [("celltrion-once", None)]
            deadline = time.monotonic() + 30
            while not [r for r in emu.state.reservations.values() if r.pdno == "068270"]:
                assert time.monotonic() < deadline, "the late commit never landed"
                time.sleep(0.02)
            emu.faults.clear()
            verdicts = d(d.resv.reconcile_pending())
            assert [v.verdict for v in verdicts] == ["applied"], verdicts
            assert verdicts[0].clock_skew_s is not None
            assert abs(verdicts[0].clock_skew_s - OFF.total_seconds()) < 5
            unknown_seq = verdicts[0].reservation.seq
            before = emu.requests.count(name="order-resv")
            again = d(d.m.apply(spec))
            assert again.items == (), again.items
            assert emu.requests.count(name="order-resv") == before
        if day in open_days:
            d(d.m.apply(spec))
        for symbol in ("005930", "000660", "068270"):
            live = [
                r
                for r in emu.state.reservations.values()
                if r.pdno == symbol and r.status == "pending"
            ]
            assert len(live) <= 1, (day, symbol)

    first_ten = open_days[open_days.index(date(2026, 12, 7)) :][:10]
    ymd = [x.strftime("%Y%m%d") for x in first_ten]
    assert [o.ord_dt for o in orders_of(seq["samsung-period"])] == ymd
    assert [o.ord_dt for o in orders_of(seq["hynix-period"])] == ymd[:4]
    assert [o.ord_dt for o in orders_of(to_cancel)] == ymd[:3]
    assert [o.unpr for o in orders_of(to_modify)] == [40000] * 2 + [39000] * 8
    assert [o.ord_dt for o in orders_of(unknown_seq)] == ["20261214"]
    for symbol in ("005930", "000660", "068270"):
        assert len([r for r in emu.state.reservations.values() if r.pdno == symbol]) == 1
    # Every journal entry is settled, and none was judged "not applied" by mistake.
    assert d.journal.needs_reconcile() == []
    assert Outcome.RECONCILED_NOT_APPLIED not in {e.outcome for e in d.journal.entries()}
