"""Controllable clock.

Every business-time rule (token lifetime, 1/min issuance, reservation dates, the entry window)
reads :meth:`EmulatorClock.now`, so tests can freeze and advance time instead of sleeping.

The per-second rate limits count *real* seconds, as KIS's gateway does, on
:meth:`EmulatorClock.budget_time`: a monotonic source plus every :meth:`~EmulatorClock.advance`.
A frozen business clock therefore still lets the budget refill as real time passes (issue #18:
a frozen clock used to refuse every call with EGW00201 after the first 20), while ``advance``
still slides the window at once for tests that step time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from stock_manager.emulator.config import KST, kst_now


class EmulatorClock:
    """Wraps a base time source with an offset and an optional frozen instant."""

    def __init__(
        self,
        source: Callable[[], datetime] | None = None,
        budget_source: Callable[[], float] | None = None,
    ) -> None:
        self._source = source or kst_now
        self._budget_source = budget_source or time.monotonic
        self._advanced = 0.0  # every advance() so far, in seconds: moves the budget time too
        self._offset = timedelta()
        self._frozen: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Current emulator time (aware, KST)."""
        base = self._frozen if self._frozen is not None else self._source()
        return (base + self._offset).astimezone(KST)

    def timestamp(self) -> float:
        """Current emulator time as POSIX seconds."""
        return self.now().timestamp()

    def budget_time(self) -> float:
        """Seconds on the clock the rate limits count: real (monotonic) time plus advances.

        Only differences matter. It never stands still while real time passes, even when
        :meth:`now` is frozen; :meth:`advance` and a :meth:`freeze` at a later instant move it
        forward with the business clock (a step back is not applied to it, so the budget never
        runs backwards).
        """
        return self._budget_source() + self._advanced

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward (or backward for negative values)."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            if seconds > 0:
                self._advanced += seconds
        return self.now()

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock at ``at`` (default: now). Advance still works while frozen."""
        with self._lock:
            if at is not None:
                if at.tzinfo is None:
                    raise ValueError("freeze() needs an aware datetime")
                # A jump forward is time passing: the budget moves with it, as with advance().
                jump = (at - self.now()).total_seconds()
                if jump > 0:
                    self._advanced += jump
                self._frozen = at
                self._offset = timedelta()
            else:
                self._frozen = self._source() + self._offset
                self._offset = timedelta()
        return self.now()

    def unfreeze(self) -> None:
        """Let the clock run again from the base source (offset kept)."""
        with self._lock:
            self._frozen = None

    @property
    def frozen(self) -> bool:
        """Whether the clock is currently frozen."""
        return self._frozen is not None
