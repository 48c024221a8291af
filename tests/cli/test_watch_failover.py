"""One session per app key across processes: three ``stock-manager watch`` processes on one
key, the holder killed with SIGKILL during a burst of 200 fills.

Every surviving process must get every fill exactly once (the gap filled from REST by the
process that takes over), and the emulator must never see two sessions on the key at once.
Once with the file backend (one host: one token-cache folder, a lock file), once with a real
``redis-server`` (each process with its own folder, as on separate hosts).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from stock_manager.emulator.state import Order
from stock_manager.notices.shared import takeover_bound
from tests.adapters.broker.kis._redis import (
    RedisServer,
    redis_server_fixture,
    redis_session_fixture,
)
from tests.cli.conftest import kis_env
from tests.cli.test_watch import Doc, Watch, executions

__all__ = ["redis_server_fixture", "redis_session_fixture"]  # fixtures used below

FILLS = 200
KILL_AFTER = 60


@pytest.fixture
def femu() -> Iterator[ServedEmulator]:
    config = EmulatorConfig.demo(
        rate_limit_per_s=None, token_issue_interval_s=0, window=False, ws_ping_interval_s=1.0
    )
    with run_emulator(config) as served:
        yield served


def open_orders(emu: ServedEmulator, n: int) -> dict[str, int]:
    """``n`` open buy orders in the book (as the open leaves them): order number -> qty."""
    st = emu.state
    out: dict[str, int] = {}
    with st.lock:
        for i in range(n):
            qty = 1 + i % 7
            odno = st.next_odno()
            st.save_order(
                Order(
                    odno=odno,
                    account=emu.config.account,
                    pdno="005930",
                    qty=qty,
                    unpr=70000,
                    sll_buy="02",
                    ord_dvsn="00",
                    ord_tmd="090000",
                    psbl_qty=qty,
                    ord_dt=emu.clock.now().strftime("%Y%m%d"),
                )
            )
            out[odno] = qty
    return out


def role(w: Watch) -> str:
    roles = [d["role"] for d in w.lines if d.get("type") == "Role"]
    return roles[-1] if roles else ""


def fills_of(w: Watch) -> list[Doc]:
    return executions(w.lines, "filled")


def run_failover(emu: ServedEmulator, envs: list[dict[str, str]]) -> None:
    orders = open_orders(emu, FILLS)
    watchers = [Watch(["watch", "--json"], env) for env in envs]
    try:
        # One holder subscribed, two followers.
        def ready(_: object = None) -> bool:
            holders = [w for w in watchers if role(w) == "holder"]
            subscribed = any(d.get("type") == "SubscriptionEvent" for w in holders for d in w.lines)
            return len(holders) == 1 and subscribed and all(role(w) for w in watchers)

        watchers[0].wait_for(lambda _: ready(), timeout=60)
        holder = next(w for w in watchers if role(w) == "holder")
        survivors = [w for w in watchers if w is not holder]
        killed = threading.Event()

        def burst() -> None:
            for i, (odno, qty) in enumerate(orders.items()):
                if i == KILL_AFTER:
                    os.kill(holder.proc.pid, signal.SIGKILL)  # no clean-up of any kind
                    killed.set()
                emu.fill_order(odno, qty, 70000 + 10 * (i % 50))
                time.sleep(0.004)

        t = threading.Thread(target=burst)
        t.start()
        t.join(60)
        assert killed.is_set()
        holder.proc.wait(10)
        for w in survivors:
            w.wait_for(lambda ls: len(executions(ls, "filled")) >= FILLS, timeout=60)
        time.sleep(0.5)  # anything delivered twice would show up now
        roles = sorted(role(w) for w in survivors)
        opened = emu.notices.opened
        for w in survivors:  # both at once: neither takes over from the other
            w.signal(signal.SIGINT)
        codes = [w.stop(signal.SIGINT) for w in survivors]
    finally:
        for w in watchers:
            w.kill()
    assert codes == [0, 0], [w.stderr() for w in survivors]
    # Exactly one of the survivors took the session over.
    assert roles == ["follower", "holder"]
    for w in survivors:
        got = fills_of(w)
        per_order = Counter(d["order_no"] for d in got)
        assert set(per_order) == set(orders), w.stderr()
        assert max(per_order.values()) == 1, [o for o, c in per_order.items() if c > 1]
        assert {d["order_no"]: d["qty"] for d in got} == orders
        assert any(d["source"] == "rest" for d in got)  # the gap, filled from REST
        assert w.lines[-1]["type"] == "Summary" and w.lines[-1]["fills"] == FILLS
    # The emulator never saw two sessions try the key at once.
    key = emu.config.app_key
    assert emu.notices.max_sessions[key] == 1
    assert emu.notices.refused_in_use.get(key, 0) == 0
    assert opened == 2  # the first holder's session, then the new holder's


def test_file_backend_failover(femu: ServedEmulator, tmp_path: Path) -> None:
    env = kis_env(femu, tmp_path)  # one folder: one host
    env["KIS_HTS_ID"] = femu.hts_id
    assert takeover_bound("file") < 1
    run_failover(femu, [env, env, env])


def test_redis_backend_failover(
    femu: ServedEmulator, tmp_path: Path, redis_server: RedisServer
) -> None:
    envs = []
    for i in range(3):  # a folder each: as three hosts
        home = tmp_path / f"host{i}"
        home.mkdir()
        env = kis_env(femu, home)
        env.update(KIS_HTS_ID=femu.hts_id, KIS_SHARED_STATE=redis_server.url)
        envs.append(env)
    assert takeover_bound("redis") < 5
    run_failover(femu, envs)
