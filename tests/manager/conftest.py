"""Fixtures: an emulator with a frozen, movable clock and a manager sharing that clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from stock_manager.emulator.market import market_of
from stock_manager.manager import ReservationManager

# Monday 2026-12-07 16:00 KST: inside the entry window (15:40 → next open day 07:30). The
# simulated week lies in the future so that the client's token cache, which judges expiry by
# the real clock, keeps the emulator's (long-lived) token.
MONDAY_EVENING = datetime(2026, 12, 7, 16, 0, tzinfo=KST)
TOKEN_LIFETIME_S = 60 * 86400


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-12-<day> hour:minute KST."""
    return datetime(2026, 12, day, hour, minute, tzinfo=KST)


@pytest.fixture
def emu() -> Iterator[ServedEmulator]:
    # The window is enforced, so every step sets the clock inside it explicitly.
    config = EmulatorConfig.demo(
        seed=13,
        rate_limit_per_s=None,
        token_issue_interval_s=0,
        token_lifetime_s=TOKEN_LIFETIME_S,
        enforce_window=True,
        clock=lambda: MONDAY_EVENING,
    )
    with run_emulator(config) as served:
        served.clock.freeze(MONDAY_EVENING)
        # The account holds what the tests sell (the emulator rejects a sell of shares not held).
        market_of(served.state).set_holding(served.config.account, "000660", 100, 170000)
        market_of(served.state).set_holding(served.config.account, "035420", 100, 180000)
        yield served


def kis_config(emu: ServedEmulator, home: Path) -> KISConfig:
    return KISConfig(
        kis_app_key=emu.config.app_key,
        kis_app_secret=emu.config.app_secret,
        kis_account_no=emu.config.account,
        base_url=emu.base_url,
        token_cache_dir=home / "tokens",
        journal_path=home / "journal.sqlite3",
        rate_limit=1000,
        read_timeout=5.0,
    )


@pytest.fixture
def client(emu: ServedEmulator, tmp_path: Path) -> Iterator[KISRestClient]:
    with KISRestClient(kis_config(emu, tmp_path)) as c:
        yield c


@pytest.fixture
def manager(emu: ServedEmulator, client: KISRestClient) -> Iterator[ReservationManager]:
    """A manager whose clock is the emulator's (time travel moves both)."""
    m = ReservationManager(client, clock=emu.clock.now, sleep=lambda s: None)
    yield m
    m.close()
