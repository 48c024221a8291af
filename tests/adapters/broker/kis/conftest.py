"""Fixtures of the KIS client tests: isolated environment, fake clock/sleep/server, clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter

from ._redis import own_redis_fixture, redis_server_fixture, redis_session_fixture  # noqa: F401
from ._support import ACCOUNT, APP_KEY, APP_SECRET, FakeClock, FakeKIS, SleepRecorder


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No KIS_* variable, no .env and no home directory leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("KIS_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("STOCK_MANAGER_HOME", str(home / "sm"))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps(clock: FakeClock) -> SleepRecorder:
    # Sleeping moves fake time, so limiter waits and back-offs compose as they do for real.
    return SleepRecorder(clock)


@pytest.fixture
def fake() -> FakeKIS:
    return FakeKIS()


def make_config(tmp_path: Path, **overrides: Any) -> KISConfig:
    values: dict[str, Any] = {
        "kis_app_key": APP_KEY,
        "kis_app_secret": APP_SECRET,
        "kis_account_no": ACCOUNT,
        "token_cache_dir": tmp_path / "tokens",
        "journal_path": tmp_path / "journal.sqlite3",
    }
    values.update(overrides)
    return KISConfig(**values)


ClientFactory = Callable[..., KISRestClient]
AsyncClientFactory = Callable[..., AsyncKISRestClient]


@pytest.fixture
def make_client(
    tmp_path: Path, fake: FakeKIS, clock: FakeClock, sleeps: SleepRecorder
) -> Iterator[ClientFactory]:
    """``make_client(**config_overrides)``: a sync client on ``fake`` with fake time."""
    made: list[KISRestClient] = []

    def factory(
        *, limiter: RateLimiter | None = None, rng: Callable[[], float] | None = None, **cfg: Any
    ) -> KISRestClient:
        client = KISRestClient(
            make_config(tmp_path, **cfg),
            transport=fake.transport,
            clock=clock,
            sleep=sleeps,
            rng=rng or (lambda: 0.5),
            limiter=limiter or RateLimiter(1e9, margin=0, clock=clock),
        )
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()
        if client.config.journal and client._core._journal is not None:
            client._core._journal.close()


@pytest.fixture
async def make_async_client(
    tmp_path: Path, fake: FakeKIS, clock: FakeClock, sleeps: SleepRecorder
) -> AsyncIterator[AsyncClientFactory]:
    """Async twin of ``make_client``."""
    made: list[AsyncKISRestClient] = []

    def factory(
        *, limiter: RateLimiter | None = None, rng: Callable[[], float] | None = None, **cfg: Any
    ) -> AsyncKISRestClient:
        client = AsyncKISRestClient(
            make_config(tmp_path, **cfg),
            transport=fake.transport,
            clock=clock,
            sleep=sleeps.async_sleep,
            rng=rng or (lambda: 0.5),
            limiter=limiter or RateLimiter(1e9, margin=0, clock=clock),
        )
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.aclose()
        if client.config.journal and client._core._journal is not None:
            client._core._journal.close()
