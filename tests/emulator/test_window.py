"""Reservation entry window and KRX calendar: weekday, hour, holiday, late day, order date."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import httpx
import pytest

from stock_manager.emulator import KST, ServedEmulator, run_emulator
from stock_manager.emulator.krx_calendar import KrxCalendar, parse_days, parse_instant
from tests.emulator.helpers import Kis, frozen_config


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=KST)


@contextmanager
def emulator_at(when: datetime, **overrides: object) -> Iterator[tuple[ServedEmulator, Kis]]:
    with (
        run_emulator(frozen_config(clock=lambda: when, **overrides)) as emu,
        httpx.Client(base_url=emu.base_url) as client,
    ):
        kis = Kis(client, emu.config)
        kis.login()
        yield emu, kis


# 2026-12-01 is a Tuesday; 2026-12-05/06 a weekend; 2026-12-25 (Fri) Christmas;
# 2026-11-19 (Thu) the 수능 day; 2027-01-04 (Mon) the first trading day of 2027.
@pytest.mark.parametrize(
    ("when", "accepted"),
    [
        ("2026-12-01T07:29:59", True),  # weekday morning, before 07:30
        ("2026-12-01T07:30:00", False),  # window closes at 07:30
        ("2026-12-01T12:00:00", False),  # market hours
        ("2026-12-01T15:39:59", False),
        ("2026-12-01T15:40:00", True),  # window opens at 15:40
        ("2026-12-01T23:39:59", True),
        ("2026-12-01T23:40:00", False),  # system blackout 23:40-00:10
        ("2026-12-02T00:09:59", False),
        ("2026-12-02T00:10:00", True),
        ("2026-12-05T12:00:00", True),  # Saturday noon: inside the window to Monday 07:30
        ("2026-12-06T23:50:00", False),  # blackout applies on weekends too
        ("2026-12-25T12:00:00", True),  # a holiday weekday: no session, window open
        ("2026-11-19T08:00:00", True),  # 수능 day: the window closes at 08:30, not 07:30
        ("2026-11-19T08:30:00", False),
        ("2026-11-19T16:00:00", False),  # ... and reopens at 16:40, not 15:40
        ("2026-11-19T16:40:00", True),
        ("2027-01-04T08:15:00", True),  # first trading day of the year: one hour later too
        ("2027-01-04T16:20:00", False),
    ],
)
def test_window_by_weekday_hour_holiday_and_late_day(when: str, accepted: bool) -> None:
    with emulator_at(at(when)) as (_, kis):
        r = kis.place()
        data = r.json()
        if accepted:
            assert data["rt_cd"] == "0", data
        else:
            assert (r.status_code, data["rt_cd"], data["msg_cd"]) == (200, "1", "KIER3672")
            assert r.headers["X-Emulator-Detail"]


def test_rejection_names_the_window() -> None:
    with emulator_at(at("2026-12-01T10:00:00")) as (_, kis):
        msg = kis.place().json()["msg1"]
        assert msg == "예약주문은 15:40분 이후부터 익영업일 07:30분까지만 가능합니다"
    with emulator_at(at("2026-11-19T16:15:00")) as (_, kis):
        msg = kis.place().json()["msg1"]  # the text KIS sent on the 2025 수능 day
        assert msg == "예약주문은 16:40분 이후부터 익영업일 08:30분까지만 가능합니다"


def test_modify_and_cancel_are_windowed_too() -> None:
    with emulator_at(at("2026-12-01T18:00:00")) as (emu, kis):
        seq = kis.place_ok()
        emu.clock.freeze(at("2026-12-02T09:00:00"))
        assert kis.cancel(seq).json()["msg_cd"] == "KIER3672"
        assert kis.modify(seq).json()["msg_cd"] == "KIER3672"
        assert kis.query().json()["rt_cd"] == "0"  # listing is not windowed


@pytest.mark.parametrize(
    ("when", "order_date"),
    [
        ("2026-12-01T18:00:00", "20261202"),  # evening → next day
        ("2026-12-02T06:00:00", "20261202"),  # early morning → the same day
        ("2026-12-04T18:00:00", "20261207"),  # Friday evening → Monday
        ("2026-12-24T18:00:00", "20261228"),  # skips Christmas and the weekend
        ("2026-12-30T18:00:00", "20270104"),  # skips the year-end closing day and 1 Jan
    ],
)
def test_order_date_is_the_next_open_day(when: str, order_date: str) -> None:
    with emulator_at(at(when)) as (_, kis):
        seq = kis.place_ok()
        assert kis.row(seq)["rsvn_ord_ord_dt"] == order_date


def test_end_date_on_a_closed_day_is_refused() -> None:
    with emulator_at(at("2026-12-01T18:00:00")) as (_, kis):
        for closed in ("20261205", "20261225", "20261231"):
            r = kis.place(RSVN_ORD_END_DT=closed)
            assert r.json()["msg_cd"] == "APBK8022", closed
            assert closed in r.headers["X-Emulator-Detail"]
        kis.place_ok(RSVN_ORD_END_DT="20261224")


def test_declared_days_via_config_and_admin_api() -> None:
    closed = (date(2026, 12, 2),)
    with emulator_at(at("2026-12-01T18:00:00"), closed_days=closed) as (emu, kis):
        seq = kis.place_ok()
        assert kis.row(seq)["rsvn_ord_ord_dt"] == "20261203"
        r = kis.http.post("/_emulator/calendar", json={"closed": ["2026-12-03"]})
        assert "2026-12-03" in r.json()["closed"]
        assert kis.row(kis.place_ok())["rsvn_ord_ord_dt"] == "20261204"
        kis.http.post("/_emulator/calendar", json={"late": ["2026-12-07"]})
        emu.clock.freeze(at("2026-12-07T08:00:00"))  # a declared late day: open until 08:30
        kis.login()  # the token of six days ago has expired
        kis.place_ok()
        assert kis.http.post("/_emulator/calendar", json={"closed": "x"}).status_code == 400


def test_window_switch_off() -> None:
    with emulator_at(at("2026-12-01T10:00:00"), window=False) as (_, kis):
        kis.place_ok()


def test_calendar_unit_rules() -> None:
    cal = KrxCalendar()
    assert not cal.is_open(date(2026, 12, 25))
    assert cal.is_late(date(2026, 1, 2))  # first trading day of 2026 (1 Jan is a holiday)
    assert not cal.is_late(date(2026, 1, 5))
    assert cal.next_open(date(2026, 12, 30)) == date(2027, 1, 4)
    assert cal.is_banking_day(date(2026, 12, 31)) and not cal.is_open(date(2026, 12, 31))
    assert cal.inside_window(at("2026-12-01T10:00:00")) == at("2026-12-01T15:45:00")
    assert cal.inside_window(at("2026-11-19T10:00:00")) == at("2026-11-19T16:45:00")  # 수능
    assert cal.inside_window(at("2026-12-01T20:00:00")) == at("2026-12-01T20:00:00")
    assert cal.inside_window(at("2026-12-01T23:50:00")) == at("2026-12-02T00:15:00")
    assert cal.inside_window(at("2026-12-02T00:05:00")) == at("2026-12-02T00:15:00")
    assert parse_days("2026-12-02, 20261203") == (date(2026, 12, 2), date(2026, 12, 3))
    assert parse_instant("2026-12-01T16:00+09:00") == at("2026-12-01T16:00:00")
    assert parse_instant("2026-12-01T16:00") == at("2026-12-01T16:00:00")  # naive = KST
    with pytest.raises(ValueError, match="not a date"):
        parse_days("2026-13-01")


def test_start_at_runs_the_clock_from_there() -> None:
    start = at("2026-12-01T16:00:00")
    with run_emulator(frozen_config(clock=None, start_at=start)) as emu:
        now = emu.clock.now()
        assert start <= now < at("2026-12-01T16:01:00")
        assert not emu.clock.frozen
