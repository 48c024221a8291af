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
from ._support import APP_KEY, APP_SECRET, RESV_CCNL, FakeKIS, local_kis_server
from .conftest import make_config

INTERVAL = 1 / 20 + C.RATE_LIMIT_MARGIN_S


def _slots(budget: FileBudget | RedisBudget, n: int) -> list[float]:
    """Absolute send times of ``n`` reservations (wall clock)."""
    out = []
    for _ in range(n):
        wait = budget.reserve(INTERVAL, 0.0)
        out.append(time.time() + wait)
    return out


def _assert_spaced(times: list[float], interval: float, slack: float) -> None:
    gaps = [b - a for a, b in itertools.pairwise(sorted(times))]
    assert min(gaps) >= interval - slack, min(gaps)


# --- file backend -----------------------------------------------------------------------------
def test_file_budget_is_private_and_shared_by_two_handles(tmp_path: Path) -> None:
    path = tmp_path / "tokens" / "budget-x.bin"
    a, b = FileBudget(path), FileBudget(path)  # two open file descriptions, as two processes
    times: list[float] = []
    lock = threading.Lock()

    def run(budget: FileBudget) -> None:
        got = _slots(budget, 20)
        with lock:
            times.extend(got)

    threads = [threading.Thread(target=run, args=(b_,)) for b_ in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(times) == 80
    # Slots are booked one interval apart whoever books them (slack: time.time() readings).
    _assert_spaced(times, INTERVAL, slack=0.005)
    assert path.stat().st_mode & 0o777 == 0o600


_BOOKER = textwrap.dedent(
    """
    import json, sys, time
    from stock_manager.adapters.broker.kis.shared_state import FileBudget
    budget = FileBudget(sys.argv[1])
    sys.stdin.readline()
    out = []
    for _ in range(int(sys.argv[2])):
        out.append(time.time() + budget.reserve(float(sys.argv[3]), 0.0))
    print(json.dumps(out))
    """
)


def test_file_budget_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "budget.bin"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _BOOKER, str(path), "15", str(INTERVAL)],
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
    times = [t for p in procs for t in json.loads(p.communicate(timeout=60)[0])]
    assert len(times) == 60
    _assert_spaced(times, INTERVAL, slack=0.005)


_HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_a_killed_holder_does_not_block_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "budget.bin"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    done = threading.Event()
    budget = FileBudget(path)

    def book() -> None:
        budget.reserve(INTERVAL, 0.0)
        done.set()

    thread = threading.Thread(target=book)
    thread.start()
    assert not done.wait(0.3)  # blocked by the live holder ...
    holder.kill()  # ... which dies holding the lock
    holder.wait()
    assert done.wait(10)  # the kernel released it
    thread.join()


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
    times: list[float] = []
    lock = threading.Lock()

    def run(budget: RedisBudget) -> None:
        got = _slots(budget, 15)
        with lock:
            times.extend(got)

    threads = [threading.Thread(target=run, args=(h,)) for h in hosts * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(times) == 60
    _assert_spaced(times, INTERVAL, slack=0.005)
    assert hosts[0].hosts == 2


def test_redis_keys_are_hashed_and_hold_no_secret(
    tmp_path: Path, redis_server: RedisServer, fake: FakeKIS
) -> None:
    config = _redis_config(tmp_path, redis_server.url)
    with KISRestClient(config, transport=fake.transport) as client:
        client.make_request("GET", RESV_CCNL, {})
        assert isinstance(client.tokens.store, RedisTokenStore)
    r = redis_server.client()
    keys = r.keys("*")
    digest = key_digest(config.effective_base_url, APP_KEY)
    assert keys
    assert all(k.startswith(f"{C.REDIS_KEY_PREFIX}:{digest}:") for k in keys)
    dump = json.dumps(
        {k: (r.get(k) if r.type(k) == "string" else r.zrange(k, 0, -1)) for k in keys}
    )
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
    resp = client.make_request("GET", {path!r}, {{"CANO": "00000000"}})
    print(resp.rt_cd, client.tokens.issued_count, flush=True)
    """
).format(app_key=APP_KEY, app_secret=APP_SECRET, path=RESV_CCNL)


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
    budget = RedisBudget(conn, "t:ns", "host-a", FileBudget(tmp_path / "b.bin"))
    other = RedisBudget(conn, "t:ns", "host-b", FileBudget(tmp_path / "other.bin"))
    budget.reserve(INTERVAL, 0.0)
    other.reserve(INTERVAL, 0.0)
    budget.reserve(INTERVAL, 0.0)
    assert budget.hosts == 2
    own_redis.kill()
    caplog.set_level(logging.INFO, "stock_manager.kis.shared_state")
    times = _slots(budget, 8)
    lost = [r for r in caplog.records if "lost Redis" in r.getMessage()]
    assert len(lost) == 1  # one warning for the whole outage
    assert "127.0.0.1" in lost[0].getMessage()
    assert not conn.up
    # Locally, at 90 % of half the rate: never more than the limit with the other host.
    fallback_interval = INTERVAL * 2 / C.REDIS_FALLBACK_SHARE
    _assert_spaced(times, fallback_interval, slack=0.005)
    own_redis.start()
    time.sleep(C.REDIS_PROBE_INTERVAL_S + 0.1)
    budget.reserve(INTERVAL, 0.0)
    assert conn.up
    assert any("is back" in r.getMessage() for r in caplog.records)
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
        client.make_request("GET", RESV_CCNL, {})
    assert httpx.URL(fake.token_requests[0].url).path == "/oauth2/tokenP"
