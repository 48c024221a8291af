"""Client-side rate limiter, shared by threads, the sync client and the async client.

Hand-written on purpose: the limiter must serve blocking threads and asyncio tasks *at the same
time* with one budget, and take an injectable clock. Popular libraries are either sync-only or
async-only. The algorithm is GCRA (a token bucket expressed as a "theoretical arrival time"):
:meth:`RateLimiter.reserve` books the next free slot under a lock held for microseconds and
returns how long the caller must wait; the caller sleeps with whatever sleep it has (``time.sleep``
or ``asyncio.sleep``). Nobody sleeps while holding the lock.

Where the booked slots live is a :class:`Budget`: in memory (one process, the default of a bare
``RateLimiter``), in a private file shared by every process of the host, or in Redis shared by
every host (see :mod:`.shared_state`; the clients use those through :func:`shared_limiter`).

The default burst is 1: requests are spaced ``1/rate + margin`` apart, which stays under KIS's
"N per second" in any sliding one-second window even when arrivals jitter a little, whereas a
full-size burst followed by steady traffic does not.

**Adaptive limit** (``adaptive=True``, what :func:`shared_limiter` builds): when KIS keeps
answering EGW00201 — at least ``RATE_ADAPT_MIN_REFUSALS`` refusals that are at least
``RATE_ADAPT_MIN_SHARE`` of the requests of one ``RATE_ADAPT_WINDOW_S`` window, in at least
``RATE_ADAPT_MIN_SECONDS`` different seconds — the rate is
multiplied by ``RATE_ADAPT_FACTOR`` (never below ``RATE_ADAPT_MIN_RATE``). The first time it
logs one warning saying so and how to set ``KIS_RATE_LIMIT``; later steps are logged at INFO.
The lowered rate stays until :meth:`RateLimiter.set_rate` is called (e.g. a new client with
another ``KIS_RATE_LIMIT``) or the process ends: a key that was refused for a minute is
usually a new key (3/s for its first 3 days) or a second user of the key, neither of which
goes away by itself within a run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Protocol

from . import constants as C
from ._flow import blocking_io
from .constants import RATE_LIMIT_MARGIN_S

__all__ = ["Budget", "MemoryBudget", "RateLimiter", "shared_limiter"]

log = logging.getLogger("stock_manager.kis.rate_limit")


class Budget(Protocol):
    """Where the theoretical arrival time (TAT) of the next request lives.

    ``reserve`` books one slot ``interval`` seconds after the previous one and returns how long
    the caller must wait for it; ``penalise`` pushes every later slot back by ``seconds``;
    ``admit`` is the check right before sending: ``0.0`` means "go now" (the send is logged),
    a positive value means ``count`` sends already happened within ``window``: wait that long
    and ask again.
    Implementations are atomic across every user of the budget (threads, processes, hosts).
    One that may wait on the network sets ``blocking_io = True`` (see ``_flow.blocking_io``).
    """

    def reserve(self, interval: float, tolerance: float) -> float: ...

    def penalise(self, seconds: float) -> None: ...

    def admit(self, count: int, window: float) -> float: ...


class MemoryBudget:
    """The TAT in this process's memory, behind a thread lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tat = 0.0
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def reserve(self, interval: float, tolerance: float) -> float:
        """Book a slot; return the seconds to wait for it."""
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            wait = max(0.0, tat - tolerance - now)
            self._tat = tat + interval
            return wait

    def penalise(self, seconds: float) -> None:
        """Push every later slot back."""
        with self._lock:
            self._tat = max(self._tat, self._clock()) + seconds

    def admit(self, count: int, window: float) -> float:
        """``0.0`` and log the send, or how long until fewer than ``count`` sent in ``window``."""
        with self._lock:
            now = self._clock()
            sent = self._sent
            if len(sent) >= count:
                oldest = sent[-count]
                if now - oldest < window:
                    return float(oldest + window - now)
            sent.append(now)
            while len(sent) > C.RATE_WINDOW_MAX_COUNT:
                sent.popleft()
            return 0.0


class RateLimiter:
    """GCRA limiter: at most ``rate`` requests a second, ``burst`` of them back to back."""

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        margin: float = RATE_LIMIT_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
        budget: Budget | None = None,
        adaptive: bool = False,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if margin < 0:
            raise ValueError("margin must not be negative")
        self._margin = margin
        self._burst = burst
        self._clock = clock
        self._budget: Budget = budget if budget is not None else MemoryBudget(clock)
        self._lock = threading.Lock()
        self._adaptive = adaptive
        self._events: deque[tuple[float, bool]] = deque()  # (time, refused) for adaptation
        self._last_adapt = -float("inf")
        self._warned = False
        self.rate = rate
        self._apply(rate)

    def _apply(self, effective: float) -> None:
        self._effective = effective
        self._interval = 1.0 / effective + self._margin
        self._tolerance = self._interval * (self._burst - 1)

    @property
    def effective_rate(self) -> float:
        """The rate in force: ``rate``, or lower after sustained EGW00201 (adaptive limiters)."""
        return self._effective

    @property
    def budget(self) -> Budget:
        """Where the booked slots live (memory, a shared file, Redis)."""
        return self._budget

    @property
    def blocking_io(self) -> bool:
        """Whether :meth:`reserve`, :meth:`admit` and :meth:`penalise` may wait.

        True for every budget beyond this process's memory: the Redis one (a network round
        trip) and the file one, whose ``flock`` waits for whichever process holds it (held for
        microseconds, unless that process is descheduled mid-hold on a busy machine). The
        async client then calls them in a worker thread (``_flow.Call``), so its event loop
        never waits on another process; only the memory budget is called in place.
        """
        return blocking_io(self._budget) or not isinstance(self._budget, MemoryBudget)

    def set_rate(self, rate: float) -> None:
        """Change the rate in place, keeping the booked slots (one budget per app key)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        with self._lock:
            self.rate = rate
            self._apply(rate)
            self._events.clear()

    def reserve(self) -> float:
        """Book a slot; return the seconds to wait before sending (0.0 when it may go now)."""
        with self._lock:
            interval, tolerance = self._interval, self._tolerance
            if self._adaptive:
                self._observe(refused=False)
        return self._budget.reserve(interval, tolerance)

    def admit(self) -> float:
        """Right before sending: ``0.0`` = send now; else wait that long and call again.

        Holds the *actual* sends to ``floor(rate)`` in any ``1 s + RATE_WINDOW_MARGIN_S``, which
        the paced slots of :meth:`reserve` alone cannot promise when threads wake up late.
        """
        count = int(self._effective)
        if count < 1 or count > C.RATE_WINDOW_MAX_COUNT:
            return 0.0  # below 1/s the pacing is the window; far above, nothing to protect
        return self._budget.admit(count, 1.0 + C.RATE_WINDOW_MARGIN_S)

    def penalise(self, seconds: float) -> None:
        """Push every later slot back, e.g. after the server said EGW00201."""
        if self._adaptive:
            with self._lock:
                self._observe(refused=True)
        self._budget.penalise(seconds)

    # --- adaptation (called with self._lock held) -----------------------------------------
    def _observe(self, *, refused: bool) -> None:
        now = self._clock()
        events = self._events
        events.append((now, refused))
        cutoff = now - C.RATE_ADAPT_WINDOW_S
        while events and events[0][0] < cutoff:
            events.popleft()
        if not refused or now - self._last_adapt < C.RATE_ADAPT_WINDOW_S:
            return
        refusals = sum(1 for _, r in events if r)
        requests = sum(1 for _, r in events if not r)
        seconds = len({int(t) for t, r in events if r})
        if (
            refusals < C.RATE_ADAPT_MIN_REFUSALS
            or refusals < C.RATE_ADAPT_MIN_SHARE * max(requests, 1)
            # one burst (a fault, a restart) is not a lower limit: refusals must recur
            or seconds < C.RATE_ADAPT_MIN_SECONDS
        ):
            return
        old = self._effective
        new = max(C.RATE_ADAPT_MIN_RATE, old * C.RATE_ADAPT_FACTOR)
        self._last_adapt = now
        events.clear()
        if new >= old:
            return
        self._apply(new)
        if not self._warned:
            self._warned = True
            log.warning(
                "KIS refused %d of %d requests with EGW00201 within %.0f s: lowering this app"
                " key's rate from %.3g/s to %.3g/s for the rest of the run. A key issued in the"
                " last %d days may be limited to %.0f/s: set KIS_RATE_LIMIT=%.0f (see"
                " `stock-manager config check`)",
                refusals,
                requests,
                C.RATE_ADAPT_WINDOW_S,
                old,
                new,
                C.NEW_KEY_LIMITED_DAYS,
                C.NEW_KEY_REQUESTS_PER_SECOND,
                C.NEW_KEY_REQUESTS_PER_SECOND,
            )
        else:
            log.info("still refused with EGW00201: rate lowered to %.3g/s", new)


_registry: dict[tuple[str, str, Hashable], RateLimiter] = {}
_registry_lock = threading.Lock()


def shared_limiter(
    base_url: str,
    app_key: str,
    rate: float,
    *,
    budget: Budget | None = None,
    budget_id: Hashable = None,
) -> RateLimiter:
    """The process-wide limiter of one app key on one host (KIS counts per app key).

    Every client of the same key, sync or async, gets the same object; a different ``rate``
    changes it in place (the newest setting wins, the budget stays shared). ``budget`` is the
    shared store of booked slots (a file or Redis, from :mod:`.shared_state`), identified by
    ``budget_id``; without one the budget is this process's memory.
    """
    key = (base_url, app_key, budget_id)
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = RateLimiter(rate, budget=budget, adaptive=True)
            _registry[key] = limiter
        elif limiter.rate != rate:
            limiter.set_rate(rate)
        return limiter
