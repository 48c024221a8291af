"""The CLI says when this machine's clock is off from KIS's (issue #18, finding 7).

The skew is measured from the ``Date`` of KIS's answers; the emulator stamps its own clock
there, so an emulator started 5 hours ahead of this machine is a KIS whose clock is 5 hours
ahead. In a rehearsal (``STOCK_MANAGER_NOW``) the move is on purpose: no warning then.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator

from .conftest import kis_env, run_cli


@pytest.fixture
def ahead() -> Iterator[ServedEmulator]:
    start = datetime.now(KST) + timedelta(hours=5)
    with run_emulator(EmulatorConfig.demo(seed=5, rate_limit_per_s=None, start_at=start)) as e:
        yield e


def test_a_clock_hours_off_is_reported_once(ahead: ServedEmulator, home: Path) -> None:
    env = kis_env(ahead, home)
    del env["STOCK_MANAGER_NOW"]  # the machine's own clock
    result = run_cli("resv", "list", env=env)
    assert result.code == 0, result
    lines = [line for line in result.err.splitlines() if "clock skew" in line]
    assert len(lines) == 1, result.err
    assert "behind KIS's" in lines[0]
    assert "4h59m" in lines[0] or "5h00m" in lines[0]


def test_a_rehearsal_does_not_warn(ahead: ServedEmulator, home: Path) -> None:
    env = kis_env(ahead, home)  # STOCK_MANAGER_NOW: the emulator's instant
    result = run_cli("resv", "list", env=env)
    assert result.code == 0, result
    assert "clock skew" not in result.err
