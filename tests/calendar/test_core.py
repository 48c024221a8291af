"""The KRX calendar across a year of edge days, its sources, its disk cache and its windows."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time as _time
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from stock_manager.calendar import KST, KRXCalendar, bundled_calendar, cache_path_for


def at(text: str) -> datetime:
    """A KST instant from ``YYYY-MM-DD HH:MM``."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=KST)


# --- bundled table -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "status", "note"),
    [
        ("2026-05-01", "closed", "Labor Day"),  # KRX closes on May 1 (근로자의날/노동절)
        ("2026-12-31", "closed", "End of Year Holiday"),  # year-end closing day
        ("2027-12-31", "closed", "End of Year Holiday"),
        ("2026-06-03", "closed", "Local Election Day"),
        ("2026-11-28", "closed", "weekend"),
        ("2026-11-26", "open", ""),
        ("2028-03-15", "unknown", "past the bundled table"),  # a weekday we cannot vouch for
        ("2028-03-18", "closed", "weekend"),  # weekends are known at any distance
    ],
)
def test_bundled_days(day: str, status: str, note: str) -> None:
    info = KRXCalendar().day(date.fromisoformat(day))
    assert info.status == status
    assert info.source == "bundled"
    assert note in info.note
    assert info.is_open is {"open": True, "closed": False, "unknown": None}[status]


def test_late_sessions() -> None:
    cal = KRXCalendar()
    first_2027 = cal.day(date(2027, 1, 4))  # 1/1 holiday, 1/2-3 weekend
    assert first_2027.late and first_2027.open == time(10, 0)
    assert first_2027.close == time(15, 30)
    csat = cal.day(date(2026, 11, 19))
    assert (csat.open, csat.close) == (time(10, 0), time(16, 30))
    assert "수능" in csat.note
    assert not cal.day(date(2027, 1, 5)).late


# --- frozen-clock windows and order dates ---------------------------------------------------------
# KIS: reservations from 15:40 until 07:30 of the next business day, except 23:40-00:10 (spec
# §1.5). Weekends and holidays lie inside the window; only an open day's 07:30-15:40 (moved on
# late-session days) and the nightly blackout are closed. (An earlier version of this table
# had Saturday noon outside: that reading was wrong.)
@pytest.mark.parametrize(
    ("now", "inside", "order_date"),
    [
        ("2026-12-04 16:00", True, "2026-12-07"),  # Friday 16:00 -> Monday
        ("2026-11-27 18:00", True, "2026-11-30"),  # Friday evening -> Monday
        ("2026-11-28 00:30", True, "2026-11-30"),  # after midnight, still Friday's window
        ("2026-11-28 12:00", True, "2026-11-30"),  # Saturday noon: inside
        ("2026-12-05 15:00", True, "2026-12-07"),  # Saturday afternoon
        ("2026-12-06 05:00", True, "2026-12-07"),  # Sunday early morning
        ("2026-12-06 20:00", True, "2026-12-07"),  # Sunday 20:00
        ("2026-11-28 23:50", False, "2026-11-30"),  # Saturday blackout
        ("2026-12-05 23:45", False, "2026-12-07"),  # blackout 23:45
        ("2026-12-07 00:05", False, "2026-12-07"),  # blackout 00:05 (Monday)
        ("2026-12-07 00:10", True, "2026-12-07"),  # the blackout is over
        ("2026-11-30 07:29", True, "2026-11-30"),  # Monday morning: sent the same day
        ("2026-12-07 07:29", True, "2026-12-07"),
        ("2026-11-30 07:30", False, "2026-12-01"),
        ("2026-12-07 07:31", False, "2026-12-08"),  # Monday 07:31: the session stretch
        ("2026-12-07 15:39", False, "2026-12-08"),
        ("2026-12-07 15:40", True, "2026-12-08"),
        ("2026-06-03 07:45", True, "2026-06-04"),  # election day (holiday) morning
        ("2026-06-03 12:00", True, "2026-06-04"),  # a holiday's daytime is inside
        ("2026-10-09 11:00", True, "2026-10-12"),  # 한글날 (a Friday holiday) -> Monday
        ("2026-12-30 18:00", True, "2027-01-04"),  # year end -> first trading day of 2027
        ("2026-12-31 12:00", True, "2027-01-04"),  # year-end closing day daytime: inside
        ("2027-01-04 08:15", True, "2027-01-04"),  # late open: window until 08:30
        ("2027-01-04 09:00", False, "2027-01-05"),
        ("2027-01-05 08:15", False, "2027-01-06"),  # ordinary day: closed at 07:30
        ("2026-11-19 16:15", False, "2026-11-20"),  # 수능: session until 16:30, window 16:40
        ("2026-11-19 16:40", True, "2026-11-20"),
        ("2026-11-19 08:15", True, "2026-11-19"),  # 수능 morning: until 08:30
    ],
)
def test_window_and_order_date(now: str, inside: bool, order_date: str) -> None:
    w = bundled_calendar().window(at(now))
    assert w.inside is inside, w.reason
    assert w.order_date is not None and w.order_date.day == date.fromisoformat(order_date)
    assert (w.reason == "") is inside
    assert w.blackout is ("blackout" in w.reason)


def test_holidays_used_above_are_real_closed_days() -> None:
    cal = bundled_calendar()
    for day in ("2026-06-03", "2026-10-09", "2026-12-31"):
        assert cal.day(date.fromisoformat(day)).status == "closed", day
    assert cal.day(date(2026, 12, 7)).status == "open"


def test_window_reasons_name_the_rule() -> None:
    cal = bundled_calendar()
    blackout = cal.window(at("2026-11-28 23:50"))
    assert "blackout" in blackout.reason and blackout.blackout
    assert blackout.opens_at == at("2026-11-29 00:10")
    early = cal.window(at("2026-12-07 00:05"))
    assert early.blackout and early.opens_at == at("2026-12-07 00:10")
    saturday = cal.window(at("2026-11-28 12:00"))
    assert saturday.inside and not saturday.blackout
    assert saturday.closes_at == at("2026-11-28 23:40")
    sunday = cal.window(at("2026-12-06 20:00"))  # not "the next window opens Monday 15:40"
    assert sunday.inside and sunday.opens_at == at("2026-12-06 00:10")
    monday = cal.window(at("2026-12-07 07:31"))
    assert monday.inside is False and not monday.blackout
    assert "15:40" in monday.reason and "next business day" in monday.reason
    assert monday.opens_at == at("2026-12-07 15:40")
    csat = cal.window(at("2026-11-19 16:15"))
    assert "16:40" in csat.reason and "10:00-16:30" in csat.reason
    assert csat.opens_at == at("2026-11-19 16:40")


def test_order_date_of_first_trading_day_is_a_late_session() -> None:
    order = bundled_calendar().order_date(at("2026-12-30 18:00"))
    assert order.day == date(2027, 1, 4) and order.open == time(10, 0)


def test_unknown_is_not_closed_nor_open() -> None:
    cal = KRXCalendar()
    w = cal.window(at("2028-03-14 12:00"))  # a Tuesday past the reviewed table, daytime
    assert w.inside is None and "cannot tell" in w.reason and not w.blackout
    assert w.order_date is not None and w.order_date.status == "unknown"
    # Evening and morning are inside whether the day is open or not; the blackout is not.
    assert cal.window(at("2028-03-14 18:00")).inside is True
    assert cal.window(at("2028-03-14 06:00")).inside is True
    assert cal.window(at("2028-03-14 23:45")).inside is False
    assert cal.day(date(2028, 3, 14)).status == "unknown"  # still unknown afterwards
    assert cal.next_open_day(date(2028, 3, 14)).status == "unknown"
    assert cal.last_open_day(date(2028, 3, 20), not_before=date(2028, 3, 13)) is None


# --- KIS source and the disk cache ----------------------------------------------------------------
class FakeKIS:
    """chk-holiday as KIS answers it: 24 consecutive days from BASS_DT per call."""

    def __init__(self, closed: set[date] | None = None, fail: bool = False) -> None:
        self.closed = closed or set()
        self.fail = fail
        self.calls: list[date] = []
        self.lock = threading.Lock()

    def __call__(self, bass_dt: date) -> list[Mapping[str, Any]]:
        with self.lock:
            self.calls.append(bass_dt)
        _time.sleep(0.01)
        if self.fail:
            raise ConnectionError("no route to KIS")
        rows: list[Mapping[str, Any]] = []
        for i in range(24):
            d = bass_dt + timedelta(days=i)
            opened = d.weekday() < 5 and d not in self.closed
            # bzdy_yn differs from opnd_yn on purpose (2022-12-30 style): only opnd_yn counts.
            rows.append(
                {"bass_dt": d.strftime("%Y%m%d"), "bzdy_yn": "Y", "opnd_yn": "Y" if opened else "N"}
            )
        return rows


def test_kis_answers_win_and_are_cached(tmp_path: Path) -> None:
    now = at("2026-11-25 18:00")
    path = cache_path_for(tmp_path, "https://openapi.koreainvestment.com:9443")
    # KIS announces an ad-hoc closure the bundled table does not know.
    fake = FakeKIS(closed={date(2026, 12, 2)})
    cal = KRXCalendar(fetch=fake, cache_path=path, clock=lambda: now)
    info = cal.day(date(2026, 12, 2))
    assert (info.status, info.source) == ("closed", "kis")
    assert cal.day(date(2026, 12, 3)).source == "kis"
    # One call covers 24 days: a second one reaches 30+ days past today.
    assert fake.calls == [date(2026, 11, 25), date(2026, 12, 19)]
    assert cal.day(date(2026, 12, 30)).source == "kis"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # Another process the same day reads the cache and asks nothing.
    again = KRXCalendar(fetch=fake, cache_path=path, clock=lambda: now + timedelta(hours=3))
    assert again.day(date(2026, 12, 2)).source == "cache"
    assert again.day(date(2026, 12, 2)).status == "closed"
    assert again.fetch_count == 0 and len(fake.calls) == 2
    # The next day it refreshes (at most daily).
    later = KRXCalendar(fetch=fake, cache_path=path, clock=lambda: now + timedelta(days=1))
    assert later.day(date(2026, 12, 2)).source == "kis"
    assert later.fetch_count == 2


def test_processes_share_one_refresh(tmp_path: Path) -> None:
    now = at("2026-11-25 18:00")
    path = cache_path_for(tmp_path, "https://example")
    fake = FakeKIS()
    cals = [KRXCalendar(fetch=fake, cache_path=path, clock=lambda: now) for _ in range(4)]
    threads = [threading.Thread(target=c.day, args=(date(2026, 12, 1),)) for c in cals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The file lock makes the other three read what the first one fetched.
    assert len(fake.calls) == 2
    assert sorted(c.day(date(2026, 12, 1)).source for c in cals) == ["cache"] * 3 + ["kis"]


def test_failed_kis_falls_back_to_bundled_and_waits_before_retrying(tmp_path: Path) -> None:
    now = at("2026-11-25 18:00")
    path = cache_path_for(tmp_path, "https://example")
    fake = FakeKIS(fail=True)
    cal = KRXCalendar(fetch=fake, cache_path=path, clock=lambda: now)
    info = cal.day(date(2026, 12, 31))
    assert (info.status, info.source) == ("closed", "bundled")
    assert "no route to KIS" in cal.last_error
    calls = len(fake.calls)
    soon = KRXCalendar(fetch=fake, cache_path=path, clock=lambda: now + timedelta(minutes=5))
    soon.day(date(2026, 12, 1))
    assert len(fake.calls) == calls  # no retry storm across processes


def test_offline_run_says_the_source_is_bundled(tmp_path: Path) -> None:
    """`stock-manager calendar --json` without credentials: every day from the bundled table."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "XDG_"))}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "c"), NO_COLOR="1")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "stock_manager.cli",
            "calendar",
            "--from",
            "2026-12-28",
            "--days",
            "8",
            "--json",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    import json

    data = json.loads(out)
    assert data["origin"].startswith("bundled table")
    assert data["sources"] == ["bundled"]
    by_day = {d["date"]: d for d in data["days"]}
    assert by_day["2026-12-31"]["status"] == "closed"
    assert by_day["2027-01-04"]["session"] == "10:00-15:30"
    assert "15:40-23:40 → 2027-01-04" in by_day["2026-12-30"]["window"]
    # The year-end closing day takes reservations all day (but for the blackout).
    assert by_day["2026-12-31"]["window"] == "00:10-23:40 → 2027-01-04"
    # The first trading day opens at 10:00: its morning entries run until 08:30.
    assert by_day["2027-01-04"]["window"].startswith("00:10-08:30 → 2027-01-04")


def test_cli_import_does_not_load_the_holiday_library() -> None:
    code = (
        "import sys, stock_manager.cli.app, stock_manager.adapters.broker.kis.reservations;"
        "print('holidays' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"


def test_short_answers_do_not_cause_more_calls_the_same_day(tmp_path: Path) -> None:
    now = at("2026-11-25 18:00")
    path = cache_path_for(tmp_path, "https://example")

    def short(bass_dt: date) -> list[Mapping[str, Any]]:
        calls.append(bass_dt)
        return (
            [{"bass_dt": bass_dt.strftime("%Y%m%d"), "opnd_yn": "Y"}]
            if bass_dt == now.date()
            else []
        )

    calls: list[date] = []
    first = KRXCalendar(fetch=short, cache_path=path, clock=lambda: now)
    assert first.day(now.date()).source == "kis"
    assert first.day(date(2026, 12, 1)).source == "bundled"  # beyond what KIS answered
    n = len(calls)
    KRXCalendar(fetch=short, cache_path=path, clock=lambda: now + timedelta(hours=5)).day(
        now.date()
    )
    assert len(calls) == n


def test_failed_fetch_is_retried_after_an_hour(tmp_path: Path) -> None:
    now = at("2026-11-25 18:00")
    path = cache_path_for(tmp_path, "https://example")
    broken = FakeKIS(fail=True)
    KRXCalendar(fetch=broken, cache_path=path, clock=lambda: now).day(now.date())
    healthy = FakeKIS()
    later = KRXCalendar(fetch=healthy, cache_path=path, clock=lambda: now + timedelta(hours=2))
    assert later.day(date(2026, 12, 1)).source == "kis"
    assert len(healthy.calls) == 2


def test_long_running_process_refreshes_daily(tmp_path: Path) -> None:
    clock = [at("2026-11-25 18:00")]
    fake = FakeKIS()
    cal = KRXCalendar(fetch=fake, cache_path=None, clock=lambda: clock[0])
    cal.window()
    assert len(fake.calls) == 2
    clock[0] += timedelta(hours=2)
    cal.window()
    assert len(fake.calls) == 2  # checked, not due: no call
    clock[0] += timedelta(days=1)
    fake.closed.add(date(2026, 12, 9))
    cal.window()
    assert len(fake.calls) == 4
    assert cal.day(date(2026, 12, 9)).status == "closed"


def test_prepare_does_beforehand_the_io_the_answers_would_do(tmp_path: Path) -> None:
    """An async caller runs ``prepare`` in a worker thread when ``io_due``; the answers that
    follow then read no file and ask KIS nothing (issue #19)."""
    clock = [at("2026-11-25 18:00")]
    path = cache_path_for(tmp_path, "https://openapi.koreainvestment.com:9443")
    fake = FakeKIS()
    cal = KRXCalendar(fetch=fake, cache_path=path, clock=lambda: clock[0])
    assert cal.io_due()
    cal.prepare()
    assert len(fake.calls) == 2 and not cal.io_due()
    reads: list[bool] = []
    real_read = cal._read_cache

    def counted_read() -> dict[str, Any] | None:
        reads.append(True)
        return real_read()

    cal._read_cache = counted_read  # type: ignore[method-assign]
    cal.order_date(clock[0])
    cal.window(clock[0])
    assert cal.day(date(2026, 12, 2)).source == "kis"
    assert len(fake.calls) == 2 and reads == []  # the answers did no I/O of their own
    clock[0] += timedelta(days=1)
    assert cal.io_due()  # a long-running process looks again
    cal.prepare()
    assert len(fake.calls) == 4 and not cal.io_due()
    # Without a fetcher (the async client's calendar): one cache read, then nothing is due.
    offline = KRXCalendar(cache_path=path, clock=lambda: clock[0])
    assert offline.io_due()
    offline.prepare()
    assert not offline.io_due() and offline.day(date(2026, 12, 2)).source == "cache"


def test_the_reservation_manager_picks_up_the_krx_calendar() -> None:
    from stock_manager.calendar import ManagerCalendar
    from stock_manager.manager.calendar import Calendar, default_calendar

    cal = default_calendar()
    assert isinstance(cal, ManagerCalendar) and isinstance(cal, Calendar)
    assert cal.source == "krx (bundled)"
    assert not cal.is_open(date(2026, 12, 31))  # a weekday closed by the KRX calendar
    assert cal.next_open_day(date(2026, 12, 30)) == date(2027, 1, 4)
    # Weekends and holidays lie inside the window (KIS: 15:40 -> 07:30 of the next business
    # day); the session stretch of an open day and the blackout do not.
    assert cal.window(at("2026-11-28 12:00"))[0]  # Saturday noon
    assert cal.window(at("2026-12-06 20:00"))[0]  # Sunday 20:00
    assert cal.window(at("2026-12-31 12:00"))[0]  # year-end closing day
    assert cal.window(at("2026-11-27 18:00"))[0]
    inside, opens = cal.window(at("2026-12-07 07:31"))
    assert not inside and opens == at("2026-12-07 15:40")
    inside, opens = cal.window(at("2026-12-05 23:45"))
    assert not inside and opens == at("2026-12-06 00:10")
