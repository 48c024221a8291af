"""A dry run shows every warning and adjustment a real run would print (issue #22, item 6).

Before: ``resv place … --end-date <a holiday> --dry-run`` printed the snapped date in the body
without a word, and the snap warning appeared only on a real run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator

from .conftest import kis_env, run_cli

MONDAY = datetime(2026, 12, 21, 16, 0, tzinfo=KST)  # Christmas is that Friday


@pytest.fixture
def demu() -> Iterator[ServedEmulator]:
    with run_emulator(EmulatorConfig.demo(seed=6, rate_limit_per_s=None)) as emu:
        emu.clock.freeze(MONDAY)
        yield emu


def test_a_dry_run_says_the_end_date_was_moved(demu: ServedEmulator, home: Path) -> None:
    env = kis_env(demu, home)
    args = ("resv", "place", "005930", "--qty", "1", "--price", "70000", "--side", "buy")
    dry = run_cli(*args, "--end-date", "2026-12-25", "--dry-run", env=env)
    assert dry.code == 0, dry
    assert '"RSVN_ORD_END_DT": "20261224"' in dry.out
    assert "2026-12-25 is not an open day" in dry.err and "moved back to 2026-12-24" in dry.err
    assert "every open day from 2026-12-22 until 2026-12-24" in dry.out
    assert demu.requests.count(name="order-resv") == 0  # nothing was sent
    real = run_cli(*args, "--end-date", "2026-12-25", env=env)
    assert real.code == 0, real
    assert "moved back to 2026-12-24" in real.err  # the same words as the dry run's


# A closure only KIS knows: Wednesday 2026-12-23 is an ordinary open day in the bundled table,
# declared closed on the emulator only, so only its chk-holiday answer tells the client.
KIS_ONLY_CLOSED = "2026-12-23"


@pytest.fixture
def kis_only_emu() -> Iterator[ServedEmulator]:
    config = EmulatorConfig.demo(
        seed=6,
        rate_limit_per_s=None,
        token_issue_interval_s=0,  # two homes, two tokens
        closed_days=(datetime.fromisoformat(KIS_ONLY_CLOSED).date(),),
    )
    with run_emulator(config) as emu:
        emu.clock.freeze(MONDAY)
        yield emu


def test_a_dry_run_asks_kis_calendar_as_a_real_run_does(
    kis_only_emu: ServedEmulator, tmp_path: Path
) -> None:
    """A closure only chk-holiday knows is snapped by the dry run too (not only the real run)."""
    from stock_manager.calendar import bundled_calendar

    # The premise: the bundled table calls the day open, so only KIS's answer can move it.
    assert bundled_calendar().is_open(datetime.fromisoformat(KIS_ONLY_CLOSED).date()) is True
    args: tuple[str, ...] = ("resv", "place", "005930", "--qty", "1", "--price", "70000")
    args += ("--side", "buy", "--end-date", KIS_ONLY_CLOSED)
    dry_home, real_home = tmp_path / "dry", tmp_path / "real"  # no calendar cache shared
    dry_home.mkdir()
    real_home.mkdir()
    dry = run_cli(*args, "--dry-run", env=kis_env(kis_only_emu, dry_home))
    assert dry.code == 0, dry
    real = run_cli(*args, "--yes", env=kis_env(kis_only_emu, real_home))
    assert real.code == 0, real
    snapped = f"{KIS_ONLY_CLOSED} is not an open day"
    assert snapped in real.err and "moved back to 2026-12-22" in real.err
    # The same warning, the same end date sent and the same schedule line.
    assert snapped in dry.err and "moved back to 2026-12-22" in dry.err, dry
    assert '"RSVN_ORD_END_DT": "20261222"' in dry.out, dry
    line = next(ln for ln in real.out.splitlines() if "(calendar:" in ln)
    assert line.split("(calendar:")[0] in dry.out, (real, dry)  # the schedule in words
    # The dry run asked chk-holiday (read-only) and ordered nothing: one place, the real run's.
    assert kis_only_emu.requests.count(name="chk-holiday") >= 2
    assert kis_only_emu.requests.count(name="order-resv") == 1


def test_a_modify_dry_run_asks_kis_calendar_as_a_real_modify_does(
    kis_only_emu: ServedEmulator, tmp_path: Path
) -> None:
    """``resv modify SEQ --end-date D --dry-run``: the same snap, warning and schedule as the
    real modify, also for a closure only chk-holiday knows (the gap item 6 closed for place)."""
    import re

    placer, dry_home, real_home = (tmp_path / n for n in ("placer", "dry", "real"))
    for home in (placer, dry_home, real_home):
        home.mkdir()  # no calendar cache shared: each asks chk-holiday itself
    placed = run_cli(
        *("resv", "place", "005930", "--qty", "1", "--price", "70000", "--side", "buy"),
        *("--end-date", "2026-12-30", "--yes"),
        env=kis_env(kis_only_emu, placer),
    )
    assert placed.code == 0, placed
    seq = re.search(r"reservation (\d+) placed", placed.out)
    assert seq, placed
    args = ("resv", "modify", seq.group(1), "--end-date", KIS_ONLY_CLOSED)
    dry = run_cli(*args, "--dry-run", env=kis_env(kis_only_emu, dry_home))
    assert dry.code == 0, dry
    assert kis_only_emu.requests.count(name="order-resv-rvsecncl") == 0  # nothing was sent
    real = run_cli(*args, "--yes", env=kis_env(kis_only_emu, real_home))
    assert real.code == 0, real
    snapped = f"{KIS_ONLY_CLOSED} is not an open day"
    assert snapped in real.err and "moved back to 2026-12-22" in real.err, real
    # The same warning, the same end date sent and the same schedule line.
    assert snapped in dry.err and "moved back to 2026-12-22" in dry.err, dry
    assert '"RSVN_ORD_END_DT": "20261222"' in dry.out, dry
    line = next(ln for ln in real.out.splitlines() if "(calendar:" in ln)
    assert line.split("(calendar:")[0] in dry.out, (real, dry)
    assert kis_only_emu.requests.count(name="order-resv-rvsecncl") == 1  # the real modify only
