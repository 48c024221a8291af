"""Controllable clock.

Every time-dependent rule (token lifetime, 1/min issuance, rate-limit window, reservation
dates) reads this clock, so tests can freeze and advance time instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from stock_manager.emulator.config import KST, kst_now


class EmulatorClock:
    """Wraps a base time source with an offset and an optional frozen instant."""

    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        self._source = source or kst_now
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

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward (or backward for negative values)."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock at ``at`` (default: now). Advance still works while frozen."""
        with self._lock:
            if at is not None:
                if at.tzinfo is None:
                    raise ValueError("freeze() needs an aware datetime")
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
