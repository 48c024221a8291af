"""The async reservation API does its local I/O off the event loop (issue #19).

Journal reads and writes of reconcile, the calendar's cache file and the shared rate budget's
file lock are yielded as blocking calls (``_flow.Call``), which the async driver runs in a
worker thread. Each test spies on the blocking function itself and records where it ran: a
worker thread has no running event loop (``asyncio.get_running_loop`` raises there). Each test
also checks the spied function did run, so it cannot pass by never looking.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISRestClient
from stock_manager.adapters.broker.kis.reservations import (
    PATH_PLACE,
    AsyncReservations,
    Reservations,
)
from stock_manager.calendar import KRXCalendar
from stock_manager.emulator.server import ServedEmulator
from stock_manager.journal import OrderJournal, Outcome

from .conftest import evening, make_config


def _on_loop() -> bool:
    """Whether the caller runs on a thread with a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@dataclass
class Spy:
    """Where each spied call ran: ``(name, on the event loop?)`` in call order."""

    monkeypatch: pytest.MonkeyPatch
    calls: list[tuple[str, bool]] = field(default_factory=list)

    def watch(self, owner: Any, name: str) -> None:
        """Record every call of ``owner.name`` (a class or an instance)."""
        original = getattr(owner, name)
        label = f"{getattr(owner, '__name__', type(owner).__name__)}.{name}"

        @functools.wraps(original)
        def spied(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((label, _on_loop()))
            return original(*args, **kwargs)

        self.monkeypatch.setattr(owner, name, spied)

    def names(self) -> set[str]:
        return {name for name, _ in self.calls}

    def on_loop(self) -> list[str]:
        return [name for name, looped in self.calls if looped]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


def _unknown_place(emu: ServedEmulator, tmp_path: Path) -> int:
    """A place whose outcome the journal does not know, and the reservation it made.

    The intent is journaled by hand (as a sender that timed out would leave it); the
    reservation is placed by an unjournaled client, so reconcile has something to find.
    """
    cfg = make_config(emu, tmp_path, journal=False)
    with KISRestClient(cfg) as client:
        resv = Reservations(client, clock=evening, window_policy="ignore")
        body = resv.plan_place("005930", 3, 70000).body
        with OrderJournal(tmp_path / "journal.sqlite3") as journal:
            entry_id = journal.record_intent(
                intent="place", tr_id="CTSC0008U", method="POST", path=PATH_PLACE, request=body
            )
            journal.mark_sent(entry_id)
            journal.complete(entry_id, outcome=Outcome.UNKNOWN, error="read timeout")
        resv.place_reservation("005930", 3, 70000)
    return entry_id


async def test_reconcile_reads_and_writes_the_journal_off_the_event_loop(
    emu: ServedEmulator, tmp_path: Path, spy: Spy
) -> None:
    entry_id = _unknown_place(emu, tmp_path)
    for name in ("__init__", "get", "credited", "mark_reconciled", "needs_reconcile"):
        spy.watch(OrderJournal, name)
    async with AsyncKISRestClient(make_config(emu, tmp_path)) as client:
        resv = AsyncReservations(client, clock=evening, window_policy="ignore")
        (result,) = await resv.reconcile_pending()
    assert result.entry_id == entry_id and result.verdict == "applied", result.detail
    # Every step ran (opened, listed the open entries, read the entry and the credited
    # reservations, recorded the verdict), and none of them on the event loop.
    assert spy.names() == {
        "OrderJournal.__init__",
        "OrderJournal.needs_reconcile",
        "OrderJournal.get",
        "OrderJournal.credited",
        "OrderJournal.mark_reconciled",
    }
    assert spy.on_loop() == []
    with OrderJournal(tmp_path / "journal.sqlite3") as journal:
        assert journal.get(entry_id).outcome is Outcome.RECONCILED_APPLIED


async def test_place_loads_the_calendar_cache_off_the_event_loop(
    emu: ServedEmulator, tmp_path: Path, spy: Spy
) -> None:
    spy.watch(KRXCalendar, "_read_cache")
    async with AsyncKISRestClient(make_config(emu, tmp_path)) as client:
        resv = AsyncReservations(client, clock=evening)
        # Open days (a weekend or holiday end date is refused): right on any date.
        end = emu.calendar.open_on_or_after(evening().date() + timedelta(days=7))
        later = emu.calendar.open_on_or_after(end + timedelta(days=1))
        receipt = await resv.place_reservation("005930", 1, 70000, end_date=end)
        await resv.modify_reservation(receipt.seq, end_date=later)
    assert receipt.seq
    assert spy.names() == {"KRXCalendar._read_cache"}
    assert spy.on_loop() == []


async def test_listing_loads_the_calendar_off_the_event_loop(
    emu: ServedEmulator, tmp_path: Path, spy: Spy
) -> None:
    # A period reservation KIS already sent, not filled: its status depends on the calendar
    # (is it still active?), so listing it loads the calendar.
    with KISRestClient(make_config(emu, tmp_path)) as client:
        resv = Reservations(client, clock=evening, window_policy="ignore")
        end = emu.calendar.open_on_or_after(evening().date() + timedelta(days=10))
        seq = resv.place_reservation("005930", 2, 70000, end_date=end).seq
    emu.process_day({seq: "unfilled"})
    spy.watch(KRXCalendar, "_read_cache")
    async with AsyncKISRestClient(make_config(emu, tmp_path)) as client:
        resv_async = AsyncReservations(client, clock=evening)
        rows = [r async for r in resv_async.list_reservations(seq=seq)]
    assert [r.seq for r in rows] == [seq] and rows[0].needs_as_of
    assert spy.names() == {"KRXCalendar._read_cache"}
    assert spy.on_loop() == []


async def test_the_file_rate_budget_is_taken_off_the_event_loop(
    emu: ServedEmulator, tmp_path: Path, spy: Spy
) -> None:
    # rate_limit 10: below the window check's cap, so ``admit`` reaches the budget too.
    async with AsyncKISRestClient(make_config(emu, tmp_path, rate_limit=10)) as client:
        budget = client.limiter.budget
        assert type(budget).__name__ == "FileBudget"  # the default: shared by the host's processes
        for name in ("reserve", "admit"):
            spy.watch(budget, name)
        resv = AsyncReservations(client, clock=evening)
        assert [r async for r in resv.list_reservations()] == []
    assert spy.names() == {"FileBudget.reserve", "FileBudget.admit"}
    assert spy.on_loop() == []


def test_the_blocking_api_does_the_same_io_in_place(
    emu: ServedEmulator, tmp_path: Path, spy: Spy
) -> None:
    """The blocking driver calls the same functions in its own thread (no hop, no loop)."""
    import threading

    entry_id = _unknown_place(emu, tmp_path)
    threads: list[int] = []
    original: Callable[..., Any] = OrderJournal.mark_reconciled

    def where(self: OrderJournal, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return original(self, *args, **kwargs)

    spy.monkeypatch.setattr(OrderJournal, "mark_reconciled", where)
    with KISRestClient(make_config(emu, tmp_path)) as client:
        result = Reservations(client, clock=evening).reconcile(entry_id)
    assert result.verdict == "applied"
    assert threads == [threading.get_ident()]
