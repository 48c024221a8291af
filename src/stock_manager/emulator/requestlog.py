"""Log of every request the emulator received (admin calls excluded)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
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
        }


class RequestLog:
    """Bounded, thread-safe request log (oldest entries drop after ``maxlen``)."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._items: deque[RequestRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        """Add one record."""
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

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[RequestRecord]:
        with self._lock:
            return iter(list(self._items))

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._items[index]
