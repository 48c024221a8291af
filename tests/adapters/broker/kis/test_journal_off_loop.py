"""The async client writes the order journal off its event loop (issue #19).

A journal write is a synced SQLite commit that may wait up to the busy timeout (10 s) for
another process's write transaction. Each test holds one write until the event loop proves it
still turns: a ticker task on the loop releases it. Were the write made on the loop, the
ticker could not run, the hold would end only at its (generous) deadline, and the test fails.
Nothing here measures time: the hold ends on an event, the deadline only bounds a failure.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISRestClient
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter
from stock_manager.journal import OrderJournal, Outcome

from ._support import ORDER_PARAMS, RESV, FakeClock, FakeKIS, kis_json
from .conftest import make_config

#: Only bounds a failing run: a passing one releases the hold as soon as the loop turns.
DEADLINE_S = 10.0


class _Hold:
    """A journal write held until the event loop turns (or the deadline passes)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.released_by_loop: bool | None = None

    def wait(self) -> None:
        self.entered.set()
        self.released_by_loop = self.release.wait(DEADLINE_S)


async def _ticker(hold: _Hold) -> None:
    """The event loop's heartbeat: release the hold once the write is under way."""
    while not hold.entered.is_set():
        await asyncio.sleep(0.001)
    hold.release.set()


class _HeldJournal(OrderJournal):
    """An order journal whose ``method`` write waits on ``hold`` first."""

    def __init__(self, path: Path, method: str, hold: _Hold) -> None:
        super().__init__(path)
        self._held, self._hold = method, hold

    def _maybe_hold(self, method: str) -> None:
        if method == self._held and not self._hold.entered.is_set():
            self._hold.wait()

    def record_intent(self, **kw: Any) -> int:
        self._maybe_hold("record_intent")
        return super().record_intent(**kw)

    def mark_sent(self, entry_id: int, *, skew_s: float | None = None) -> None:
        self._maybe_hold("mark_sent")
        super().mark_sent(entry_id, skew_s=skew_s)

    def complete(self, entry_id: int, **kw: Any) -> None:
        self._maybe_hold("complete")
        super().complete(entry_id, **kw)


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


def _client(tmp_path: Path, fake: FakeKIS, journal: OrderJournal) -> AsyncKISRestClient:
    clock = FakeClock()
    return AsyncKISRestClient(
        make_config(tmp_path),
        transport=fake.transport,
        clock=clock,
        limiter=RateLimiter(1e9, margin=0, clock=clock),
        journal=journal,
    )


async def _place_with_ticker(client: AsyncKISRestClient, hold: _Hold) -> Any:
    ticker = asyncio.create_task(_ticker(hold))
    try:
        return await client.make_request("POST", RESV, ORDER_PARAMS)
    finally:
        ticker.cancel()


@pytest.mark.parametrize("method", ["record_intent", "mark_sent", "complete"])
async def test_a_slow_journal_write_does_not_stall_the_event_loop(
    tmp_path: Path, fake: FakeKIS, journal_path: Path, method: str
) -> None:
    fake.script(RESV, kis_json(output={"RSVN_ORD_SEQ": "7"}))
    hold = _Hold()
    with _HeldJournal(journal_path, method, hold) as journal:
        client = _client(tmp_path, fake, journal)
        try:
            response = await _place_with_ticker(client, hold)
        finally:
            await client.aclose()
        assert hold.released_by_loop is True, f"{method} blocked the event loop"
        entry = journal.get(response.journal_id)
        assert entry.outcome is Outcome.OK
        assert entry.sent_at is not None
        assert entry.reference == "7"


async def test_a_journal_locked_by_another_writer_does_not_stall_the_event_loop(
    tmp_path: Path, fake: FakeKIS, journal_path: Path
) -> None:
    """The real thing: another connection holds the write lock while the intent is written."""
    fake.script(RESV, kis_json(output={"RSVN_ORD_SEQ": "8"}))
    hold = _Hold()
    locked = threading.Event()

    def other_writer() -> None:
        # Its own connection, as another process would have: BEGIN IMMEDIATE takes the write
        # lock, and the journal's BEGIN IMMEDIATE waits on it (busy timeout 10 s). It lets go
        # once the event loop turned while the journal waited.
        conn = sqlite3.connect(journal_path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            hold.released_by_loop = hold.release.wait(DEADLINE_S)
            conn.execute("COMMIT")
        finally:
            conn.close()

    class _Watched(OrderJournal):
        def record_intent(self, **kw: Any) -> int:
            assert locked.wait(DEADLINE_S)
            hold.entered.set()  # the write is under way: it now waits on the lock
            return super().record_intent(**kw)

    with _Watched(journal_path) as journal:
        writer = threading.Thread(target=other_writer, daemon=True)
        writer.start()
        client = _client(tmp_path, fake, journal)
        try:
            response = await _place_with_ticker(client, hold)
        finally:
            await client.aclose()
            writer.join(DEADLINE_S)
        assert hold.released_by_loop is True, "the locked journal blocked the event loop"
        assert journal.get(response.journal_id).outcome is Outcome.OK


@pytest.mark.parametrize("method", ["record_intent", "mark_sent"])
async def test_cancelled_during_a_journal_write_closes_the_entry_not_sent(
    tmp_path: Path, fake: FakeKIS, journal_path: Path, method: str
) -> None:
    """The driver lets the write finish, then the flow closes the entry: nothing was sent."""
    hold = _Hold()
    with _HeldJournal(journal_path, method, hold) as journal:
        client = _client(tmp_path, fake, journal)
        try:
            task = asyncio.create_task(client.make_request("POST", RESV, ORDER_PARAMS))
            while not hold.entered.is_set():
                await asyncio.sleep(0.001)
            task.cancel()
            await asyncio.sleep(0)  # the cancellation reaches the driver, which waits
            hold.release.set()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await client.aclose()
        assert fake.api_count() == 0
        [entry] = journal.entries()
        assert entry.outcome is Outcome.NOT_SENT
        assert entry.error == "interrupted: GeneratorExit"
        assert journal.needs_reconcile() == []


def test_the_blocking_client_writes_in_place(
    tmp_path: Path, fake: FakeKIS, journal_path: Path
) -> None:
    """No thread hop for the blocking client: the write happens in the caller's thread."""
    threads: list[int] = []

    class _Where(OrderJournal):
        def mark_sent(self, entry_id: int, *, skew_s: float | None = None) -> None:
            threads.append(threading.get_ident())
            super().mark_sent(entry_id, skew_s=skew_s)

    clock = FakeClock()
    with (
        _Where(journal_path) as journal,
        KISRestClient(
            make_config(tmp_path),
            transport=fake.transport,
            clock=clock,
            limiter=RateLimiter(1e9, margin=0, clock=clock),
            journal=journal,
        ) as client,
    ):
        client.make_request("POST", RESV, ORDER_PARAMS)
    assert threads == [threading.get_ident()]
