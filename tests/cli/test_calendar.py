"""``stock-manager calendar`` and the schedule/pre-flight options of ``resv place``."""

from __future__ import annotations

import json

import httpx

from stock_manager.emulator import ServedEmulator

from .conftest import run_cli, run_many


def test_calendar_paper_and_emulator_sources(env: dict[str, str], emu_env: dict[str, str]) -> None:
    paper = {**emu_env, "KIS_MODE": "paper"}
    offline, on_paper, against_emu = (
        run_cli("calendar", "--from", "2026-11-16", "--days", "7", "--json", env=e)
        for e in (env, paper, emu_env)
    )
    assert offline.code == 0, offline
    assert "no credentials" in json.loads(offline.out)["origin"]
    assert on_paper.code == 0, on_paper
    assert "paper mode" in json.loads(on_paper.out)["origin"]
    assert against_emu.code == 0, against_emu
    data = json.loads(against_emu.out)
    assert data["origin"].startswith("KIS 국내휴장일조회")
    # Whether the emulator serves chk-holiday or not, every day says where it came from.
    assert set(data["sources"]) <= {"kis", "cache", "bundled"}
    csat = next(d for d in data["days"] if d["date"] == "2026-11-19")
    assert csat["session"] == "10:00-16:30"
    assert "16:40-23:40" in csat["window"]


def test_calendar_table_mentions_the_source(env: dict[str, str]) -> None:
    r = run_cli("calendar", "--from", "2026-12-30", "--days", "3", env=env)
    assert r.code == 0, r
    assert "bundled" in r.out and "End of Year Holiday" in r.out


def test_place_shows_the_schedule_and_strict_check_refuses(
    emu: ServedEmulator, emu_env: dict[str, str]
) -> None:
    with httpx.Client(base_url=emu.base_url) as http:
        http.post("/_emulator/market/quote", json={"symbol": "066570", "price": 41000})
    common = ("resv", "place", "066570", "--qty", "1", "--side", "buy", "--window", "ignore")
    placed, refused, dry = run_many(
        [
            [*common, "--price", "41000", "--days", "1"],
            [*common, "--price", "41020", "--strict"],
            [*common, "--price", "41000", "--dry-run"],
        ],
        emu_env,
    )
    assert placed.code == 0, placed
    assert "one-day reservation (일반예약): sent on" in placed.out
    line = refused.one_line_error(2)
    assert "pre-flight refused" in line and "tick" in line and "41,000 / 41,050" in line
    assert dry.code == 0 and "one-day reservation" in dry.out


def test_calendar_shows_weekend_and_holiday_entry_hours(env: dict[str, str]) -> None:
    """KIS: 15:40 until 07:30 of the next business day, so weekends and holidays take entries."""
    r = run_cli("calendar", "--from", "2026-10-08", "--days", "60", "--json", env=env)
    assert r.code == 0, r
    days = {d["date"]: d for d in json.loads(r.out)["days"]}
    for weekend in ("2026-12-05", "2026-12-06"):  # Saturday, Sunday
        assert days[weekend]["window"] == "00:10-23:40 → 2026-12-07"
    # 한글날 (Friday 2026-10-09), a holiday: all day, sent the next Monday.
    assert days["2026-10-09"]["status"] == "closed"
    assert days["2026-10-09"]["window"] == "00:10-23:40 → 2026-10-12"
    friday = days["2026-12-04"]
    assert friday["window"] == "00:10-07:30 → 2026-12-04, 15:40-23:40 → 2026-12-07"
    evening = {"from": "15:40", "to": "23:40", "sent": "2026-12-07", "known": True}
    assert friday["entry"][1] == evening
    table = run_cli("calendar", "--from", "2026-12-05", "--days", "2", env=env)
    assert table.code == 0, table
    assert "00:10-23:40 → 2026-12-07" in table.out
