"""The file backend of the shared state: one rate budget per host, in a private file.

The budget is one private file (0600) beside the token cache, holding the GCRA "theoretical
arrival time" as 8 bytes, then a ring of recent send times. A reservation takes ``fcntl.flock``
on it, reads, writes and lets go: a few microseconds, and the kernel drops the lock of a process
that dies holding it. Hand-written because :mod:`filelock` (used for the rare token issuance)
polls for a busy lock every few tens of milliseconds, which would add that much jitter to a
50 ms pacing. On platforms without ``flock``/``pread`` (Windows) the budget is per process (one
warning). The token's file store is :class:`~stock_manager.adapters.broker.kis.auth.FileTokenStore`.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import constants as C
from ..rate_limit import MemoryBudget

try:  # POSIX only; elsewhere the file budget is this process's memory (said once)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FileBudget"]

# One logger for the shared state, whichever backend writes.
log = logging.getLogger("stock_manager.kis.shared_state")


class FileBudget:
    """GCRA state in a private file, shared by every process of the host that uses it."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock  # wall time: every process of the host reads the same clock
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._broken: OSError | None = None
        self._memory_tat = 0.0
        self._memory = MemoryBudget(clock)

    @property
    def clock(self) -> Callable[[], float]:
        """The wall clock the budget's slots are on."""
        return self._clock

    def _open(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own fd
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if fcntl is None or not hasattr(os, "pread"):  # pragma: no cover - Windows
                raise OSError("no flock/pread on this platform: use KIS_SHARED_STATE=redis://")
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def _update(self, step: Any, *args: Any) -> Any:
        with self._lock:
            if self._broken is not None:
                return self._in_memory(step, *args)
            try:
                fd = self._open()
            except OSError as exc:
                # A path that cannot hold the file (a file where the folder goes, ...): this
                # process keeps its own budget rather than failing every request.
                self._broken = exc
                log.warning(
                    "rate budget file %s cannot be used (%s: %s): this process paces itself"
                    " alone; fix the token cache folder to share the budget",
                    self.path,
                    type(exc).__name__,
                    exc,
                )
                return self._in_memory(step, *args)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if step is None:  # the send-log check (admit)
                    return self._admit_locked(fd, *args)
                raw = os.pread(fd, 8, 0)
                tat = struct.unpack("<d", raw)[0] if len(raw) == 8 else 0.0
                now = self._clock()
                if not math.isfinite(tat) or tat > now + C.SHARED_BUDGET_MAX_AHEAD_S:
                    tat = 0.0  # garbage, or the wall clock stepped back a long way
                new_tat, result = step(tat, now)
                os.pwrite(fd, struct.pack("<d", new_tat), 0)
                return result
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _in_memory(self, step: Any, *args: Any) -> Any:
        if step is None:
            return self._memory.admit(*args)
        now = self._clock()
        self._memory_tat, result = step(self._memory_tat, now)
        return result

    # Layout after the 8-byte TAT: the index of the next log entry (8 bytes), then a ring of
    # RATE_WINDOW_MAX_COUNT send times (8 bytes each).
    def _admit_locked(self, fd: int, count: int, window: float) -> float:
        size = C.RATE_WINDOW_MAX_COUNT
        raw = os.pread(fd, 8 + 8 * size, 8)
        if len(raw) < 8 + 8 * size:
            raw = raw.ljust(8 + 8 * size, b"\0")
        index = struct.unpack_from("<q", raw, 0)[0] % size
        now = self._clock()
        oldest = struct.unpack_from("<d", raw, 8 + 8 * ((index - count) % size))[0]
        if math.isfinite(oldest) and now - window < oldest <= now + window:
            return float(oldest + window - now)
        os.pwrite(fd, struct.pack("<q", index + 1), 8)
        os.pwrite(fd, struct.pack("<d", now), 16 + 8 * index)
        return 0.0

    def admit(self, count: int, window: float) -> float:
        """``0.0`` and log the send, or the wait until fewer than ``count`` sent in ``window``."""
        return float(self._update(None, min(count, C.RATE_WINDOW_MAX_COUNT), window))

    def reserve(self, interval: float, tolerance: float, not_before: float = 0.0) -> float:
        """Book a slot no earlier than wall time ``not_before``; return the wait for it."""

        def step(tat: float, now: float) -> tuple[float, float]:
            tat = max(tat, now, not_before)
            return tat + interval, max(0.0, tat - tolerance - now)

        return float(self._update(step))

    def penalise(self, seconds: float) -> None:
        """Push every later slot back by ``seconds``."""
        self._update(lambda tat, now: (max(tat, now) + seconds, None))

    def ahead(self) -> float:
        """How far ahead of now slots are booked (0 when none)."""
        return float(self._update(lambda tat, now: (tat, max(0.0, tat - now))))

    def close(self) -> None:
        """Close the file (the state stays on disk)."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
