"""Client-side rate limiter, shared by threads, the sync client and the async client.

Hand-written on purpose: the limiter must serve blocking threads and asyncio tasks *at the same
time* with one budget, and take an injectable clock. Popular libraries are either sync-only or
async-only. The algorithm is GCRA (a token bucket expressed as a "theoretical arrival time"):
:meth:`RateLimiter.reserve` books the next free slot under a lock held for microseconds and
returns how long the caller must wait; the caller sleeps with whatever sleep it has (``time.sleep``
or ``asyncio.sleep``). Nobody sleeps while holding the lock.

The default burst is 1: requests are spaced ``1/rate + margin`` apart, which stays under KIS's
"N per second" in any sliding one-second window even when arrivals jitter a little, whereas a
full-size burst followed by steady traffic does not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .constants import RATE_LIMIT_MARGIN_S

__all__ = ["RateLimiter", "shared_limiter"]


class RateLimiter:
    """GCRA limiter: at most ``rate`` requests a second, ``burst`` of them back to back."""

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        margin: float = RATE_LIMIT_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if margin < 0:
            raise ValueError("margin must not be negative")
        self._margin = margin
        self._burst = burst
        self._interval = 1.0 / rate + margin
        self._tolerance = self._interval * (burst - 1)
        self._clock = clock
        self._tat = 0.0  # theoretical arrival time of the next request
        self._lock = threading.Lock()
        self.rate = rate

    def set_rate(self, rate: float) -> None:
        """Change the rate in place, keeping the booked slots (one budget per app key)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        with self._lock:
            self._interval = 1.0 / rate + self._margin
            self._tolerance = self._interval * (self._burst - 1)
            self.rate = rate

    def reserve(self) -> float:
        """Book a slot; return the seconds to wait before sending (0.0 when it may go now)."""
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            wait = max(0.0, tat - self._tolerance - now)
            self._tat = tat + self._interval
            return wait

    def penalise(self, seconds: float) -> None:
        """Push every later slot back, e.g. after the server said EGW00201."""
        with self._lock:
            self._tat = max(self._tat, self._clock()) + seconds


_registry: dict[tuple[str, str], RateLimiter] = {}
_registry_lock = threading.Lock()


def shared_limiter(base_url: str, app_key: str, rate: float) -> RateLimiter:
    """The process-wide limiter of one app key on one host (KIS counts per app key).

    Every client of the same key, sync or async, gets the same object; a different ``rate``
    changes it in place (the newest setting wins, the budget stays shared).
    """
    key = (base_url, app_key)
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = RateLimiter(rate)
            _registry[key] = limiter
        elif limiter.rate != rate:
            limiter.set_rate(rate)
        return limiter
