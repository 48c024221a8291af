"""Fixtures: an emulator on a real socket with fast PINGPONG, and a notice session on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis.client import AsyncKISRestClient
from stock_manager.adapters.broker.kis.config import KISConfig
from stock_manager.emulator import ServedEmulator, run_emulator
from stock_manager.emulator.pytest_plugin import emulator_config
from stock_manager.emulator.state import Order
from stock_manager.notices import Event, NoticeSession
from stock_manager.notices.reconcile import daily_ccld_fetch


@pytest.fixture
def emu(request: pytest.FixtureRequest) -> Iterator[ServedEmulator]:
    marker = request.node.get_closest_marker("kis_emulator")
    overrides: dict[str, Any] = {"ws_ping_interval_s": 0.2, "rate_limit_per_s": None}
    overrides.update(marker.kwargs if marker else {})
    with run_emulator(emulator_config(**overrides)) as served:
        yield served


def kis_config(emu: ServedEmulator, tmp_path: Path, **extra: Any) -> KISConfig:
    cfg = emu.config
    values: dict[str, Any] = {
        "kis_app_key": cfg.app_key,
        "kis_app_secret": cfg.app_secret,
        "kis_account_no": cfg.account,
        "mode": cfg.mode,
        "base_url": emu.base_url,
        "hts_id": cfg.hts_id,
        "token_cache_dir": tmp_path / "tokens",
        "journal": False,
    }
    values.update(extra)
    return KISConfig(**values)


class FakeSleep:
    """Records the back-off asked for and waits only a moment."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0.02)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
async def rest(emu: ServedEmulator, tmp_path: Path) -> AsyncIterator[AsyncKISRestClient]:
    client = AsyncKISRestClient(kis_config(emu, tmp_path))
    yield client
    await client.aclose()


SessionFactory = Callable[..., NoticeSession]


@pytest.fixture
def make_session(
    emu: ServedEmulator, tmp_path: Path, fake_sleep: FakeSleep, rest: AsyncKISRestClient
) -> SessionFactory:
    def make(*, reconcile: bool = True, **kwargs: Any) -> NoticeSession:
        kwargs.setdefault("sleep", fake_sleep)
        kwargs.setdefault("rand", lambda: 0.5)
        kwargs.setdefault("idle_timeout_s", 5.0)
        fetch = daily_ccld_fetch(rest, lambda: emu.clock.now().date()) if reconcile else None
        return NoticeSession(kis_config(emu, tmp_path), fetch=fetch, **kwargs)

    return make


def add_order(emu: ServedEmulator, qty: int = 10, price: int = 70000, pdno: str = "005930") -> str:
    """An open buy order in the emulator's book (as process-day would leave it)."""
    st = emu.state
    with st.lock:
        odno = st.next_odno()
        st.save_order(
            Order(
                odno=odno,
                account=emu.config.account,
                pdno=pdno,
                qty=qty,
                unpr=price,
                sll_buy="02",
                ord_dvsn="00",
                ord_tmd=emu.clock.now().strftime("%H%M%S"),
                psbl_qty=qty,
                ord_dt=emu.clock.now().strftime("%Y%m%d"),
            )
        )
    emu.notices.sync()
    return odno


async def collect(
    session: NoticeSession,
    until: Callable[[list[Event]], bool],
    *,
    timeout: float = 10.0,
    during: Callable[[Event, list[Event]], None] | None = None,
) -> list[Event]:
    """Events of ``session.events()`` until ``until(events)`` holds (polled every 20 ms too,
    so a condition on the emulator's counters works), or fail on timeout."""
    seen: list[Event] = []

    async def run() -> None:
        async for ev in session.events():
            seen.append(ev)
            if during is not None:
                during(ev, seen)

    task = asyncio.create_task(run())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while not until(seen):
            if task.done():
                task.result()  # re-raise what ended the stream
                pytest.fail(f"stream ended; events: {seen}")
            if loop.time() > deadline:
                pytest.fail(f"timed out; events so far: {seen}")
            await asyncio.sleep(0.02)
    finally:
        await session.close()
        try:
            await asyncio.wait_for(task, 5)
        except TimeoutError:
            task.cancel()
    return seen
