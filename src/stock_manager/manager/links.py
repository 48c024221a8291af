"""Which live reservation belongs to which declared id: a small SQLite file beside the journal.

A link is written *before* its reservation is placed (state ``placing``, with the exact terms
and the process id) and completed with the sequence number KIS returned (``live``). A run that
dies in between leaves a ``placing`` link: the next run matches it against the book by its
terms and receipt time (adopt) or, when its process is gone and the book does not show it,
drops it — so a re-run finishes the job without placing twice.

The file is created 0600 and holds no secrets and no account number.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

__all__ = ["Link", "LinkState", "LinkStore", "default_links_path"]

LinkState = Literal["placing", "live", "ended", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace   TEXT    NOT NULL,
    decl_id     TEXT    NOT NULL,
    seq         TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL,
    spec_hash   TEXT    NOT NULL,
    symbol      TEXT    NOT NULL,
    side        TEXT    NOT NULL,
    qty         INTEGER NOT NULL,
    price       TEXT    NOT NULL,
    order_type  TEXT    NOT NULL,
    end_date    TEXT    NOT NULL DEFAULT '',
    filled_qty  INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    pid         INTEGER NOT NULL,
    note        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS links_ns ON links (namespace, state);
"""
_COLS = (
    "id, namespace, decl_id, seq, state, spec_hash, symbol, side, qty, price, order_type, "
    "end_date, filled_qty, outcome, created_at, pid, note"
)


def default_links_path(journal_path: Path) -> Path:
    """``manager.sqlite3`` in the journal's directory."""
    return journal_path.parent / "manager.sqlite3"


@dataclass(frozen=True)
class Link:
    """One declared id ↔ reservation link (one row per reservation ever placed for the id)."""

    id: int
    namespace: str
    decl_id: str
    seq: str
    state: LinkState
    spec_hash: str
    symbol: str
    side: str
    qty: int
    price: str
    order_type: str
    end_date: str  # YYYYMMDD or ''
    filled_qty: int
    outcome: str  # how the reservation ended: filled / partial / unfilled / rejected / cancelled
    created_at: datetime
    pid: int
    note: str


class LinkStore:
    """The links table (SQLite, WAL, file mode 0600). Thread-safe within one process."""

    def __init__(self, path: str | Path, *, timeout: float = 10.0) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
            if mode & 0o077:
                os.fchmod(fd, mode & 0o700)
        finally:
            os.close(fd)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a "placing" link must survive power loss, like the journal's intents.
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    def links(self, namespace: str, *, states: tuple[LinkState, ...] = ()) -> list[Link]:
        """Links of ``namespace`` (every state unless ``states``), oldest first."""
        sql = f"SELECT {_COLS} FROM links WHERE namespace = ?"  # noqa: S608 (fixed columns)
        params: tuple[Any, ...] = (namespace,)
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            params += tuple(states)
        rows = self._exec(sql + " ORDER BY id", params).fetchall()
        return [_link(r) for r in rows]

    def all_seqs(self) -> set[str]:
        """Every sequence number linked in any namespace (never adopted twice)."""
        rows = self._exec("SELECT seq FROM links WHERE seq != ''").fetchall()
        return {str(r[0]) for r in rows}

    def begin_place(
        self,
        namespace: str,
        decl_id: str,
        spec_hash: str,
        terms: dict[str, Any],
        now: datetime,
    ) -> int:
        """Record the intent to place (committed before the request is sent)."""
        cur = self._exec(
            "INSERT INTO links (namespace, decl_id, state, spec_hash, symbol, side, qty, price,"
            " order_type, end_date, created_at, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                namespace,
                decl_id,
                "placing",
                spec_hash,
                terms["symbol"],
                terms["side"],
                int(terms["qty"]),
                str(terms["price"]),
                terms["order_type"],
                terms.get("end_date", ""),
                now.astimezone(UTC).isoformat(),
                os.getpid(),
            ),
        )
        return int(cur.lastrowid or 0)

    def update(self, link_id: int, **fields: Any) -> None:
        """Set columns of one link (``state``, ``seq``, ``filled_qty``, terms, ``note``...)."""
        if not fields:
            return
        allowed = {"seq", "state", "spec_hash", "qty", "price", "order_type", "end_date"}
        allowed |= {"filled_qty", "outcome", "note", "symbol", "side"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"unknown link field(s) {sorted(bad)}")
        cols = ", ".join(f"{k} = ?" for k in fields)
        self._exec(f"UPDATE links SET {cols} WHERE id = ?", (*fields.values(), link_id))  # noqa: S608


def _link(r: tuple[Any, ...]) -> Link:
    return Link(
        id=int(r[0]),
        namespace=str(r[1]),
        decl_id=str(r[2]),
        seq=str(r[3]),
        state=r[4],
        spec_hash=str(r[5]),
        symbol=str(r[6]),
        side=str(r[7]),
        qty=int(r[8]),
        price=str(r[9]),
        order_type=str(r[10]),
        end_date=str(r[11]),
        filled_qty=int(r[12]),
        outcome=str(r[13]),
        created_at=datetime.fromisoformat(str(r[14])),
        pid=int(r[15]),
        note=str(r[16]),
    )
