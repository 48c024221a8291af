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
