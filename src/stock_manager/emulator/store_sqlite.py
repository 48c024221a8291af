"""SQLite persistence for emulator state (stdlib ``sqlite3``).

One key/value table of JSON documents keeps the schema trivial: the emulator's in-memory
model is the source of truth while running, and every mutation is written through so a
restarted emulator (same ``state_file``) sees the same reservations, orders, tokens and
sequence counters.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Any


class SqliteStore:
    """Write-through JSON document store keyed by (kind, key)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._lock = threading.Lock()
        # The emulator mutates state from the server thread and from test/admin threads.
        self._conn = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL never corrupts the file; a power cut may lose the last writes, which is
        # fine for an emulator and keeps placing 10,000 reservations from taking minutes.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS docs ("
            " kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,"
            " PRIMARY KEY (kind, key))"
        )

    def put(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        """Insert or replace one document."""
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO docs (kind, key, body) VALUES (?, ?, ?)", (kind, key, body)
            )

    def load(self, kind: str) -> list[dict[str, Any]]:
        """All documents of ``kind``."""
        with self._lock:
            rows = self._conn.execute("SELECT body FROM docs WHERE kind = ?", (kind,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()
