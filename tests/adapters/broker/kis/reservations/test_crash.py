"""A process killed between journal intent and completion leaves a pending entry that
``reconcile`` resolves from the broker's state."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import KISRestClient, OrderOutcomeUnknownError
from stock_manager.adapters.broker.kis.reservations import Reservations
from stock_manager.emulator.server import ServedEmulator
from stock_manager.journal import OrderJournal, Outcome

from .conftest import ShiftClock, evening, make_config

CHILD = textwrap.dedent(
    """
    import sys
    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
    from stock_manager.adapters.broker.kis.reservations import Reservations
    base_url, key, secret, account, cache, journal = sys.argv[1:7]
    cfg = KISConfig(kis_app_key=key, kis_app_secret=secret, kis_account_no=account,
                    base_url=base_url, token_cache_dir=cache, journal_path=journal,
                    read_timeout=60)
    Reservations(KISRestClient(cfg), window_policy="ignore").place_reservation(
        "035420", qty=11, price=210000, side="buy")
    print("completed")  # never reached: the parent kills us mid-request
    """
)


def test_killed_mid_request_leaves_pending_entry_that_reconcile_resolves(
    emu: ServedEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal_path = tmp_path / "journal.sqlite3"
    # The emulator commits the reservation, then holds the reply: the child dies waiting.
    emu.faults.add("order-resv", "hang", seconds=30, commit=True)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            emu.base_url,
            emu.config.app_key,
            emu.config.app_secret,
            emu.config.account,
            str(tmp_path / "tokens"),
            str(journal_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while emu.requests.count(name="order-resv") == 0:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "child never reached the emulator"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert b"completed" not in (child.stdout.read() if child.stdout else b"")

    with OrderJournal(journal_path) as journal:
        (pending,) = journal.pending()
        assert pending.intent == "place" and pending.pid == child.pid

    with KISRestClient(make_config(emu, tmp_path)) as client:
        with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
            assert client.journal is not None  # opening the journal reports the stale entry
        assert f"ids {pending.id}" in caplog.text
        assert "reconcile" in caplog.text
        (result,) = Reservations(client, clock=evening).reconcile_pending()
        assert result.applied is True
        assert result.reservation is not None and result.reservation.qty == 11
        assert client.journal is not None
        assert client.journal.get(pending.id).outcome is Outcome.RECONCILED_APPLIED
        assert client.journal.pending() == []


def test_in_flight_entry_of_a_live_process_is_not_reconciled(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    # Before: reconcile_pending() judged another thread's in-flight order "not applied", and
    # the order's own completion then failed on the closed journal entry.
    emu.faults.add("order-resv", "hang", seconds=1.5, commit=True)
    outcome: list[BaseException] = []
    with KISRestClient(make_config(emu, tmp_path, read_timeout=10)) as client:
        resv = Reservations(client, clock=evening)

        def place() -> None:
            try:
                resv.place_reservation("005930", qty=3, price=70000)
            except BaseException as exc:  # recorded for the assertion below
                outcome.append(exc)

        worker = threading.Thread(target=place)
        worker.start()
        deadline = time.monotonic() + 10
        while emu.requests.count(name="order-resv") == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (busy,) = resv.reconcile_pending()
        assert busy.applied is None
        assert "in flight" in busy.detail
        assert client.journal is not None
        assert client.journal.get(busy.entry_id).outcome is Outcome.PENDING
        forced = resv.reconcile(busy.entry_id, force=True)  # the user insists
        assert forced.applied is True  # the emulator committed before holding the reply
        worker.join(timeout=20)
    # The caller still learns what happened to its own request; the journal did not hide it.
    assert len(outcome) == 1
    assert isinstance(outcome[0], OrderOutcomeUnknownError)


# --- finding 1: reconcile must not say "not applied" while KIS may still be working ---------
def test_reconcile_right_after_a_timeout_is_not_final_and_later_sees_the_late_commit(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    # Before: delay 3 s (committed after it), read timeout 1 s → reconcile at once said
    # applied=False and closed the entry; the reservation landed 2 s later.
    emu.faults.add("order-resv", "delay", seconds=1.5)
    clock = ShiftClock()
    journal = OrderJournal(tmp_path / "journal.sqlite3", clock=clock)
    with KISRestClient(make_config(emu, tmp_path, read_timeout=0.5), journal=journal) as client:
        resv = Reservations(client, clock=evening)
        with pytest.raises(OrderOutcomeUnknownError) as info:
            resv.place_reservation("035720", qty=4, price=50000)
        entry_id = info.value.journal_id or 0
        first = resv.reconcile(entry_id)
        assert first.applied is None, first  # still unknown, never "not applied"
        assert first.retry_at is not None and "ask again after" in first.detail
        assert journal.get(entry_id).outcome is Outcome.UNKNOWN  # left open
        deadline = time.monotonic() + 10
        while not any(r["pdno"] == "035720" for r in emu.state.snapshot()["reservations"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = resv.reconcile(entry_id)
        assert second.applied is True
        assert journal.get(entry_id).outcome is Outcome.RECONCILED_APPLIED
        assert journal.get(entry_id).reference == second.reservation.seq  # type: ignore[union-attr]
    journal.close()


def test_settle_window_counts_from_the_last_send_and_is_configurable(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    emu.faults.add("order-resv", "reset_before")
    clock = ShiftClock()
    journal = OrderJournal(tmp_path / "journal.sqlite3", clock=clock)
    with KISRestClient(make_config(emu, tmp_path, read_timeout=2), journal=journal) as client:
        resv = Reservations(client, clock=evening, settle_s=45)
        with pytest.raises(OrderOutcomeUnknownError) as info:
            resv.place_reservation("035720", qty=4, price=50000)
        entry = journal.get(info.value.journal_id or 0)
        assert entry.sent_at is not None and entry.sent_at >= entry.created_at
        early = resv.reconcile(entry.id)
        assert early.retry_at == entry.sent_at + timedelta(seconds=2 + 45)
        clock.advance(46)  # 1 s short of the window
        assert resv.reconcile(entry.id).applied is None
        clock.advance(2)
        late = resv.reconcile(entry.id)
        assert late.applied is False and late.verdict == "not_applied"
    journal.close()


# --- finding 2: a place is matched only to a reservation that can be its own --------------------
def test_unknown_place_is_not_credited_with_an_earlier_identical_reservation(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    # Before: an identical reservation placed a moment earlier (within the 300 s slack) was
    # reported as "placed as reservation <earlier seq>" though the unknown place never landed.
    clock = ShiftClock()
    journal = OrderJournal(tmp_path / "journal.sqlite3", clock=clock)
    with KISRestClient(make_config(emu, tmp_path), journal=journal) as client:
        resv = Reservations(client, clock=evening)
        earlier = resv.place_reservation("005930", qty=3, price=70000)
        emu.faults.add("order-resv", "reset_before")
        with pytest.raises(OrderOutcomeUnknownError) as info:
            resv.place_reservation("005930", qty=3, price=70000)
        entry_id = info.value.journal_id or 0
        assert resv.reconcile(entry_id).applied is None
        clock.advance(client.config.read_timeout + resv.settle_s + 1)
        result = resv.reconcile(entry_id)
        assert result.applied is False, result
        assert earlier.seq not in result.detail
    journal.close()


def test_two_candidate_reservations_stay_unknown_and_are_both_listed(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    clock = ShiftClock()
    journal = OrderJournal(tmp_path / "journal.sqlite3", clock=clock)
    with KISRestClient(make_config(emu, tmp_path), journal=journal) as client:
        resv = Reservations(client, clock=evening)
        emu.faults.add("order-resv", "reset_after")
        with pytest.raises(OrderOutcomeUnknownError) as info:
            resv.place_reservation("005930", qty=3, price=70000)
        # An identical reservation from somewhere the journal does not know (HTS, another
        # machine) lands right after: either could be ours.
        other = KISRestClient(make_config(emu, tmp_path, journal=False))
        with other:
            Reservations(other, clock=evening).place_reservation("005930", qty=3, price=70000)
        clock.advance(client.config.read_timeout + resv.settle_s + 1)
        result = resv.reconcile(info.value.journal_id or 0)
        assert result.applied is None and result.retry_at is None
        assert len(result.candidates) == 2
        assert all(seq in result.detail for seq in result.candidates)
        assert journal.get(info.value.journal_id or 0).needs_reconcile
    journal.close()


def test_reconcile_pending_after_kill_9_waits_for_the_settle_window(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    # Before: `resv reconcile --pending` 0.5 s after a kill -9 of the sender said "not applied"
    # for a request that KIS then processed.
    emu.faults.add("order-resv", "delay", seconds=2.0)
    journal_path = tmp_path / "journal.sqlite3"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            emu.base_url,
            emu.config.app_key,
            emu.config.app_secret,
            emu.config.account,
            str(tmp_path / "tokens"),
            str(journal_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _sent(journal_path):
            assert child.poll() is None
            assert time.monotonic() < deadline, "child never sent its order"
            time.sleep(0.05)
        time.sleep(0.2)  # the request is on its way to (or sitting in) the emulator
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    with KISRestClient(make_config(emu, tmp_path)) as client:
        (result,) = Reservations(client, clock=evening).reconcile_pending()
        assert result.applied is None and result.retry_at is not None, result
        assert client.journal is not None
        assert client.journal.get(result.entry_id).outcome is Outcome.PENDING


def _sent(path: Path) -> bool:
    if not path.exists():
        return False
    with OrderJournal(path) as journal:
        return any(e.sent_at is not None for e in journal.pending())
