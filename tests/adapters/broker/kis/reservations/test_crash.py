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
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import KISRestClient, OrderOutcomeUnknownError
from stock_manager.adapters.broker.kis.reservations import Reservations
from stock_manager.emulator.server import ServedEmulator
from stock_manager.journal import OrderJournal, Outcome

from .conftest import evening, make_config

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
