"""GCRA rate limiter: spacing, burst, sharing between clients, never over N per second."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISRestClient
from stock_manager.adapters.broker.kis import constants as C
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter, shared_limiter

from ._support import APP_KEY, INQUIRY_PARAMS, RESV_CCNL, FakeClock, FakeKIS, SleepRecorder
from .conftest import make_config


def test_spacing_at_20_per_second() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(20, margin=0, clock=clock)
    waits = [limiter.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.05, 0.10, 0.15, 0.20])


def test_default_margin_adds_a_millisecond_per_request() -> None:
    assert C.RATE_LIMIT_MARGIN_S == 0.001
    clock = FakeClock(1000.0)
    limiter = RateLimiter(20, clock=clock)
    waits = [limiter.reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.051, 0.102, 0.153])
    with pytest.raises(ValueError, match="margin"):
        RateLimiter(20, margin=-0.1)


def test_time_passing_frees_slots() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(20, margin=0, clock=clock)
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(0.05)
    clock.advance(1.0)  # long idle: no debt carried over
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(0.05)


def test_burst_allows_back_to_back() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(2, burst=3, margin=0, clock=clock)
    assert [limiter.reserve() for _ in range(5)] == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0])


def test_penalise_pushes_later_slots() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(20, margin=0, clock=clock)
    limiter.penalise(1.0)
    assert limiter.reserve() == pytest.approx(1.0)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_invalid_arguments(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        RateLimiter(rate, burst=burst)


@pytest.mark.parametrize("margin", [0.0, C.RATE_LIMIT_MARGIN_S])
def test_never_more_than_20_in_any_second_across_threads(margin: float) -> None:
    clock = FakeClock(5000.0)
    limiter = RateLimiter(20, margin=margin, clock=clock)
    send_times: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(5):
            wait = limiter.reserve()
            with lock:
                send_times.append(clock() + wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(send_times) == 40
    times = sorted(send_times)
    # Every sliding 1-second window [t, t + 1) starting at a send holds at most 20 sends.
    for start in times:
        in_window = [t for t in times if start <= t < start + 1.0 - 1e-9]
        assert len(in_window) <= 20
    # ...and the limiter does not over-throttle either: exactly 1/20 s apart.
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([0.05 + margin] * 39)


def test_shared_limiter_same_key_same_object() -> None:
    a = shared_limiter("https://h.example:1", "key-shared-A", 20)
    b = shared_limiter("https://h.example:1", "key-shared-A", 20)
    c = shared_limiter("https://h.example:1", "key-shared-B", 20)
    d = shared_limiter("https://other.example:1", "key-shared-A", 20)
    assert a is b
    assert a is not c
    assert a is not d
    e = shared_limiter("https://h.example:1", "key-shared-A", 2)  # newest setting wins ...
    assert e is a  # ... in place: one budget per app key, whatever the rate
    assert e.rate == 2
    assert shared_limiter("https://h.example:1", "key-shared-A", 2) is e


async def test_sync_and_async_clients_share_the_limiter(tmp_path: Path, fake: FakeKIS) -> None:
    config = make_config(tmp_path, journal=False, kis_app_key=APP_KEY + "-share")
    sync = KISRestClient(config, transport=fake.transport)
    asyn = AsyncKISRestClient(config, transport=fake.transport)
    try:
        assert sync.limiter is asyn.limiter
        assert sync.limiter.rate == 20.0
        paper = KISRestClient(
            make_config(tmp_path, journal=False, kis_app_key=APP_KEY + "-share", mode="paper"),
            transport=fake.transport,
        )
        assert paper.limiter is not sync.limiter  # another host, another budget
        assert paper.limiter.rate == 2.0
        paper.close()
    finally:
        sync.close()
        await asyn.aclose()


def test_client_waits_for_the_limiter(
    make_client: Callable[..., KISRestClient],
    fake: FakeKIS,
    clock: FakeClock,
    sleeps: SleepRecorder,
) -> None:
    client = make_client(journal=False, limiter=RateLimiter(20, margin=0, clock=clock))
    for _ in range(3):
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    # Sleeping advances the fake clock, so each request waits one 50 ms slot.
    assert sleeps.calls == pytest.approx([0.05, 0.05])
    assert fake.api_count() == 3


# --- adaptive limit ---------------------------------------------------------------------------
def _drive(limiter: RateLimiter, clock: FakeClock, seconds: float, refuse_every: int) -> None:
    """Send at the limiter's pace for ``seconds``; every ``refuse_every``-th is EGW00201."""
    end = clock() + seconds
    n = 0
    while clock() < end:
        clock.advance(limiter.reserve())
        n += 1
        if refuse_every and n % refuse_every == 0:
            limiter.penalise(0.05)


def test_sustained_egw00201_lowers_the_rate_and_says_so_once(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RateLimiter(20, clock=clock, adaptive=True)
    with caplog.at_level("INFO", "stock_manager.kis.rate_limit"):
        _drive(limiter, clock, 60, refuse_every=2)  # a new key at 3/s would refuse most
    assert limiter.rate == 20  # the setting is unchanged ...
    assert limiter.effective_rate < 20 * 0.7 * 0.7  # ... the pace is not
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "KIS_RATE_LIMIT=3" in warnings[0].getMessage()
    limiter.set_rate(3)
    assert limiter.effective_rate == 3


def test_occasional_egw00201_does_not_lower_the_rate(clock: FakeClock) -> None:
    limiter = RateLimiter(20, clock=clock, adaptive=True)
    _drive(limiter, clock, 60, refuse_every=100)  # 1 %: jitter, not a lower limit
    assert limiter.effective_rate == 20


def test_plain_limiters_do_not_adapt(clock: FakeClock) -> None:
    limiter = RateLimiter(20, clock=clock)
    _drive(limiter, clock, 30, refuse_every=2)
    assert limiter.effective_rate == 20


# --- the send-log check right before sending --------------------------------------------------
def test_admit_holds_actual_sends_to_the_limit_in_any_window(clock: FakeClock) -> None:
    limiter = RateLimiter(20, clock=clock)
    # Twenty paced slots, but the threads all woke up late and now send together:
    assert [limiter.admit() for _ in range(20)] == [0.0] * 20
    wait = limiter.admit()  # the 21st would make 21 in a second at KIS
    assert wait == pytest.approx(1.0 + C.RATE_WINDOW_MARGIN_S)
    clock.advance(wait)
    assert limiter.admit() == 0.0


def test_admit_costs_nothing_when_sends_are_on_time(clock: FakeClock) -> None:
    limiter = RateLimiter(20, clock=clock)  # 51 ms apart: 20 of them span 1.02 s > 1.015 s
    for _ in range(100):
        clock.advance(limiter.reserve())
        assert limiter.admit() == 0.0


def test_client_waits_for_a_crowded_window(
    make_client: Callable[..., KISRestClient],
    fake: FakeKIS,
    clock: FakeClock,
    sleeps: SleepRecorder,
) -> None:
    limiter = RateLimiter(2, margin=0, burst=2, clock=clock)  # a burst of 2 fits in 0.5 s
    client = make_client(journal=False, limiter=limiter)
    for _ in range(3):
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    # The third is paced at 0.5 s, then held until 1.015 s after the first actual send.
    assert sum(sleeps.calls) == pytest.approx(1.0 + C.RATE_WINDOW_MARGIN_S)
    assert fake.api_count() == 3


def test_one_burst_of_egw00201_does_not_lower_the_rate(clock: FakeClock) -> None:
    limiter = RateLimiter(20, clock=clock, adaptive=True)
    _drive(limiter, clock, 5, refuse_every=0)
    for _ in range(10):  # e.g. the moment a shared Redis was lost: all in one second
        limiter.penalise(0.05)
    _drive(limiter, clock, 10, refuse_every=0)
    assert limiter.effective_rate == 20
