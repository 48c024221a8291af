"""Fixtures: an emulator on 127.0.0.1 and clients/reservation APIs pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.reservations import Reservations
from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.emulator import EmulatorConfig, run_emulator
from stock_manager.emulator.krx_calendar import start_inside_window
from stock_manager.emulator.server import ServedEmulator
from stock_manager.journal import OrderJournal


def evening() -> datetime:
    """17:00 KST today: inside the reservation window, same calendar day as the emulator."""
    return datetime.now(KST).replace(hour=17, minute=0, second=0, microsecond=0)


@pytest.fixture
def emu() -> Iterator[ServedEmulator]:
    # Limiter off: these tests are about behaviour; the rate limit has its own test and bench.
    # The clock starts inside the reservation window (the emulator enforces it like KIS).
    # any_symbol: these tests place codes outside the emulator's listing (e.g. 0009K0).
    config = EmulatorConfig.demo(
        seed=7, rate_limit_per_s=None, start_at=start_inside_window(), any_symbol=True
    )
    with run_emulator(config) as e:
        yield e


def make_config(emu: ServedEmulator, tmp_path: Path, **overrides: object) -> KISConfig:
    values: dict[str, object] = {
        "kis_app_key": emu.config.app_key,
        "kis_app_secret": emu.config.app_secret,
        "kis_account_no": emu.config.account,
        "base_url": emu.base_url,
        "token_cache_dir": tmp_path / "tokens",
        "journal_path": tmp_path / "journal.sqlite3",
        "rate_limit": 1000,
        "read_timeout": 2.0,
    }
    values.update(overrides)
    return KISConfig(**values)


class ShiftClock:
    """Real UTC time plus an offset the test moves: the journal's (and so the settle
    window's) clock, so a test can step past the settle window without waiting for it."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def shift() -> ShiftClock:
    return ShiftClock()


@pytest.fixture
def client(emu: ServedEmulator, tmp_path: Path, shift: ShiftClock) -> Iterator[KISRestClient]:
    journal = OrderJournal(tmp_path / "journal.sqlite3", clock=shift)
    with KISRestClient(make_config(emu, tmp_path), journal=journal) as c:
        yield c
    journal.close()


@pytest.fixture
def resv(client: KISRestClient) -> Reservations:
    return Reservations(client, clock=evening)


@pytest.fixture
def count(emu: ServedEmulator) -> Callable[..., int]:
    """How many requests reached the emulator (optionally of one endpoint name)."""

    def _count(name: str | None = None) -> int:
        return emu.requests.count(name=name) if name else len(emu.requests.filter())

    return _count
