"""One budget and one token per app key across processes (file) and hosts (Redis)."""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError, KISRestClient
from stock_manager.adapters.broker.kis import constants as C
from stock_manager.adapters.broker.kis.auth import FileTokenStore, TokenManager, key_digest
from stock_manager.adapters.broker.kis.shared_state import (
    FileBudget,
    RedisBudget,
    RedisConnection,
    RedisTokenStore,
    open_shared_state,
)

from ._redis import RedisServer
from ._support import APP_KEY, APP_SECRET, INQUIRY_PARAMS, RESV_CCNL, FakeKIS, local_kis_server
from .conftest import make_config

INTERVAL = 1 / 20 + C.RATE_LIMIT_MARGIN_S


T = 1_800_000_000.0  # a fixed "now": every booking sees the same clock reading


def _fixed() -> float:
    return T


def _assert_slots(waits: list[float], interval: float) -> None:
    """Bookings made at one instant get the slots 0, 1, 2, ... intervals ahead, each once."""
    assert sorted(waits) == pytest.approx([k * interval for k in range(len(waits))], abs=1e-4)


def _book_in_threads(budgets: list[FileBudget], each: int) -> list[float]:
    waits: list[float] = []
    lock = threading.Lock()

    def run(budget: FileBudget) -> None:
        got = [budget.reserve(INTERVAL, 0.0) for _ in range(each)]
        with lock:
            waits.extend(got)

    threads = [threading.Thread(target=run, args=(b,)) for b in budgets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return waits


# --- file backend -----------------------------------------------------------------------------
def test_file_budget_is_private_and_shared_by_two_handles(tmp_path: Path) -> None:
    path = tmp_path / "tokens" / "budget-x.bin"
    # two open file descriptions, as two processes have
    a, b = FileBudget(path, clock=_fixed), FileBudget(path, clock=_fixed)
    waits = _book_in_threads([a, b, a, b], each=20)
    _assert_slots(waits, INTERVAL)
    assert path.stat().st_mode & 0o777 == 0o600


_BOOKER = textwrap.dedent(
    """
    import json, sys
    from stock_manager.adapters.broker.kis.shared_state import FileBudget
    budget = FileBudget(sys.argv[1], clock=lambda: float(sys.argv[4]))
    sys.stdin.readline()
    print(json.dumps([budget.reserve(float(sys.argv[3]), 0.0) for _ in range(int(sys.argv[2]))]))
    """
)


def test_file_budget_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "budget.bin"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _BOOKER, str(path), "15", str(INTERVAL), str(T)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    waits = [w for p in procs for w in json.loads(p.communicate(timeout=60)[0])]
    _assert_slots(waits, INTERVAL)  # 60 distinct slots: no booking was lost or doubled


def test_file_budget_send_log_holds_the_window(tmp_path: Path) -> None:
    now = [T]
    budget = FileBudget(tmp_path / "b.bin", clock=lambda: now[0])
    other = FileBudget(tmp_path / "b.bin", clock=lambda: now[0])
    for i in range(20):
        now[0] = T + i * 0.01  # 20 sends within 0.2 s (late wake-ups crowd together)
        assert (budget if i % 2 else other).admit(20, 1.015) == 0.0
    now[0] = T + 0.5
    assert budget.admit(20, 1.015) == pytest.approx(0.515)  # the 21st waits for the 1st
    now[0] = T + 1.016
    assert other.admit(20, 1.015) == 0.0


def test_clients_of_one_key_share_the_file_budget(tmp_path: Path, fake: FakeKIS) -> None:
    config = make_config(tmp_path, journal=False)
    with (
        KISRestClient(config, transport=fake.transport) as one,
        KISRestClient(config, transport=fake.transport) as two,
    ):
        assert one.limiter is two.limiter
        budget = one.limiter.budget
        assert isinstance(budget, FileBudget)
        assert budget.path.parent == config.token_cache_dir
        assert key_digest(config.effective_base_url, APP_KEY) in budget.path.name
        assert APP_KEY not in str(budget.path)


# --- Redis backend ----------------------------------------------------------------------------
def _redis_config(tmp_path: Path, url: str, host: str = "a", **kw: object) -> KISConfig:
    return make_config(
        tmp_path, journal=False, token_cache_dir=tmp_path / host, shared_state=url, **kw
    )


def test_redis_budget_spaces_two_hosts(tmp_path: Path, redis_server: RedisServer) -> None:
    conn = RedisConnection(redis_server.url)
    hosts = [
        RedisBudget(conn, "t:ns", f"host{i}", FileBudget(tmp_path / f"h{i}" / "b.bin"))
        for i in range(2)
    ]
    slots: list[float] = []
    lock = threading.Lock()

    def run(budget: RedisBudget) -> None:
        got = [float(budget.reserve_in_redis(INTERVAL, 0.0)[3]) for _ in range(15)]
        with lock:
            slots.extend(got)

    threads = [threading.Thread(target=run, args=(h,)) for h in hosts * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slots) == 60
    gaps = [b - a for a, b in itertools.pairwise(sorted(slots))]
    assert min(gaps) >= INTERVAL - 2e-6  # server-clock slots: never closer than the interval
    assert hosts[0].reserve_in_redis(INTERVAL, 0.0)[2] == 2  # both hosts seen


def test_redis_send_log_holds_the_window(redis_server: RedisServer, tmp_path: Path) -> None:
    conn = RedisConnection(redis_server.url)
    budget = RedisBudget(conn, "t:ns", "h", FileBudget(tmp_path / "b.bin"))
    assert [budget.admit(3, 60.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert 59.0 < budget.admit(3, 60.0) <= 60.0  # the 4th within the window must wait
    assert redis_server.client().llen("t:ns:sent") == 3


def test_redis_keys_are_hashed_and_hold_no_secret(
    tmp_path: Path, redis_server: RedisServer, fake: FakeKIS
) -> None:
    config = _redis_config(tmp_path, redis_server.url)
    with KISRestClient(config, transport=fake.transport) as client:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
        assert isinstance(client.tokens.store, RedisTokenStore)
    r = redis_server.client()
    keys = r.keys("*")
    digest = key_digest(config.effective_base_url, APP_KEY)
    assert keys
    assert all(k.startswith(f"{C.REDIS_KEY_PREFIX}:{digest}:") for k in keys)
    values: dict[str, object] = {}
    for k in keys:
        kind = r.type(k)
        values[k] = {"string": r.get, "list": r.lrange, "zset": r.zrange}[kind](
            *([k] if kind == "string" else [k, 0, -1])
        )
    dump = json.dumps(values)
    assert APP_KEY not in dump
    assert APP_SECRET not in dump
    token = json.loads(r.get(f"{C.REDIS_KEY_PREFIX}:{digest}:token"))
    assert token["access_token"] == client.tokens.token.access_token  # type: ignore[union-attr]
    assert r.pttl(f"{C.REDIS_KEY_PREFIX}:{digest}:token") > 0


def test_redis_unreachable_at_start_names_the_host_and_sends_nothing(
    tmp_path: Path, fake: FakeKIS
) -> None:
    url = "redis://:hunter2@127.0.0.1:1/0"
    with pytest.raises(KISConfigError) as info:
        KISRestClient(_redis_config(tmp_path, url), transport=fake.transport)
    assert "127.0.0.1:1" in str(info.value)
    assert "hunter2" not in str(info.value)
    assert fake.api_count() == 0
    assert fake.token_requests == []


def test_shared_state_setting_is_validated_and_hidden(tmp_path: Path) -> None:
    with pytest.raises(KISConfigError, match="KIS_SHARED_STATE"):
        make_config(tmp_path, shared_state="memcached://x")
    config = make_config(tmp_path, shared_state="redis://:pw-secret@h:6380/2")
    assert "pw-secret" not in repr(config)
    assert config.shared_state_display == "redis://h:6380/2"
    assert make_config(tmp_path, shared_state="file").shared_state_url is None
    assert isinstance(config.shared_state, SecretStr)


_ISSUER = textwrap.dedent(
    """
    import sys
    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient

    base_url, cache_dir, url = sys.argv[1], sys.argv[2], sys.argv[3]
    client = KISRestClient(KISConfig(
        kis_app_key={app_key!r}, kis_app_secret={app_secret!r}, base_url=base_url,
        token_cache_dir=cache_dir, journal=False, shared_state=url,
    ))
    print("ready", flush=True)
    sys.stdin.readline()
    resp = client.make_request("GET", {path!r}, {params!r})
    print(resp.rt_cd, client.tokens.issued_count, flush=True)
    """
).format(app_key=APP_KEY, app_secret=APP_SECRET, path=RESV_CCNL, params=INQUIRY_PARAMS)


def test_two_hosts_one_issuance_through_redis(tmp_path: Path, redis_server: RedisServer) -> None:
    with local_kis_server(token_delay=0.3) as server:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _ISSUER,
                    base_url,
                    str(tmp_path / f"host{i}"),
                    redis_server.url,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(3)
        ]
        try:
            for p in procs:
                assert p.stdout is not None
                assert p.stdout.readline().strip() == "ready"
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            outputs = [p.communicate(timeout=60) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outputs]
        assert server.token_calls == 1
        assert sorted(int(out.split()[1]) for out, _ in outputs) == [0, 0, 1]


def test_redis_restarted_empty_causes_at_most_one_reissue(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    fake = FakeKIS()
    clients = [
        KISRestClient(_redis_config(tmp_path, own_redis.url, host=h), transport=fake.transport)
        for h in ("a", "b", "c")
    ]
    try:
        first = clients[0].issue_token()
        assert [c.issue_token() for c in clients[1:]] == [first, first]
        assert len(fake.token_requests) == 1
        own_redis.kill()
        own_redis.start()  # state lost
        for c in clients:
            c.tokens._last_attempt = None  # the 1/min rule is not under test here
            c.tokens.forget()  # e.g. KIS said EGW00123 everywhere at once
            # every host's own file copy is stale too: only Redis could have told them
            c.tokens.path.unlink(missing_ok=True)
        results: list[str] = []
        lock = threading.Lock()

        def get(client: KISRestClient) -> None:
            for _ in range(50):  # the first call may notice the dropped connection
                try:
                    tok = client.issue_token()
                    break
                except KISConfigError:
                    time.sleep(0.05)
            with lock:
                results.append(tok)

        threads = [threading.Thread(target=get, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(results)) == 1
        assert len(fake.token_requests) == 2  # exactly one re-issue for all three hosts
    finally:
        for c in clients:
            c.close()


def test_redis_lost_mid_run_falls_back_with_one_warning_and_returns(
    tmp_path: Path, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    conn = RedisConnection(own_redis.url)
    fallback = FileBudget(tmp_path / "b.bin", clock=_fixed)
    budget = RedisBudget(conn, "t:ns", "host-a", fallback)
    other = RedisBudget(conn, "t:ns", "host-b", FileBudget(tmp_path / "other.bin"))
    budget.reserve(INTERVAL, 0.0)
    other.reserve(INTERVAL, 0.0)
    budget.reserve(INTERVAL, 0.0)
    assert budget.hosts == 2
    own_redis.kill()
    caplog.set_level(logging.INFO, "stock_manager.kis.shared_state")
    waits = [budget.reserve(INTERVAL, 0.0) for _ in range(8)]
    lost = [r for r in caplog.records if "lost Redis" in r.getMessage()]
    assert len(lost) == 1  # one warning for the whole outage
    assert lost[0].levelname == "WARNING"
    assert "127.0.0.1" in lost[0].getMessage()
    assert not conn.up
    # Sends Redis admitted just before the loss are in no local log: one quiet window first.
    assert 0.9 < budget.admit(20, 1.015) <= 1.015
    # This host alone, at 90 % of half the rate: with the other host, under the limit.
    fallback_interval = INTERVAL * 2 / C.REDIS_FALLBACK_SHARE
    gaps = [b - a for a, b in itertools.pairwise(waits)]
    assert gaps == pytest.approx([fallback_interval] * 7, abs=1e-4)
    own_redis.start()
    time.sleep(C.REDIS_PROBE_INTERVAL_S + 0.1)
    budget.reserve(INTERVAL, 0.0)
    assert conn.up
    assert any("is back" in r.getMessage() for r in caplog.records)
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1
    assert own_redis.client().exists("t:ns:tat")


# --- config check -----------------------------------------------------------------------------
def test_open_shared_state_describes_the_backend(tmp_path: Path, redis_server: RedisServer) -> None:
    file_state = open_shared_state(make_config(tmp_path))
    assert file_state.kind == "file"
    redis_state = open_shared_state(_redis_config(tmp_path, redis_server.url))
    assert redis_state.kind == "redis"
    assert "127.0.0.1" in redis_state.description
    assert APP_KEY not in redis_state.description


def test_file_store_keeps_working_when_given_to_a_manager(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t", "https://h.example:1", APP_KEY)
    manager = TokenManager(
        base_url="https://h.example:1",
        app_key=APP_KEY,
        app_secret=SecretStr(APP_SECRET),
        cache_dir=tmp_path / "t",
        store=store,
    )
    assert manager.store is store
    assert manager.path == store.path


def test_env_selects_redis(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_SHARED_STATE", redis_server.url)
    config = KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET)
    assert config.shared_state_url == redis_server.url
    assert os.environ["KIS_SHARED_STATE"] == redis_server.url
    fake = FakeKIS()
    with KISRestClient(
        config.model_copy(update={"token_cache_dir": tmp_path / "t"}), transport=fake.transport
    ) as client:
        assert isinstance(client.limiter.budget, RedisBudget)
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert httpx.URL(fake.token_requests[0].url).path == "/oauth2/tokenP"


def test_redis_is_imported_only_when_a_redis_url_is_set(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
        client = KISRestClient(KISConfig(
            kis_app_key={APP_KEY!r}, kis_app_secret={APP_SECRET!r},
            token_cache_dir={str(tmp_path / "t")!r}, journal=False,
        ))
        client.limiter.reserve()
        print("redis" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"


# --- the async client never blocks its event loop on Redis ---------------------------------------
async def test_a_hanging_redis_does_not_block_the_async_clients_event_loop(
    tmp_path: Path, own_redis: RedisServer, fake: FakeKIS
) -> None:
    """A Redis that stops answering costs the request its socket timeout, not the event loop.

    The budget's Redis calls (reserve/admit, every request) run in a worker thread for the
    async client; before, they ran in the loop and froze every other task for up to
    ``REDIS_SOCKET_TIMEOUT_S``.
    """
    import asyncio
    import signal

    from stock_manager.adapters.broker.kis import AsyncKISRestClient

    config = _redis_config(tmp_path, own_redis.url)
    async with AsyncKISRestClient(config, transport=fake.transport) as client:
        await client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)  # token and connection up
        assert client.limiter.blocking_io
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.monotonic()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        assert own_redis.proc is not None
        own_redis.proc.send_signal(signal.SIGSTOP)  # hangs: connections stay open, no answer
        try:
            tick = asyncio.create_task(ticker())
            await asyncio.sleep(0.05)  # the ticker runs before the request starts
            started = time.monotonic()
            response = await client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
            took = time.monotonic() - started
            done.set()
            await tick
        finally:
            own_redis.proc.send_signal(signal.SIGCONT)
    assert response.rt_cd == "0"
    assert took >= C.REDIS_SOCKET_TIMEOUT_S * 0.9  # the request did wait for Redis ...
    assert max(gaps) < C.REDIS_SOCKET_TIMEOUT_S / 2  # ... while the loop kept running
