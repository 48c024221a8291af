"""Dates decided by the KRX calendar: window, order date, end date (snap/refuse), window errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import KISBusinessError, KISRestClient, KISValidationError
from stock_manager.adapters.broker.kis.errors import (
    OutsideReservationWindowError,
    ReservationWindowError,
)
from stock_manager.adapters.broker.kis.reservations import Reservations
from stock_manager.adapters.broker.kis.reservations.schedule import as_window_error, plan_schedule
from stock_manager.calendar import KST, bundled_calendar
from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator

from .conftest import make_config


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=KST)


CAL = bundled_calendar()


# --- pure schedule ------------------------------------------------------------------------------
def test_friday_evening_is_sent_monday() -> None:
    s = plan_schedule(CAL, at("2026-11-27 18:00"))
    assert s.order_date == date(2026, 11, 30) and s.kind == "one-day"
    assert s.describe() == "one-day reservation (일반예약): sent on 2026-11-30 only"
    assert s.source == "bundled"


def test_year_end_evening_is_sent_on_the_late_first_day() -> None:
    s = plan_schedule(CAL, at("2026-12-30 18:00"))
    assert s.order_date == date(2027, 1, 4)
    assert "late session: opens 10:00" in s.describe()


def test_end_date_on_dec_31_snaps_back_or_is_refused() -> None:
    now = at("2026-12-01 18:00")
    s = plan_schedule(CAL, now, end_date=date(2026, 12, 31))
    assert s.end_date == date(2026, 12, 30) and s.requested_end_date == date(2026, 12, 31)
    assert any("not an open day" in w and "2026-12-30" in w for w in s.warnings)
    assert s.describe() == (
        "period reservation (기간예약): every open day from 2026-12-02 until 2026-12-30"
    )
    with pytest.raises(KISValidationError, match="2026-12-31 is not an open day"):
        plan_schedule(CAL, now, end_date=date(2026, 12, 31), policy="refuse")


def test_end_date_on_a_sunday_snaps_back_to_friday() -> None:
    s = plan_schedule(CAL, at("2026-11-25 18:00"), end_date=date(2026, 12, 13))
    assert s.end_date == date(2026, 12, 11)
    with pytest.raises(KISValidationError, match="weekend"):
        plan_schedule(CAL, at("2026-11-25 18:00"), end_date=date(2026, 12, 13), policy="refuse")


def test_thirty_days_count_from_the_next_business_day() -> None:
    now = at("2026-11-27 18:00")  # Friday: next business day Monday 11-30
    ok = plan_schedule(CAL, now, end_date=date(2026, 12, 30), policy="refuse")
    assert ok.end_date == date(2026, 12, 30) and ok.max_end_date == date(2026, 12, 30)
    # One day further: 12-31 is past the limit (and closed): snapped to 12-30.
    snapped = plan_schedule(CAL, now, end_date=date(2027, 1, 8))
    assert snapped.end_date == date(2026, 12, 30)
    with pytest.raises(KISValidationError, match="more than 30 days"):
        plan_schedule(CAL, now, end_date=date(2027, 1, 8), policy="refuse")


def test_days_counts_open_days() -> None:
    now = at("2026-12-28 18:00")
    s = plan_schedule(CAL, now, days=3)  # 12-29, 12-30, (12-31 and 1-1 closed) 1-4
    assert (s.order_date, s.end_date) == (date(2026, 12, 29), date(2027, 1, 4))
    one = plan_schedule(CAL, now, days=1)
    assert one.kind == "one-day" and one.end_date is None
    with pytest.raises(KISValidationError, match="not both"):
        plan_schedule(CAL, now, end_date=date(2027, 1, 4), days=2)


def test_end_dates_that_cannot_be_fixed() -> None:
    now = at("2026-11-27 18:00")
    with pytest.raises(KISValidationError, match="after today"):
        plan_schedule(CAL, now, end_date=date(2026, 11, 27))
    with pytest.raises(KISValidationError, match="before the order date"):
        plan_schedule(CAL, now, end_date=date(2026, 11, 28))  # Saturday, order date Monday


# --- KIS's window refusals ----------------------------------------------------------------------
def test_kier3672_maps_to_one_window_error() -> None:
    exc = KISBusinessError(
        "refused",
        msg_cd="KIER3672",
        msg1="예약주문은 16:40분 이후부터 익영업일 08:30분까지만 가능합니다",
        rt_cd="1",
    )
    err = as_window_error(exc)
    assert isinstance(err, ReservationWindowError) and isinstance(err, KISBusinessError)
    assert (err.starts, err.ends, err.window) == ("16:40", "08:30", "16:40 ~ 08:30")
    assert err.reached_server is True
    other = KISBusinessError("x", msg_cd="APBK0919", msg1="주문가능금액을 초과 하였습니다")
    assert as_window_error(other) is None


# --- through the client, frozen clocks ----------------------------------------------------------
@pytest.fixture
def frozen_emu(request: pytest.FixtureRequest) -> Iterator[ServedEmulator]:
    now: datetime = request.param
    config = EmulatorConfig.demo(
        seed=7, rate_limit_per_s=None, clock=lambda: now, enforce_window=True
    )
    with run_emulator(config) as e:
        yield e


@pytest.mark.parametrize("frozen_emu", [at("2026-11-27 18:00")], indirect=True)
def test_receipt_names_the_order_date(frozen_emu: ServedEmulator, tmp_path: Path) -> None:
    with KISRestClient(make_config(frozen_emu, tmp_path)) as c:
        r = Reservations(c, clock=lambda: at("2026-11-27 18:00"))
        receipt = r.place_reservation("005930", 1, 70000, end_date=date(2026, 12, 13))
    assert receipt.order_date == date(2026, 11, 30)
    assert receipt.end_date == date(2026, 12, 11)  # Sunday snapped back to Friday
    assert receipt.schedule.startswith("period reservation (기간예약)")
    assert any("moved back to 2026-12-11" in w for w in receipt.warnings)
    assert frozen_emu.state.reservations[int(receipt.seq)].end_dt == "20261211"


@pytest.mark.parametrize("frozen_emu", [at("2026-11-27 18:00")], indirect=True)
@pytest.mark.parametrize("when", ["2026-11-28 12:00", "2026-11-28 23:50"])
def test_saturday_noon_and_blackout_are_refused_before_sending(
    frozen_emu: ServedEmulator, tmp_path: Path, when: str
) -> None:
    with KISRestClient(make_config(frozen_emu, tmp_path)) as c:
        r = Reservations(c, window_policy="refuse", clock=lambda: at(when))
        with pytest.raises(OutsideReservationWindowError) as info:
            r.place_reservation("005930", 1, 70000)
        warned = Reservations(c, window_policy="warn", clock=lambda: at(when))
        plan = warned.plan_place("005930", 1, 70000, offline=True)
    assert info.value.reached_server is False
    assert plan.warnings and "outside the reservation window" in plan.warnings[0]
    assert frozen_emu.requests.count(name="order-resv") == 0


@pytest.mark.parametrize("frozen_emu", [at("2026-11-25 12:00")], indirect=True)
def test_window_rejection_from_the_server_is_a_window_error(
    frozen_emu: ServedEmulator, tmp_path: Path
) -> None:
    with KISRestClient(make_config(frozen_emu, tmp_path)) as c:
        r = Reservations(c, window_policy="ignore", clock=lambda: at("2026-11-25 12:00"))
        with pytest.raises(ReservationWindowError) as info:
            r.place_reservation("005930", 1, 70000)
    assert info.value.starts == "15:40" and info.value.ends == "07:30"
    assert info.value.msg_cd == "KIER3672"


def test_csat_day_window_is_shifted() -> None:
    """On the 수능 day 16:15 is refused locally (KIS said KIER3672 '16:40' that day)."""
    cal = bundled_calendar()
    assert cal.window(at("2026-11-19 16:15")).inside is False
    assert cal.window(at("2026-11-19 16:45")).inside is True
    assert cal.window(at("2026-11-18 16:15")).inside is True  # an ordinary day
    assert cal.order_date(at("2026-11-18 18:00")).late  # sent on the 수능 day, opening 10:00


def test_check_window_helper_uses_the_calendar() -> None:
    from stock_manager.adapters.broker.kis.reservations import check_window

    assert check_window(at("2026-11-28 12:00")) is not None  # Saturday noon
    assert check_window(at("2026-11-27 18:00")) is None
    assert check_window(at("2026-12-31 18:00")) is not None  # year-end holiday evening


def test_order_date_near_today_is_not_in_the_past() -> None:
    now = datetime.now(KST)
    s = plan_schedule(CAL, now)
    assert s.order_date >= now.date()
    assert s.order_date <= now.date() + timedelta(days=10)


@pytest.mark.parametrize("frozen_emu", [at("2026-11-25 18:00")], indirect=True)
def test_kis_announced_closure_moves_the_end_date(
    frozen_emu: ServedEmulator, tmp_path: Path
) -> None:
    """An ad-hoc closure only KIS knows: its calendar answer (source kis, then cache) wins."""
    import httpx

    with httpx.Client(base_url=frozen_emu.base_url) as http:
        http.post("/_emulator/calendar", json={"closed": ["2026-12-04"]})
    clock = lambda: at("2026-11-25 18:00")  # noqa: E731
    with KISRestClient(make_config(frozen_emu, tmp_path)) as c:
        receipt = Reservations(c, clock=clock).place_reservation(
            "005930", 1, 70000, end_date=date(2026, 12, 4)
        )
        assert receipt.end_date == date(2026, 12, 3)
        assert any("source kis" in w for w in receipt.warnings)
        calls = frozen_emu.requests.count(name="chk-holiday")
        assert calls == 2  # one call covers 24 days: two reach 30+ days ahead
        # A second client (another process) the same day reads the cache: no new call.
        again = Reservations(c, clock=clock).schedule(date(2026, 12, 4))
        assert again.end_date == date(2026, 12, 3)
        assert any("source cache" in w for w in again.warnings)
        assert frozen_emu.requests.count(name="chk-holiday") == calls


@pytest.mark.parametrize("frozen_emu", [at("2026-11-27 18:00")], indirect=True)
def test_modify_end_date_uses_the_calendar(frozen_emu: ServedEmulator, tmp_path: Path) -> None:
    clock = lambda: at("2026-11-27 18:00")  # noqa: E731
    with KISRestClient(make_config(frozen_emu, tmp_path)) as c:
        r = Reservations(c, clock=clock)
        seq = r.place_reservation("005930", 1, 70000, end_date=date(2026, 12, 11)).seq
        # 33 days after today, 30 after the next business day (Monday): allowed.
        assert r.modify_reservation(seq, end_date=date(2026, 12, 30)).ok
        assert r.get_reservation(seq).end_date == date(2026, 12, 30)
        snapped = r.modify_reservation(seq, end_date=date(2026, 12, 20))  # a Sunday
        assert any("moved back to 2026-12-18" in w for w in snapped.warnings)
        assert r.get_reservation(seq).end_date == date(2026, 12, 18)
        strict = Reservations(c, clock=clock, end_date_policy="refuse")
        before = frozen_emu.requests.count(name="order-resv-ccnl")
        with pytest.raises(KISValidationError, match="not an open day"):
            strict.modify_reservation(seq, end_date=date(2026, 12, 20))
        # Refused before the current reservation was even listed.
        assert frozen_emu.requests.count(name="order-resv-ccnl") == before
