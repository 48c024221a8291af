"""Fixtures: a fresh emulator on a real socket per test, frozen clock, logged-in helper."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from tests.emulator.helpers import Kis, frozen_config


@pytest.fixture
def config() -> EmulatorConfig:
    return frozen_config()


@pytest.fixture
def emu(config: EmulatorConfig) -> Iterator[ServedEmulator]:
    with run_emulator(config) as served:
        yield served


@pytest.fixture
def kis(emu: ServedEmulator) -> Iterator[Kis]:
    with httpx.Client(base_url=emu.base_url, timeout=5) as client:
        helper = Kis(client, emu.config)
        helper.login()
        # tokenP counts against the per-second budget (as at KIS); start each test with a
        # clean budget so rate tests can count from zero in the frozen instant.
        emu.limiter.reset()
        emu.token_limiter.reset()
        yield helper
