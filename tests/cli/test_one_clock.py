"""One clock for every command (issue #18, finding 5), and the window rule on the CLI (finding 2).

``STOCK_MANAGER_NOW`` names the instant the invocation's clock starts from; it keeps running.
The emulator runs in this process with its window rules on and its clock frozen at the same
instant, as a rehearsal would set it up. The rehearsal dates lie in 2025, before any date this
suite can run on, so a command that read the machine's clock instead would visibly disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.cli._errors import CLIError
from stock_manager.cli._runtime import NOW_ENV, Clock, clock_from_env
from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator

from .conftest import kis_env, run_cli

SUNDAY_EVENING = datetime(2025, 6, 1, 20, 0, tzinfo=KST)  # Sunday 2025-06-01 20:00 KST
MONDAY = "2025-06-02"  # the next open day (06-03 is an election day, closed)
SATURDAY_NIGHT = datetime(2025, 5, 31, 23, 45, tzinfo=KST)  # the blackout
ONE = '[[reservation]]\nid = "a"\nsymbol = "005930"\nside = "buy"\nqty = 1\nprice = 70000\n'


@pytest.fixture
def remu() -> Iterator[ServedEmulator]:
    config = EmulatorConfig.demo(
        seed=1818,
        rate_limit_per_s=None,
        token_issue_interval_s=0,
        token_lifetime_s=60 * 86400,
        enforce_window=True,
        clock=lambda: SUNDAY_EVENING,
    )
    with run_emulator(config) as served:
        served.clock.freeze(SUNDAY_EVENING)
        yield served


def rehearse(emu: ServedEmulator, home: Path, when: datetime) -> dict[str, str]:
    """Both clocks at ``when``: the emulator's frozen there, the CLI's starting from it."""
    emu.clock.freeze(when)
    env = kis_env(emu, home)
    env[NOW_ENV] = when.isoformat()
    return env


# --- the clock itself ---------------------------------------------------------------------------
def test_the_moved_clock_starts_at_the_override_and_keeps_running() -> None:
    ticks = [100.0]
    clock = clock_from_env(
        {NOW_ENV: "2025-06-01T20:00+09:00"}, monotonic=lambda: ticks[0], t0=100.0
    )
    assert clock.overridden and clock() == SUNDAY_EVENING
    ticks[0] += 90.5
    assert clock() == SUNDAY_EVENING + timedelta(seconds=90.5)
    assert clock.today().isoformat() == "2025-06-01"
    machine = clock_from_env({})
    assert not machine.overridden
    assert abs((machine() - datetime.now(KST)).total_seconds()) < 60


@pytest.mark.parametrize(
    ("raw", "why"), [("sunday", "not an ISO date-time"), ("2025-06-01T20:00", "needs an offset")]
)
def test_a_bad_override_is_a_usage_error(raw: str, why: str) -> None:
    with pytest.raises(CLIError, match=why) as info:
        clock_from_env({NOW_ENV: raw})
    assert info.value.exit_code == 2
    with pytest.raises(ValueError, match="needs a timezone"):
        Clock(datetime(2025, 6, 1, 20, 0))  # naive


def test_the_override_is_refused_against_kis(home: Path, env: dict[str, str]) -> None:
    env.update(
        KIS_BASE_URL="https://openapi.koreainvestment.com:9443",
        KIS_APP_KEY="k" * 36,
        KIS_APP_SECRET="s" * 180,
        KIS_ACCOUNT_NO="12345678-01",
        **{NOW_ENV: SUNDAY_EVENING.isoformat()},
    )
    place = run_cli(
        "resv", "place", "005930", "--qty", "1", "--side", "buy", "-p", "70000", "--dry-run",
        env=env,
    )  # fmt: skip
    assert "for emulators only" in place.one_line_error(code=2)
    listing = run_cli("resv", "list", env=env)  # the typer-free fast path
    assert "for emulators only" in listing.one_line_error(code=2)


# --- every command on it ------------------------------------------------------------------------
def test_sunday_rehearsal_place_prints_monday(remu: ServedEmulator, home: Path) -> None:
    env = rehearse(remu, home, SUNDAY_EVENING)
    r = run_cli("resv", "place", "005930", "--qty", "1", "--side", "buy", "-p", "70000", env=env)
    assert r.code == 0, r
    assert f"one-day reservation (일반예약): sent on {MONDAY} only" in r.out
    assert "outside the reservation window" not in r.err  # a Sunday evening is inside
    booked = [row.ord_dt for row in remu.state.reservations.values()]
    assert booked == [MONDAY.replace("-", "")]  # the emulator booked the same Monday
    receipt = run_cli(
        "resv", "place", "005930", "--qty", "1", "--side", "buy", "-p", "70000", "--json",
        env=env,
    )  # fmt: skip
    assert receipt.code == 0, receipt
    assert json.loads(receipt.out)["order_date"] == MONDAY


def test_list_modify_and_calendar_read_the_same_clock(remu: ServedEmulator, home: Path) -> None:
    env = rehearse(remu, home, SUNDAY_EVENING)
    placed = run_cli(
        "resv", "place", "005930", "--qty", "1", "--side", "buy", "-p", "70000", "--json",
        env=env,
    )  # fmt: skip
    seq = json.loads(placed.out)["seq"]
    # resv list (the fast path): its default range is counted from the moved today.
    listing = run_cli("resv", "list", "--json", env=env)
    assert listing.code == 0, listing
    assert [row["seq"] for row in json.loads(listing.out)] == [seq]
    # modify: the schedule of a new end date counts from the moved today.
    modified = run_cli("resv", "modify", seq, "--end-date", "2025-06-05", env=env)
    assert modified.code == 0, modified
    assert f"every open day from {MONDAY} until 2025-06-05" in modified.out
    # calendar: "today" is the moved one.
    cal = run_cli("calendar", "--days", "2", "--json", "--offline", env=env)
    assert cal.code == 0, cal
    days = json.loads(cal.out)["days"]
    assert [d["date"] for d in days] == ["2025-06-01", "2025-06-02"]
    assert days[0]["window"] == f"00:10-23:40 → {MONDAY}"


def test_apply_on_sunday_evening_places(remu: ServedEmulator, home: Path) -> None:
    spec = home / "one.toml"
    spec.write_text(ONE, encoding="utf-8")
    env = rehearse(remu, home, SUNDAY_EVENING)
    r = run_cli("resv", "apply", str(spec), "--json", env=env)
    assert r.code == 0, r
    data = json.loads(r.out)
    assert data["order_requests"] == 1 and data["results"][0]["ok"] is True
    report = run_cli("resv", "report", "--json", env=env)  # the latest session: Friday's
    assert json.loads(report.out)["date"] == "2025-05-30", report


@pytest.mark.parametrize("when", [SATURDAY_NIGHT, datetime(2025, 6, 2, 0, 5, tzinfo=KST)])
def test_the_blackout_is_refused_locally_with_the_default_window_warn(
    remu: ServedEmulator, home: Path, when: datetime
) -> None:
    env = rehearse(remu, home, when)
    before = len(remu.requests.filter())
    r = run_cli("resv", "place", "005930", "--qty", "1", "--side", "buy", "-p", "70000", env=env)
    line = r.one_line_error(code=2)
    assert "blackout" in line and "00:10" in line
    assert len(remu.requests.filter()) == before  # nothing sent, not even a token request
    assert remu.state.reservations == {}
    # A dry run still shows the request (it sends nothing at any hour), and says why a place
    # now would be refused.
    dry = run_cli(
        "resv", "place", "005930", "--qty", "1", "--side", "buy", "-p", "70000", "--dry-run",
        env=env,
    )  # fmt: skip
    assert dry.code == 0, dry
    assert "blackout" in dry.err and "would be refused" in dry.err
    assert len(remu.requests.filter()) == before


def test_an_open_days_session_only_warns_by_default(remu: ServedEmulator, home: Path) -> None:
    env = rehearse(remu, home, datetime(2025, 6, 2, 7, 31, tzinfo=KST))  # Monday 07:31
    refused = run_cli(
        "resv", "place", "005930", "--qty", "1", "--side", "buy", "-p", "70000",
        "--window", "refuse", env=env,
    )  # fmt: skip
    assert "15:40" in refused.one_line_error(code=2)
    warned = run_cli(
        "resv", "place", "005930", "--qty", "1", "--side", "buy", "-p", "70000", env=env
    )
    assert "outside the reservation window" in warned.err
    assert warned.code == 1, warned  # sent, and the emulator refuses it like KIS (KIER3672)
    assert "KIER3672" in warned.err
