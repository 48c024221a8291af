"""Log of every request the emulator received (admin calls excluded).

Each record carries ``time`` (when the response was logged) and, for requests that reached the
per-app-key rate gate, ``admitted``: the emulator-clock instant the gate counted (or refused)
them — the same instant the sliding window uses. Per-second counts over ``admitted`` are exact;
counts over ``time`` smear by however long each request took.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stock_manager.emulator.config import KST


@dataclass(frozen=True)
class RequestRecord:
    """One received request: ``status`` 0 means the connection was dropped with no response."""

    method: str
    path: str
    name: str
    tr_id: str
    status: int
    msg_cd: str
    time: float  # emulator clock, POSIX seconds
    fault: str = ""
    admitted: float | None = None  # when the rate gate counted it (None: never reached it)

    @property
    def at(self) -> datetime:
        """Emulator time of the request as an aware KST datetime."""
        return datetime.fromtimestamp(self.time, KST)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "method": self.method,
            "path": self.path,
            "name": self.name,
            "tr_id": self.tr_id,
            "status": self.status,
            "msg_cd": self.msg_cd,
            "time": self.at.isoformat(),
            "fault": self.fault,
            "admitted": (
                datetime.fromtimestamp(self.admitted, KST).isoformat()
                if self.admitted is not None
                else None
            ),
        }


# The gateway stamps the request it is processing; ``RequestLog.append`` takes the stamp. A
# context variable because the stamp is made deep in request processing, in the same task that
# later logs the record, and concurrent requests run in separate tasks.
_ADMISSION: ContextVar[float | None] = ContextVar("emulator_admission", default=None)


def stamp_admission(ts: float) -> None:
    """Note that the rate gate counted the current request at emulator time ``ts``."""
    _ADMISSION.set(ts)


class RequestLog:
    """Bounded, thread-safe request log (oldest entries drop after ``maxlen``)."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._items: deque[RequestRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        """Add one record (with the admission stamp of the current request, if any)."""
        stamp = _ADMISSION.get()
        if stamp is not None:
            _ADMISSION.set(None)
            if record.admitted is None:
                record = dataclasses.replace(record, admitted=stamp)
        with self._lock:
            self._items.append(record)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._items.clear()

    def filter(
        self, *, path: str | None = None, name: str | None = None, tr_id: str | None = None
    ) -> list[RequestRecord]:
        """Records matching every given criterion (path, endpoint name, TR_ID)."""
        with self._lock:
            items = list(self._items)
        return [
            r
            for r in items
            if (path is None or r.path == path)
            and (name is None or r.name == name)
            and (tr_id is None or r.tr_id == tr_id)
        ]

    def count(
        self, *, path: str | None = None, name: str | None = None, tr_id: str | None = None
    ) -> int:
        """How many records match."""
        return len(self.filter(path=path, name=name, tr_id=tr_id))

    def max_in_window(
        self, window: float = 1.0, *, msg_cd: str | None = None, exclude_msg_cd: str = ""
    ) -> int:
        """The most requests the rate gate counted in any ``window`` seconds (half-open).

        ``msg_cd`` keeps only records with that code; ``exclude_msg_cd`` drops one code (e.g.
        ``"EGW00201"`` to count only what was let through).
        """
        with self._lock:
            times = sorted(
                r.admitted
                for r in self._items
                if r.admitted is not None
                and (msg_cd is None or r.msg_cd == msg_cd)
                and (not exclude_msg_cd or r.msg_cd != exclude_msg_cd)
            )
        best = 0
        for i, t in enumerate(times):
            # requests in [t, t + window): the gate's window is (now - window, now]
            j = bisect.bisect_left(times, t + window, lo=i)
            best = max(best, j - i)
        return best

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[RequestRecord]:
        with self._lock:
            return iter(list(self._items))

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._items[index]
