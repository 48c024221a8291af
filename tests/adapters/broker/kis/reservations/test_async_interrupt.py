"""A cancelled async bulk cancel leaves the same truth as Ctrl-C in the blocking one (issue
#22, item 14, for library users of :class:`AsyncReservations`).

Twelve reservations, four cancels at a time; cancels 5-8 are held by the emulator (a delay
fault) so they are on their way when the task is cancelled, and 9-12 are waiting for a slot.
What must hold: the task ends cancelled (``CancelledError``, or ``TimeoutError`` under
``asyncio.timeout``), ``BulkInterrupted.of(exc).result`` says per item what happened, and the
journal and the emulator's book agree with it — nothing done is lost, nothing not started was
sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISRestClient
from stock_manager.adapters.broker.kis.reservations import (
    AsyncReservations,
    BulkCancelResult,
    BulkInterrupted,
    Reservations,
)
from stock_manager.emulator.faults import Fault
from stock_manager.emulator.server import ServedEmulator
from stock_manager.journal import Outcome

from .conftest import evening, make_config

N, AT_A_TIME = 12, 4


def _place(emu: ServedEmulator, tmp_path: Path) -> list[str]:
    with KISRestClient(make_config(emu, tmp_path, journal=False)) as setup:
        placer = Reservations(setup, clock=evening)
        return [placer.place_reservation("005930", 1 + i, 70000).seq for i in range(N)]


def _book(emu: ServedEmulator, tmp_path: Path) -> dict[str, bool]:
    """seq -> cancelled, as the emulator's reservation list says."""
    with KISRestClient(make_config(emu, tmp_path, journal=False)) as reader:
        rows = Reservations(reader, clock=evening).list_reservations(include_cancelled=True)
        return {r.seq: r.cancelled for r in rows}


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(600):  # counted polls, no deadline on a clock (faketime)
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never came true")


def _run(
    emu: ServedEmulator,
    tmp_path: Path,
    seqs: list[str],
    interrupt: Callable[[asyncio.Task[Any], Fault], Any],
    delay_s: float,
) -> tuple[BaseException, BulkCancelResult, list[Any], list[int]]:
    held = emu.faults.add("order-resv-rvsecncl", "delay", range(5, 9), seconds=delay_s)
    done: list[int] = []

    async def main() -> tuple[BaseException, list[Any]]:
        cfg = make_config(emu, tmp_path, read_timeout=30.0)
        async with AsyncKISRestClient(cfg) as client:
            resv = AsyncReservations(client, clock=evening, concurrency=AT_A_TIME)
            task = asyncio.ensure_future(
                resv.cancel_reservations(seqs=seqs, progress=lambda d, t, i: done.append(d))
            )
            await _until(lambda: held.fired == AT_A_TIME)  # 1-4 done, 5-8 on their way
            try:
                await interrupt(task, held)
            except BaseException as exc:  # the exception is what is checked
                assert client.journal is not None
                return exc, client.journal.entries()
            raise AssertionError("the bulk cancel was not interrupted")

    exc, entries = asyncio.run(main())
    stop = BulkInterrupted.of(exc)
    assert stop is not None, repr(exc)
    return exc, stop.result, entries, done


def test_cancelled_task_lets_the_cancels_on_their_way_finish(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    seqs = _place(emu, tmp_path)

    async def cancel_once(task: asyncio.Task[Any], held: Fault) -> None:
        task.cancel()
        await task

    exc, result, entries, done = _run(emu, tmp_path, seqs, cancel_once, delay_s=1.0)
    assert isinstance(exc, asyncio.CancelledError)  # the task ended cancelled
    by_seq = {i.seq: i for i in result.items}
    assert [i.seq for i in result.items] == seqs
    # 1-8 cancelled (5-8 were let finish), 9-12 never sent.
    assert [by_seq[s].ok for s in seqs] == [True] * 8 + [False] * 4
    assert [by_seq[s].started for s in seqs] == [True] * 8 + [False] * 4
    assert (result.succeeded, result.not_started, result.unknown) == (8, 4, 0)
    assert sorted(done) == list(range(1, 9))
    # The journal: one entry per request sent, each OK; none for the ones not started.
    assert sorted(e.reference for e in entries) == sorted(seqs[:8])
    assert {e.outcome for e in entries} == {Outcome.OK}
    assert [by_seq[s].journal_id for s in seqs[:8]] == [
        next(e.id for e in entries if e.reference == s) for s in seqs[:8]
    ]
    # The book: exactly the ones the result calls cancelled are cancelled.
    book = _book(emu, tmp_path)
    assert {s for s in seqs if book[s]} == set(seqs[:8])
    assert emu.requests.count(name="order-resv-rvsecncl") == 8


def test_asyncio_timeout_gives_timeout_error_with_the_result(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    seqs = _place(emu, tmp_path)

    held = emu.faults.add("order-resv-rvsecncl", "delay", range(5, 9), seconds=1.0)

    async def main() -> tuple[BaseException, list[Any]]:
        cfg = make_config(emu, tmp_path, read_timeout=30.0)
        async with AsyncKISRestClient(cfg) as client:
            resv = AsyncReservations(client, clock=evening, concurrency=AT_A_TIME)
            try:
                async with asyncio.timeout(None) as deadline:

                    async def arm() -> None:  # the deadline falls when 5-8 are on their way
                        await _until(lambda: held.fired == AT_A_TIME)
                        deadline.reschedule(asyncio.get_running_loop().time())

                    arming = asyncio.ensure_future(arm())
                    await resv.cancel_reservations(seqs=seqs)
            except BaseException as exc:  # the exception is what is checked
                await arming
                assert client.journal is not None
                return exc, client.journal.entries()
            raise AssertionError("the bulk cancel was not interrupted")

    exc, entries = asyncio.run(main())
    assert isinstance(exc, TimeoutError), repr(exc)
    stop = BulkInterrupted.of(exc)
    assert stop is not None, repr(exc)
    result = stop.result
    assert (result.succeeded, result.not_started, result.unknown) == (8, 4, 0)
    assert sorted(e.reference for e in entries) == sorted(seqs[:8])
    book = _book(emu, tmp_path)
    assert {s for s in seqs if book[s]} == {i.seq for i in result.items if i.ok}


def test_a_second_cancel_leaves_the_ones_on_their_way_unknown_and_journaled(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    seqs = _place(emu, tmp_path)

    async def cancel_twice(task: asyncio.Task[Any], held: Fault) -> None:
        task.cancel()
        await asyncio.sleep(0.1)  # the task now waits for the four on their way
        task.cancel()
        await task

    exc, result, entries, _ = _run(emu, tmp_path, seqs, cancel_twice, delay_s=3.0)
    assert isinstance(exc, asyncio.CancelledError)
    by_seq = {i.seq: i for i in result.items}
    assert [by_seq[s].ok for s in seqs] == [True] * 4 + [None] * 4 + [False] * 4
    assert (result.succeeded, result.unknown, result.not_started) == (4, 4, 4)
    outcome = {e.reference: e.outcome for e in entries}
    assert set(outcome) == set(seqs[:8])  # every request sent is journaled, never lost
    assert [outcome[s] for s in seqs[:4]] == [Outcome.OK] * 4
    assert [outcome[s] for s in seqs[4:8]] == [Outcome.UNKNOWN] * 4  # reconcile will tell
    book = _book(emu, tmp_path)
    assert {s for s in seqs[:4] if book[s]} == set(seqs[:4])
    assert not any(book[s] for s in seqs[8:])  # the ones not started are untouched
