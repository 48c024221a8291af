"""Reconcile with a client clock that is off (issue #18, finding 7).

A verdict must never rest on our clock and KIS's agreeing: the skew is measured from KIS's
``Date`` header (the emulator stamps its own clock there, as KIS does) and allowed for; where it
cannot be bounded the answer is "unknown", never "not applied".
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import KISRestClient, OrderOutcomeUnknownError
from stock_manager.adapters.broker.kis.reservations import Reservations
from stock_manager.adapters.broker.kis.reservations.models import KST, Reservation
from stock_manager.adapters.broker.kis.reservations.rules import _Rules
from stock_manager.adapters.broker.kis.skew import ClockSkew, SkewSample
from stock_manager.emulator import EmulatorConfig, run_emulator
from stock_manager.emulator.server import ServedEmulator
from stock_manager.journal import OrderJournal, Outcome

from .conftest import make_config

# Tuesday 18:00 KST (an open day's evening: inside the entry window), on the emulator's clock.
KIS_START = datetime(2026, 12, 8, 18, 0, tzinfo=KST)


class OffClock:
    """This machine's clock: the emulator's (KIS's) clock plus ``off``, plus a test shift."""

    def __init__(self, emu: ServedEmulator, off: timedelta) -> None:
        self.emu = emu
        self.off = off
        self.shift = timedelta()

    def now(self) -> datetime:
        return self.emu.clock.now() + self.off + self.shift

    def timestamp(self) -> float:
        return self.now().timestamp()


@pytest.fixture
def kis_emu() -> Iterator[ServedEmulator]:
    config = EmulatorConfig.demo(seed=7, rate_limit_per_s=None, start_at=KIS_START)
    with run_emulator(config) as e:
        yield e


@pytest.mark.parametrize(
    ("hours", "measure_first"),
    [(4, True), (-4, True), (4, False), (60 * 24, False), (-60 * 24, True)],
)
def test_a_client_clock_hours_off_gets_no_wrong_verdict(
    kis_emu: ServedEmulator, tmp_path: Path, hours: int, measure_first: bool
) -> None:
    # measure_first=False: the entry carries no skew (as one written by an older version) and
    # reconcile runs in a fresh process that has measured nothing, so its first listing is on
    # our calendar; 60 days off, that finds nothing, and it must list again on KIS's calendar
    # as measured by that first listing.
    off = OffClock(kis_emu, timedelta(hours=hours))
    journal = OrderJournal(tmp_path / "journal.sqlite3", clock=off.now)
    # The place is committed by KIS half a second later, after we stopped waiting.
    kis_emu.faults.add("order-resv", "late_commit", seconds=0.6)
    config = make_config(kis_emu, tmp_path, read_timeout=0.3)
    with (
        contextlib.ExitStack() as stack,
        KISRestClient(config, journal=journal, clock=off.timestamp) as client,
    ):
        resv = Reservations(client, clock=off.now, window_policy="ignore", settle_s=1)
        if measure_first:
            list(resv.list_reservations())  # an ordinary first call measures the skew
        with pytest.raises(OrderOutcomeUnknownError) as info:
            resv.place_reservation("005930", qty=7, price=70000, side="buy")
        entry_id = info.value.journal_id
        assert entry_id is not None
        deadline = time.monotonic() + 10
        while len(kis_emu.state.reservations) < 1:
            assert time.monotonic() < deadline, "the late commit never happened"
            time.sleep(0.02)
        off.shift = timedelta(seconds=5)  # past the settle window, on our own clock
        if not measure_first:
            journal._connection().execute(
                "UPDATE journal SET sent_skew_s = NULL WHERE id = ?", (entry_id,)
            )
            assert journal.get(entry_id).sent_skew_s is None
            fresh = stack.enter_context(KISRestClient(config, journal=journal, clock=off.timestamp))
            resv = Reservations(fresh, clock=off.now, window_policy="ignore", settle_s=1)
        result = resv.reconcile(entry_id)
        assert result.verdict == "applied", result
        assert result.clock_skew_s is not None
        assert abs(result.clock_skew_s - (hours * 3600 + 5)) < 3  # the shift included
        assert journal.get(entry_id).outcome is Outcome.RECONCILED_APPLIED
    journal.close()


def test_the_skew_is_measured_from_the_date_header(kis_emu: ServedEmulator, tmp_path: Path) -> None:
    off = OffClock(kis_emu, timedelta(hours=4, minutes=7))
    with KISRestClient(make_config(kis_emu, tmp_path), clock=off.timestamp) as client:
        mark = client.skew.mark()
        assert client.skew.since(mark) is None
        list(Reservations(client, clock=off.now).list_reservations())
        sample = client.skew.since(mark)
        assert sample is not None
        assert sample.low <= (4 * 60 + 7) * 60 <= sample.high + 1
        assert sample.high - sample.low < 3  # the Date's second plus the round trip
        assert "4h07m" in sample.describe() and "ahead of" in sample.describe()


# --- the verdict rules on their own ------------------------------------------------------------
@dataclass
class _Entry:
    id: int
    intent: str
    request: dict[str, Any]
    last_sent_at: datetime
    sent_skew_s: float | None = None


def _row(seq: str, received: datetime) -> Reservation:
    return Reservation.from_row(
        {
            "rsvn_ord_seq": seq,
            "pdno": "005930",
            "ord_rsvn_qty": "7",
            "ord_rsvn_unpr": "70000",
            "sll_buy_dvsn_cd": "02",
            "ord_dvsn_cd": "00",
            "rsvn_ord_rcit_dt": received.strftime("%Y%m%d"),
            "rsvn_ord_rcit_tmd": received.strftime("%H%M%S"),
        }
    )


REQUEST = {
    "PDNO": "005930",
    "ORD_QTY": "7",
    "ORD_UNPR": "70000",
    "SLL_BUY_DVSN_CD": "02",
    "ORD_DVSN_CD": "00",
}


def _judge(rows: list[Reservation], skew: SkewSample | None, sent_skew: float | None = None) -> Any:
    plans = _Rules.__new__(_Rules)  # judge reads nothing of the client
    sent = KIS_START + timedelta(hours=4)  # our clock, 4 h ahead of KIS's
    entry = _Entry(1, "place", REQUEST, sent, sent_skew)
    judge: Callable[..., Any] = plans.judge
    return judge(entry, rows, credited={}, settled=True, retry_at=None, skew=skew)


def test_without_any_skew_measurement_a_match_is_unknown_not_a_guess() -> None:
    received = KIS_START + timedelta(seconds=1)
    result = _judge([_row("1", received)], None)
    assert result.verdict == "unknown" and result.candidates == ("1",)
    assert "no Date" in result.detail


def test_without_any_skew_measurement_an_empty_book_is_not_applied() -> None:
    result = _judge([], None)
    assert result.verdict == "not_applied"


def test_the_skew_known_at_the_send_counts_when_the_clocks_moved_since() -> None:
    # KIS's clock stepped 10 minutes ahead after the send: today's measurement alone would put
    # the send after the receipt; the bound recorded at the send keeps the match.
    received = KIS_START + timedelta(seconds=1)
    now_sample = SkewSample(4 * 3600 - 600 - 1, 4 * 3600 - 600, 0.0, 1)
    assert _judge([_row("1", received)], now_sample).verdict == "not_applied"
    assert _judge([_row("1", received)], now_sample, 4 * 3600.0).verdict == "applied"


def test_a_date_header_that_cannot_be_read_is_no_measurement() -> None:
    skew = ClockSkew()
    mark = skew.mark()
    skew.observe("not a date", 1.0, 2.0)
    skew.observe(None, 1.0, 2.0)
    skew.observe("Tue, 08 Dec 2026 09:00:00 GMT", 5.0, 4.0)  # our clock stepped back
    assert skew.since(mark) is None
