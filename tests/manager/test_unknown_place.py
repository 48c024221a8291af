"""Issue #18, finding 4: ``apply`` never places again what an unknown outcome may have placed.

A place times out (the emulator answers after the read timeout, having stored it), ``resv
reconcile --pending`` finds the reservation, and the next ``apply`` must adopt that reservation
— not place the declaration a second time. The manager's clock runs 10 minutes ahead of the
emulator's here: adoption must rest on the journal (what reconcile found), never on receipt
times from two clocks agreeing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISRestClient
from stock_manager.emulator import ServedEmulator
from stock_manager.journal import OrderJournal, Outcome
from stock_manager.manager import AsyncReservationManager, ReservationManager, parse_spec

from .conftest import kis_config

SPEC = """
[[reservation]]
id = "samsung"
symbol = "005930"
side = "buy"
qty = 10
price = 69000
"""
SKEW = timedelta(minutes=10)


def _config(emu: ServedEmulator, home: Path) -> object:
    # A read timeout shorter than the emulator's delay: the place's outcome is unknown.
    return kis_config(emu, home).model_copy(update={"read_timeout": 0.3})


def _wait_for_commit(emu: ServedEmulator, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(emu.state.reservations) < count:
        assert time.monotonic() < deadline, "the delayed place never landed"
        time.sleep(0.05)


def _skewed(emu: ServedEmulator) -> Callable[[], datetime]:
    return lambda: emu.clock.now() + SKEW


@pytest.fixture
def journal(emu: ServedEmulator, tmp_path: Path) -> Iterator[OrderJournal]:
    # The journal runs on the emulator's clock (KIS's time in this test), so the test does
    # not depend on the real date.
    j = OrderJournal(tmp_path / "journal.sqlite3", clock=emu.clock.now)
    yield j
    j.close()


def test_unknown_place_reconciled_then_applied_is_adopted_not_placed_again(
    emu: ServedEmulator, journal: OrderJournal, tmp_path: Path
) -> None:
    spec = parse_spec(SPEC, name="once")
    with KISRestClient(_config(emu, tmp_path), journal=journal) as client:  # type: ignore[arg-type]
        m = ReservationManager(client, clock=_skewed(emu), sleep=lambda s: None)
        try:
            emu.faults.add("order-resv", "delay", seconds=1.0)
            first = m.apply(spec)
            assert [(i.item.action, i.ok) for i in first.items] == [("place", None)]
            _wait_for_commit(emu, 1)
            emu.faults.clear()

            # `resv reconcile --pending`: the reservation is found; the entry is closed.
            [found] = m.reservations.reconcile_pending()
            assert found.verdict == "applied", found
            seq = found.reservation.seq if found.reservation else ""
            assert journal.get(found.entry_id).outcome is Outcome.RECONCILED_APPLIED

            # Two minutes later (past every settle window) apply runs again.
            emu.clock.advance(120)
            second = m.apply(spec)
            assert second.items == (), second.items
            assert any(f"adopted reservation {seq}" in line for line in second.reconciled)
            assert len(emu.state.reservations) == 1  # one reservation, never two
            assert emu.requests.count(name="order-resv") == 1
            [link] = m._local.links.links("once")
            assert (link.state, link.seq) == ("live", seq)
            assert m.apply(spec).items == ()
        finally:
            m.close()


def test_unknown_place_blocks_placing_until_settled(
    emu: ServedEmulator, journal: OrderJournal, tmp_path: Path
) -> None:
    """While the journal entry is unknown, the declaration waits, however late it gets."""
    spec = parse_spec(SPEC, name="once")
    with KISRestClient(_config(emu, tmp_path), journal=journal) as client:  # type: ignore[arg-type]
        m = ReservationManager(client, clock=_skewed(emu), sleep=lambda s: None)
        try:
            # A broker slow to show what it received: reconcile waits 10 minutes.
            m.reservations.settle_s = 600
            # KIS stores nothing (yet) and the answer is an HTTP 500: unknown.
            emu.faults.add("order-resv", "http_error", 1, status=500)
            first = m.apply(spec)
            assert [i.ok for i in first.items] == [None]
            # Past the manager's own settle time (60 s) but inside reconcile's: still unknown,
            # so nothing is placed, however many times apply runs.
            for _ in range(3):
                emu.clock.advance(70)
                waiting = m.apply(spec)
                assert waiting.items == (), waiting.items
                [item] = waiting.plan.items
                assert item.action == "wait" and "unknown" in item.reason
            assert emu.requests.count(name="order-resv") == 1
            # Once reconcile can say "not applied", it is placed, once.
            emu.clock.advance(600)
            placed = m.apply(spec)
            assert [(i.item.action, i.ok) for i in placed.items] == [("place", True)]
            assert len(emu.state.reservations) == 1
        finally:
            m.close()


async def test_async_unknown_place_is_adopted(
    emu: ServedEmulator, journal: OrderJournal, tmp_path: Path
) -> None:
    spec = parse_spec(SPEC, name="once")
    client = AsyncKISRestClient(_config(emu, tmp_path), journal=journal)  # type: ignore[arg-type]
    m = AsyncReservationManager(client, clock=_skewed(emu))
    try:
        emu.faults.add("order-resv", "delay", seconds=1.0)
        first = await m.apply(spec)
        assert [i.ok for i in first.items] == [None]
        _wait_for_commit(emu, 1)
        emu.faults.clear()
        [found] = await m.reservations.reconcile_pending()
        assert found.verdict == "applied", found
        emu.clock.advance(120)
        second = await m.apply(spec)
        assert second.items == ()
        assert len(emu.state.reservations) == 1
    finally:
        m.close()
        await client.aclose()


def _link(state: str = "placing") -> Any:
    from stock_manager.manager.links import Link

    return Link(
        id=1,
        namespace="once",
        decl_id="samsung",
        seq="",
        state=state,  # type: ignore[arg-type]
        spec_hash="h",
        symbol="005930",
        side="02",
        qty=10,
        price="69000",
        order_type="00",
        end_date="",
        filled_qty=0,
        outcome="",
        created_at=datetime(2026, 12, 7, 7, 0, tzinfo=UTC),
        pid=1,
        note="",
    )


def test_journal_decides_a_placing_link() -> None:
    """Pure: what each answer of the journal does to a ``placing`` link."""
    from decimal import Decimal

    from stock_manager.adapters.broker.kis.reservations import Reservation
    from stock_manager.manager.plan import JournalPlace, reconcile_links

    row = Reservation(
        seq="7", symbol="005930", side="02", order_type="00", qty=10, price=Decimal(69000)
    )
    day = datetime(2026, 12, 8).date()

    def run(record: JournalPlace, book: list[Reservation]) -> dict[str, Any]:
        [update] = reconcile_links([_link()], book, set(), day, journal={1: record})
        return update.fields

    assert run(JournalPlace("applied", 3, "7"), []) == {"seq": "7", "state": "live", "note": ""}
    assert run(JournalPlace("unknown", 3), [row])["state"] == "placing"  # the book never decides
    assert run(JournalPlace("not_applied", 3), [row])["state"] == "failed"
    # Accepted without a sequence number: adopted from the book, never dropped.
    assert run(JournalPlace("unknown", 3, accepted=True), [row]) == {"seq": "7", "state": "live"}
    assert run(JournalPlace("unknown", 3, accepted=True), [])["state"] == "placing"


def test_without_a_journal_entry_a_clock_hours_off_never_drops_what_kis_holds() -> None:
    """Pure: the receipt-time fallback (journal off, or a run that died before recording its
    place) with our clock 4 h ahead of KIS's. Before, the link's ``created_at`` (ours) was
    compared with KIS's receipt time as if both clocks agreed: the reservation KIS holds was
    "not in the book", the link was dropped, and the next apply placed it a second time."""
    from datetime import date
    from decimal import Decimal

    from stock_manager.adapters.broker.kis.reservations import Reservation
    from stock_manager.adapters.broker.kis.reservations.models import KST
    from stock_manager.manager.plan import reconcile_links

    link = _link()  # recorded at 07:00 UTC on our clock = 03:00 UTC on KIS's
    received = (link.created_at - timedelta(hours=4) + timedelta(seconds=2)).astimezone(KST)
    row = Reservation(
        seq="7",
        symbol="005930",
        side="02",
        order_type="00",
        qty=10,
        price=Decimal(69000),
        receipt_date=received.date(),
        receipt_time=received.strftime("%H%M%S"),
    )
    later = link.created_at + timedelta(hours=1)  # past every settle time; its process is gone

    def run(skew_s: float | None) -> dict[str, Any]:
        [update] = reconcile_links(
            [link], [row], set(), date(2026, 12, 8), now=later, alive=lambda pid: False,
            skew_s=skew_s,
        )  # fmt: skip
        return update.fields

    assert run(4 * 3600.0 + 1) == {"seq": "7", "state": "live"}  # measured: adopted
    assert run(None) == {"seq": "7", "state": "live"}  # unmeasured: no time test, adopted
    assert run(0.0)["state"] == "failed"  # the old rule: clocks assumed to agree
