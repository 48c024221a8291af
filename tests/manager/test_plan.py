"""plan/apply: modify, cancel, prune, duplicates, drift, the window — and the async twin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient
from stock_manager.emulator import ServedEmulator
from stock_manager.manager import (
    AsyncReservationManager,
    OutsideWindowError,
    ReservationManager,
    StandingSpec,
    WeekendCalendar,
    parse_spec,
)

from .conftest import at, kis_config

TWO = """
[[reservation]]
id = "a"
symbol = "005930"
side = "buy"
qty = 10
price = {price_a}

[[reservation]]
id = "b"
symbol = "000660"
side = "sell"
qty = 3
price = 190000
"""


def spec(price_a: int = 69000, drop_b: bool = False) -> StandingSpec:
    text = TWO.format(price_a=price_a)
    if drop_b:
        text = text.split('[[reservation]]\nid = "b"')[0]
    return parse_spec(text, name="t")


def orders(emu: ServedEmulator) -> int:
    return sum(emu.requests.count(name=n) for n in ("order-resv", "order-resv-rvsecncl"))


def test_modify_cancel_prune_drift_duplicate(
    emu: ServedEmulator, manager: ReservationManager
) -> None:
    placed = manager.apply(spec())
    seq_a, seq_b = (i.seq for i in placed.items)

    # A changed price: one modify, every other term kept.
    plan = manager.plan(spec(68000))
    change = next(i for i in plan.items if i.id == "a")
    assert (change.action, change.seq, change.reason) == (
        "modify",
        seq_a,
        "the declaration changed",
    )
    before = orders(emu)
    done = manager.apply(spec(68000))
    assert [(i.item.action, i.ok) for i in done.items] == [("modify", True)]
    assert orders(emu) == before + 1
    assert emu.state.reservations[int(seq_a)].unpr == 68000
    assert manager.apply(spec(68000)).items == ()

    # Changed outside the file: put back.
    manager.reservations.modify_reservation(seq_a, price=Decimal(60000))
    drift = manager.plan(spec(68000))
    item = next(i for i in drift.items if i.id == "a")
    assert (item.action, item.reason) == ("modify", "the reservation was changed outside the file")
    manager.apply(spec(68000))
    assert emu.state.reservations[int(seq_a)].unpr == 68000

    # A reservation the file does not own is never touched... unless pruned.
    other = manager.reservations.place_reservation("005930", 1, 50000, "buy").seq
    untouched = manager.apply(spec(68000))
    assert untouched.items == ()
    pruned = manager.apply(spec(68000), prune=["005930"])
    assert [(i.item.action, i.seq) for i in pruned.items] == [("cancel", other)]
    assert emu.state.reservations[int(other)].status == "cancelled"
    assert emu.state.reservations[int(seq_a)].status == "pending"

    # A duplicate for the same id (say, linked by hand): the extra one is cancelled.
    dup = manager.reservations.place_reservation("000660", 3, 190000, "sell").seq
    store = manager._local.links
    terms = {"symbol": "000660", "side": "01", "qty": 3, "price": "190000", "order_type": "00"}
    link_id = store.begin_place("t", "b", spec().by_id()["b"].spec_hash, terms, emu.clock.now())
    store.update(link_id, seq=dup, state="live")
    dedup = manager.apply(spec(68000))
    assert [(i.item.action, i.seq, i.item.reason) for i in dedup.items] == [
        ("cancel", dup, "a duplicate for the same id")
    ]

    # No longer declared: cancelled.
    gone = manager.apply(spec(68000, drop_b=True))
    assert [(i.item.action, i.seq, i.item.reason) for i in gone.items] == [
        ("cancel", seq_b, "no longer declared")
    ]
    assert manager.apply(spec(68000, drop_b=True)).items == ()


def test_window_refuses_or_waits(emu: ServedEmulator, manager: ReservationManager) -> None:
    emu.clock.freeze(at(8, 10, 0))  # Tuesday 10:00: the window is closed until 15:40
    with pytest.raises(OutsideWindowError) as info:
        manager.apply(spec())
    assert info.value.opens_at == at(8, 15, 40)
    assert "2026-12-08 15:40" in str(info.value)
    assert orders(emu) == 0

    slept: list[float] = []

    def sleep(seconds: float) -> None:  # time travel instead of waiting
        slept.append(seconds)
        emu.clock.advance(seconds)

    waiting = ReservationManager(manager.client, clock=emu.clock.now, sleep=sleep)
    try:
        result = waiting.apply(spec(), wait=True)
    finally:
        waiting.close()
    assert slept == [(at(8, 15, 40) - at(8, 10, 0)).total_seconds()]
    assert [i.ok for i in result.items] == [True, True]


def test_weekend_calendar() -> None:
    cal = WeekendCalendar(closed=[date(2026, 12, 25)])
    assert not cal.is_open(date(2026, 12, 12))
    assert cal.next_open_day(date(2026, 12, 24)) == date(2026, 12, 28)
    inside, _ = cal.window(at(12, 12, 0))  # Saturday noon: a closed day is all window
    assert inside
    inside, opens = cal.window(at(8, 23, 50))  # the nightly blackout
    assert not inside and opens == at(9, 0, 10)


@pytest.fixture
def aclient(emu: ServedEmulator, tmp_path: Path) -> AsyncKISRestClient:
    return AsyncKISRestClient(kis_config(emu, tmp_path / "async"))


async def test_async_manager(emu: ServedEmulator, aclient: AsyncKISRestClient) -> None:
    m = AsyncReservationManager(aclient, clock=emu.clock.now)
    try:
        first = await m.apply(spec())
        assert [i.ok for i in first.items] == [True, True]
        assert (await m.apply(spec())).items == ()
        emu.clock.freeze(at(8, 7, 0))
        emu.process_day(default="partial")
        emu.clock.freeze(at(8, 9, 0))
        report = await m.report()
        assert report.summary["partial"] == 2
        seq = first.items[0].seq
        cancelled = await m.cancel_order(seq)
        assert cancelled.qty == 5
        modified_seq = first.items[1].seq
        repriced = await m.modify_order(modified_seq, 191000)
        assert repriced.price == Decimal(191000)
        assert (await m.plan(spec())).counts()["keep"] == 2
        dry = await m.apply(parse_spec(TWO.format(price_a=61000), name="t"), dry_run=True)
        assert [d["body"]["ORD_UNPR"] for d in dry.described] == ["61000"]
    finally:
        m.close()
        await aclient.aclose()


def test_order_of_pending_reservation_is_refused(
    emu: ServedEmulator, manager: ReservationManager
) -> None:
    seq = manager.apply(spec()).items[0].seq
    from stock_manager.adapters.broker.kis.errors import KISValidationError

    with pytest.raises(KISValidationError, match=r"has not been sent yet.*resv cancel"):
        manager.cancel_order(seq)
    assert emu.requests.count(name="order-rvsecncl") == 0


def test_unknown_cancel_order_is_reconciled(
    emu: ServedEmulator, manager: ReservationManager
) -> None:
    from stock_manager.adapters.broker.kis.errors import OrderOutcomeUnknownError
    from stock_manager.journal import Outcome

    seq = manager.apply(spec()).items[0].seq
    emu.clock.freeze(at(8, 7, 0))
    emu.process_day(default="partial")
    emu.clock.freeze(at(8, 9, 30))
    # KIS applies the cancel, then the connection drops: the client cannot know.
    emu.faults.add("order-rvsecncl", "reset_after")
    with pytest.raises(OrderOutcomeUnknownError) as info:
        manager.cancel_order(seq)
    assert emu.requests.count(name="order-rvsecncl") == 1  # never resent
    entry_id = info.value.journal_id
    assert entry_id is not None
    journal = manager.client.journal
    assert journal is not None
    assert journal.get(entry_id).outcome is Outcome.UNKNOWN
    [result] = manager.reconcile_orders()
    assert (result.entry_id, result.applied) == (entry_id, True)
    assert journal.get(entry_id).outcome is Outcome.RECONCILED_APPLIED
    assert manager.reconcile_orders() == []


@pytest.fixture
def emu_timed(emu: ServedEmulator, tmp_path: Path) -> Iterator[ReservationManager]:
    """A manager whose journal also runs on the emulator's clock (settle windows travel)."""
    from stock_manager.adapters.broker.kis import KISRestClient
    from stock_manager.journal import OrderJournal

    config = kis_config(emu, tmp_path / "timed")
    journal = OrderJournal(config.effective_journal_path, clock=emu.clock.now)
    with KISRestClient(config, journal=journal) as client:
        m = ReservationManager(client, clock=emu.clock.now, sleep=lambda s: None)
        yield m
        m.close()
    journal.close()


def test_partial_failure_is_per_item_and_a_rerun_finishes(
    emu: ServedEmulator, emu_timed: ReservationManager
) -> None:
    manager = emu_timed
    # The first place gets an HTTP 500 (EGW00002): never resent, its outcome unknown.
    emu.faults.add("order-resv", "http_error", 1, status=500)
    first = manager.apply(spec())
    assert [(i.item.id, i.ok) for i in first.items] == [("a", None), ("b", True)]
    assert "outcome unknown" in first.items[0].detail
    assert emu.requests.count(name="order-resv") == 2
    # Straight away the re-run waits: the list may lag the order desk.
    waiting = manager.apply(spec())
    assert waiting.items == ()
    assert [i.action for i in waiting.plan.items if i.id == "a"] == ["wait"]
    # After the settle window reconcile settles "a" from the book (KIS never stored it): the
    # journal says "not applied", so it is placed, once.
    emu.clock.advance(61)
    second = manager.apply(spec())
    assert any("(place): no matching reservation" in line for line in second.reconciled)
    assert any("did not take effect" in line for line in second.reconciled), second.reconciled
    assert [(i.item.id, i.item.action, i.ok) for i in second.items] == [("a", "place", True)]
    assert sorted(r.pdno for r in emu.state.reservations.values()) == ["000660", "005930"]
    assert manager.apply(spec()).items == ()


def test_dry_run_sends_nothing(emu: ServedEmulator, manager: ReservationManager) -> None:
    result = manager.apply(spec(), dry_run=True)
    assert result.dry_run
    assert result.order_requests == 0
    assert [d["body"]["PDNO"] for d in result.described] == ["005930", "000660"]
    assert all(
        "***" in str(d["body"]["CANO"]) or "*" in str(d["body"]["CANO"]) for d in result.described
    )
    assert emu.requests.count(name="order-resv") == 0
    assert manager._local.links.links("t") == []  # nothing recorded either


def test_report_lists_waiting_and_period_reservations_ending_soon(
    emu: ServedEmulator, manager: ReservationManager
) -> None:
    text = (
        "[[reservation]]\nid = 'p'\nsymbol = '005930'\nside = 'buy'\nqty = 4\nprice = 60000\n"
        "days = 3\n"
        "[[reservation]]\nid = 'q'\nsymbol = '000660'\nside = 'buy'\nqty = 1\nprice = 150000\n"
        "days = 10\n"
    )
    placed = manager.apply(parse_spec(text, name="soon"))
    p_seq, q_seq = (i.seq for i in placed.items)
    assert [i.item.end_date for i in placed.items] == [date(2026, 12, 10), date(2026, 12, 21)]
    emu.clock.freeze(at(8, 7, 0))
    emu.process_day(default="unfilled")
    emu.clock.freeze(at(8, 8, 40))
    report = manager.report()
    assert {r.seq: r.state for r in report.processed} == {p_seq: "unfilled", q_seq: "unfilled"}
    assert {r.seq for r in report.waiting} == {p_seq, q_seq}  # sent again tomorrow
    assert [r.seq for r in report.ending_soon] == [p_seq]  # ends within 3 open days
    assert not report.attention
    # The period reservations are still live: the evening plan keeps them.
    emu.clock.freeze(at(8, 16, 0))
    assert {i.action for i in manager.plan(parse_spec(text, name="soon")).items} == {"keep"}


def test_an_unknown_modify_order_is_not_judged_before_the_settle_window(
    emu: ServedEmulator, emu_timed: ReservationManager
) -> None:
    # Before: reconcile-orders said "not applied" at once for a 정정 whose answer was lost,
    # while KIS might still be processing it — and a user told "not applied" sends it again.
    from stock_manager.adapters.broker.kis.errors import OrderOutcomeUnknownError
    from stock_manager.journal import Outcome

    manager = emu_timed
    seq = manager.apply(spec()).items[0].seq
    emu.clock.freeze(at(8, 7, 0))
    emu.process_day(default="partial")
    emu.clock.freeze(at(8, 9, 30))
    emu.faults.add("order-rvsecncl", "http_error", 1, status=500)  # not applied, answer lost
    with pytest.raises(OrderOutcomeUnknownError) as info:
        manager.modify_order(seq, 69500)
    entry_id = info.value.journal_id
    assert entry_id is not None
    [early] = manager.reconcile_orders()
    assert (early.entry_id, early.applied) == (entry_id, None)
    assert early.retry_at is not None and "ask again after" in early.detail
    journal = manager.client.journal
    assert journal is not None
    assert journal.get(entry_id).outcome is Outcome.UNKNOWN  # still open
    emu.clock.advance(manager.client.config.read_timeout + 31)  # past the settle window
    [late] = manager.reconcile_orders()
    assert (late.entry_id, late.applied) == (entry_id, False)
    assert journal.get(entry_id).outcome is Outcome.RECONCILED_NOT_APPLIED
