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


# KIS: 15:40 until 07:30 of the next business day, except 23:40-00:10 (spec §1.5). A weekend or
# a holiday is inside; the blackout is refused locally whatever --window says (but 'ignore').
# (An earlier version of these tests had Saturday noon refused: that reading was wrong.)
@pytest.mark.parametrize(
    "when",
    [
        "2026-12-05 15:00",  # Saturday afternoon
        "2026-12-06 20:00",  # Sunday 20:00
        "2026-12-04 16:00",  # Friday 16:00
        "2026-12-07 07:29",  # Monday 07:29
    ],
)
def test_weekend_entries_are_inside_and_sent_monday(tmp_path: Path, when: str) -> None:
    config = EmulatorConfig.demo(
        seed=7, rate_limit_per_s=None, clock=lambda: at(when), enforce_window=True
    )
    with run_emulator(config) as emu, KISRestClient(make_config(emu, tmp_path)) as c:
        r = Reservations(c, window_policy="refuse", clock=lambda: at(when))
        receipt = r.place_reservation("005930", 1, 70000)
    assert receipt.warnings == ()
    assert receipt.order_date == date(2026, 12, 7)  # Monday, the emulator's booked date too
    assert emu.state.reservations[int(receipt.seq)].ord_dt == "20261207"


def test_a_holidays_daytime_is_inside(tmp_path: Path) -> None:
    when = "2026-10-09 11:00"  # 한글날 (Friday), closed in both calendars
    config = EmulatorConfig.demo(
        seed=7, rate_limit_per_s=None, clock=lambda: at(when), enforce_window=True
    )
    with run_emulator(config) as emu, KISRestClient(make_config(emu, tmp_path)) as c:
        receipt = Reservations(c, window_policy="refuse", clock=lambda: at(when)).place_reservation(
            "005930", 1, 70000
        )
    assert receipt.warnings == () and receipt.order_date == date(2026, 10, 12)


@pytest.mark.parametrize("frozen_emu", [at("2026-11-27 18:00")], indirect=True)
@pytest.mark.parametrize("when", ["2026-12-05 23:45", "2026-12-07 00:05", "2026-11-28 23:50"])
@pytest.mark.parametrize("policy", ["warn", "refuse"])
def test_the_blackout_is_refused_before_sending_even_with_warn(
    frozen_emu: ServedEmulator, tmp_path: Path, when: str, policy: str
) -> None:
    with KISRestClient(make_config(frozen_emu, tmp_path)) as c:
        r = Reservations(c, window_policy=policy, clock=lambda: at(when))  # type: ignore[arg-type]
        with pytest.raises(OutsideReservationWindowError, match="blackout") as info:
            r.place_reservation("005930", 1, 70000)
        with pytest.raises(OutsideReservationWindowError, match="blackout"):
            r.plan_place("005930", 1, 70000, offline=True)
        ignored = Reservations(c, window_policy="ignore", clock=lambda: at(when))
        assert ignored.plan_place("005930", 1, 70000, offline=True).warnings == ()
    assert info.value.reached_server is False
    assert info.value.opens_at.endswith("00:10:00+09:00")
    assert frozen_emu.requests.count() == 0  # not even a token


async def test_async_sunday_evening_placed_and_blackout_refused(tmp_path: Path) -> None:
    from stock_manager.adapters.broker.kis import AsyncKISRestClient
    from stock_manager.adapters.broker.kis.reservations import AsyncReservations

    now = [at("2026-12-06 20:00")]  # Sunday 20:00; the emulator and the client share it
    config = EmulatorConfig.demo(
        seed=7, rate_limit_per_s=None, clock=lambda: now[0], enforce_window=True
    )
    with run_emulator(config) as emu:
        client = AsyncKISRestClient(make_config(emu, tmp_path))
        try:
            r = AsyncReservations(client, clock=lambda: now[0])
            receipt = await r.place_reservation("005930", 1, 70000)
            assert receipt.warnings == () and receipt.order_date == date(2026, 12, 7)
            now[0] = at("2026-12-06 23:45")
            sent = emu.requests.count(name="order-resv")
            with pytest.raises(OutsideReservationWindowError, match="blackout"):
                await r.place_reservation("005930", 1, 70000)
            assert emu.requests.count(name="order-resv") == sent
        finally:
            await client.aclose()


@pytest.mark.parametrize("frozen_emu", [at("2026-12-07 07:31")], indirect=True)
def test_an_open_days_session_stretch_warns_or_refuses(
    frozen_emu: ServedEmulator, tmp_path: Path
) -> None:
    when = "2026-12-07 07:31"  # Monday 07:31
    with KISRestClient(make_config(frozen_emu, tmp_path)) as c:
        r = Reservations(c, window_policy="refuse", clock=lambda: at(when))
        with pytest.raises(OutsideReservationWindowError) as info:
            r.place_reservation("005930", 1, 70000)
        warned = Reservations(c, window_policy="warn", clock=lambda: at(when))
        plan = warned.plan_place("005930", 1, 70000, offline=True)
    assert info.value.reached_server is False
    assert info.value.opens_at == "2026-12-07T15:40:00+09:00"
    assert plan.warnings and "outside the reservation window" in plan.warnings[0]
    assert "15:40" in plan.warnings[0]
    assert plan.schedule.order_date == date(2026, 12, 8)
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

    assert check_window(at("2026-11-28 12:00")) is None  # Saturday noon: inside
    assert check_window(at("2026-11-27 18:00")) is None
    assert check_window(at("2026-12-31 18:00")) is None  # year-end holiday evening: inside
    assert check_window(at("2026-12-31 12:00")) is None  # and its daytime
    assert check_window(at("2026-12-07 10:00")) is not None  # an open day's session
    assert "blackout" in (check_window(at("2026-12-05 23:45")) or "")


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
