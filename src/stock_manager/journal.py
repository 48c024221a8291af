"""The order journal: a durable, secret-free log of every order-changing request.

Every request that may change an order at the broker (place, modify or cancel a
reservation order) is written here *before* it is sent (:meth:`OrderJournal.record_intent`)
and completed *after* with its outcome (:meth:`OrderJournal.complete`).  If the
process dies in between, the entry stays :attr:`Outcome.PENDING`; on the next start
:meth:`OrderJournal.needs_reconcile` reports it (together with :attr:`Outcome.UNKNOWN`
entries, whose request may or may not have reached the broker) so it can be checked
against the broker and closed with :meth:`OrderJournal.mark_reconciled`.

The journal is a single SQLite file (stdlib :mod:`sqlite3`, WAL mode) created with mode
0600.  It is safe to share between threads of one process (one connection guarded by a
lock) and between processes (SQLite file locking plus a busy timeout).

It never stores credentials or a full account number.  Callers are expected to pass an
already masked request, but everything written is masked again by :func:`mask_request`.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from .masking import mask_account, mask_request, scrub_text

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "SCHEMA_VERSION",
    "JournalEntry",
    "OrderJournal",
    "Outcome",
    "default_journal_path",
    "mask_account",
    "mask_request",
]

SCHEMA_VERSION = 4
"""Version of the on-disk schema, stored in ``PRAGMA user_version``."""

_COLUMNS = (
    "id, intent, tr_id, method, path, request, outcome, msg_cd, msg1, gt_uid, rt_cd, "
    "result, error, created_at, completed_at, pid, account, reference, note, sent_at, label, "
    "sent_skew_s"
)


class Outcome(StrEnum):
    """State of a journal entry."""

    PENDING = "pending"
    """Intent recorded, never completed (in flight, or the process died)."""
    OK = "ok"
    """KIS accepted the request."""
    REJECTED = "rejected"
    """KIS answered and refused the request."""
    NOT_SENT = "not_sent"
    """Failed before anything went on the network."""
    UNKNOWN = "unknown"
    """May have reached the broker (e.g. timeout after sending); needs reconciling."""
    RECONCILED_APPLIED = "reconciled_applied"
    """Checked against the broker afterwards: the request took effect."""
    RECONCILED_NOT_APPLIED = "reconciled_not_applied"
    """Checked against the broker afterwards: the request did not take effect."""


_RECONCILED = frozenset({Outcome.RECONCILED_APPLIED, Outcome.RECONCILED_NOT_APPLIED})
_NEEDS_RECONCILE = (Outcome.PENDING, Outcome.UNKNOWN)


@dataclass(frozen=True)
class JournalEntry:
    """One journalled order-changing request and its outcome.

    ``request``, ``result`` and ``account`` are stored masked.  ``completed_at`` is the
    time the current outcome was recorded (``None`` while pending); ``note`` holds the
    reconciliation note, if any.
    """

    id: int
    intent: str
    tr_id: str
    method: str
    path: str
    request: dict[str, Any]
    outcome: Outcome
    msg_cd: str
    msg1: str
    gt_uid: str
    rt_cd: str
    result: dict[str, Any]
    error: str
    created_at: datetime
    completed_at: datetime | None
    pid: int
    account: str
    reference: str
    note: str = ""
    sent_at: datetime | None = None
    """When the request last went on the wire (``None``: never, or a version-1 journal)."""
    label: str = ""
    """Who asked for the request, e.g. the manager's ``manager:<file>:<id>:<link>`` (no
    secrets): lets a later run tie an entry whose outcome was unknown to what asked for it."""
    sent_skew_s: float | None = None
    """At the last send, our clock minus KIS's was at most this many seconds (the upper bound
    of the latest ``Date`` measurement, :mod:`~stock_manager.adapters.broker.kis.skew`);
    ``None``: no measurement yet, or an older journal."""

    @property
    def last_sent_at(self) -> datetime:
        """The latest moment the request may have left: ``sent_at``, else ``created_at``."""
        return self.sent_at or self.created_at

    @property
    def needs_reconcile(self) -> bool:
        """True if the outcome is PENDING or UNKNOWN."""
        return self.outcome in _NEEDS_RECONCILE


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(mask_request(data), ensure_ascii=False, default=str)


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime not allowed in the journal: {moment!r}")
    # Fixed-width UTC text sorts chronologically, so "since" can compare strings.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def default_journal_path() -> Path:
    """Where the journal lives by default.

    ``$STOCK_MANAGER_HOME/journal.sqlite3`` if that variable is set, else
    ``$XDG_STATE_HOME/stock-manager/journal.sqlite3`` (only an absolute
    ``XDG_STATE_HOME`` counts, as the XDG spec says), else
    ``~/.local/state/stock-manager/journal.sqlite3``.
    """
    home = os.environ.get("STOCK_MANAGER_HOME")
    if home:
        return Path(home).expanduser() / "journal.sqlite3"
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "stock-manager" / "journal.sqlite3"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    intent       TEXT    NOT NULL,
    tr_id        TEXT    NOT NULL,
    method       TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    request      TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    msg_cd       TEXT    NOT NULL DEFAULT '',
    msg1         TEXT    NOT NULL DEFAULT '',
    gt_uid       TEXT    NOT NULL DEFAULT '',
    rt_cd        TEXT    NOT NULL DEFAULT '',
    result       TEXT    NOT NULL DEFAULT '{}',
    error        TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    completed_at TEXT,
    pid          INTEGER NOT NULL,
    account      TEXT    NOT NULL DEFAULT '',
    reference    TEXT    NOT NULL DEFAULT '',
    note         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS journal_outcome ON journal (outcome);
CREATE INDEX IF NOT EXISTS journal_created_at ON journal (created_at);
"""
# Version 2: when the request last went on the wire. Reconcile's settle window counts from
# there, not from the intent, which may precede the send by a token wait or back-off.
_MIGRATE_2 = "ALTER TABLE journal ADD COLUMN sent_at TEXT"
# Version 3: the caller's label (see JournalEntry.label).
_MIGRATE_3 = "ALTER TABLE journal ADD COLUMN label TEXT NOT NULL DEFAULT ''"
# Version 4: the clock difference known at the last send, so that reconcile can put the send on
# KIS's clock even when the server's clock moved since (issue #18: never trust two clocks).
_MIGRATE_4 = "ALTER TABLE journal ADD COLUMN sent_skew_s REAL"


class OrderJournal:
    """Append-then-complete journal of order-changing requests, backed by SQLite.

    ``clock`` returns the current time (timezone-aware); it defaults to
    ``datetime.now(UTC)``.  ``timeout`` is how long (seconds) to wait for another
    process holding the database lock.  Use as a context manager or call
    :meth:`close`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], datetime] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.path = Path(path).expanduser()
        self._clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_private_file(self.path)
        # Imported here: listing with the journal off never opens it (~1 ms, issue #14).
        import sqlite3

        # isolation_level=None: no implicit transactions; every write is an explicit
        # BEGIN IMMEDIATE ... COMMIT so read-check-write sequences are atomic across
        # processes.
        conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL (not the WAL default NORMAL): a committed intent must survive power
            # loss, not only a crash of this process.
            conn.execute("PRAGMA synchronous = FULL")
            self._conn: sqlite3.Connection | None = conn
            self._migrate()
        except BaseException:
            conn.close()
            raise

    # -- lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        """Close the database connection.  Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------

    def record_intent(
        self,
        *,
        intent: str,
        tr_id: str,
        method: str,
        path: str,
        request: Mapping[str, Any],
        account: str = "",
        reference: str = "",
        label: str = "",
    ) -> int:
        """Record that a request is about to be sent; return the new entry id.

        The row is committed (and synced) before this returns, so it survives the
        process dying while the request is in flight.  ``request`` and ``account`` are
        masked before they are stored; ``label`` names who asked (no secrets).
        """
        now = _ts(self._clock())
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO journal (intent, tr_id, method, path, request, outcome, created_at,"
                " pid, account, reference, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    intent,
                    tr_id,
                    method.upper(),
                    path,
                    _dumps(request),
                    Outcome.PENDING.value,
                    now,
                    os.getpid(),
                    mask_account(account),
                    reference,
                    scrub_text(label),
                ),
            )
            entry_id = cursor.lastrowid
        assert entry_id is not None
        return entry_id

    def mark_sent(self, entry_id: int, *, skew_s: float | None = None) -> None:
        """Record that the request of PENDING entry ``entry_id`` is going on the wire now.

        Called before every attempt; committed before the first byte leaves, so the settle
        window of :mod:`reconcile <stock_manager.adapters.broker.kis.reservations>` counts from
        the last send even if the process dies right after it. ``skew_s``: the upper bound of
        (our clock − KIS's) known now, if any (see :attr:`JournalEntry.sent_skew_s`).
        """
        now = _ts(self._clock())
        with self._transaction() as conn:
            conn.execute(
                "UPDATE journal SET sent_at = ?, sent_skew_s = ? WHERE id = ? AND outcome = ?",
                (now, skew_s, entry_id, Outcome.PENDING.value),
            )

    def now(self) -> datetime:
        """The journal's clock: the time base of ``created_at`` and ``sent_at``."""
        return self._clock()

    def credited(self, intent: str, *, exclude: int | None = None) -> dict[str, int]:
        """``reference -> entry id`` of entries of ``intent`` known to have taken effect.

        A place that KIS answered (OK) or that reconcile found (RECONCILED_APPLIED) owns its
        reservation: reconcile must not credit that reservation to another entry.
        """
        rows = self._query(
            f"SELECT {_COLUMNS} FROM journal WHERE intent = ? AND outcome IN (?, ?)"  # noqa: S608
            " AND reference != ''",
            (intent, Outcome.OK.value, Outcome.RECONCILED_APPLIED.value),
        )
        return {e.reference: e.id for e in rows if e.id != exclude}

    def complete(
        self,
        entry_id: int,
        *,
        outcome: Outcome,
        msg_cd: str = "",
        msg1: str = "",
        rt_cd: str = "",
        gt_uid: str = "",
        result: Mapping[str, Any] | None = None,
        error: str = "",
        reference: str | None = None,
        note: str = "",
    ) -> None:
        """Record the outcome of the request journalled as ``entry_id``.

        Allowed transitions: PENDING to any other outcome, and UNKNOWN to a
        RECONCILED_* outcome.  Anything else (completing twice, completing with
        PENDING) raises :class:`ValueError`; a missing entry raises :class:`KeyError`.
        Empty strings / ``None`` leave the stored field unchanged, so reconciling keeps
        the original ``msg_cd``, ``error``, ``result`` and so on.  ``result`` is masked.
        """
        outcome = Outcome(outcome)
        if outcome is Outcome.PENDING:
            raise ValueError("cannot complete an entry with outcome 'pending'")
        now = _ts(self._clock())
        with self._transaction() as conn:
            row = conn.execute("SELECT outcome FROM journal WHERE id = ?", (entry_id,)).fetchone()
            if row is None:
                raise KeyError(entry_id)
            current = Outcome(row[0])
            if not (
                current is Outcome.PENDING
                or (current is Outcome.UNKNOWN and outcome in _RECONCILED)
            ):
                raise ValueError(
                    f"journal entry {entry_id} is already completed ({current}); "
                    f"cannot change it to {outcome}"
                )
            conn.execute(
                "UPDATE journal SET outcome = ?, completed_at = ?, "
                "msg_cd = CASE WHEN ? = '' THEN msg_cd ELSE ? END, "
                "msg1 = CASE WHEN ? = '' THEN msg1 ELSE ? END, "
                "rt_cd = CASE WHEN ? = '' THEN rt_cd ELSE ? END, "
                "gt_uid = CASE WHEN ? = '' THEN gt_uid ELSE ? END, "
                "error = CASE WHEN ? = '' THEN error ELSE ? END, "
                "note = CASE WHEN ? = '' THEN note ELSE ? END, "
                "result = COALESCE(?, result), "
                "reference = COALESCE(?, reference) "
                "WHERE id = ?",
                (
                    outcome.value,
                    now,
                    *(msg_cd, msg_cd),
                    *(msg1, msg1),
                    *(rt_cd, rt_cd),
                    *(gt_uid, gt_uid),
                    *(2 * (scrub_text(error),)),
                    *(2 * (scrub_text(note),)),
                    None if result is None else _dumps(result),
                    reference,
                    entry_id,
                ),
            )

    def mark_reconciled(
        self, entry_id: int, *, applied: bool, note: str = "", reference: str | None = None
    ) -> None:
        """Close a PENDING or UNKNOWN entry after checking it against the broker.

        ``applied`` says whether the request took effect there; ``reference`` (e.g. the
        reservation a place turned out to have created) is stored with it.  Raises
        :class:`ValueError` if the entry already has a final outcome.
        """
        self.complete(
            entry_id,
            outcome=Outcome.RECONCILED_APPLIED if applied else Outcome.RECONCILED_NOT_APPLIED,
            note=note,
            reference=reference,
        )

    # -- reading -------------------------------------------------------------------

    def get(self, entry_id: int) -> JournalEntry:
        """Return entry ``entry_id``; raise :class:`KeyError` if there is none."""
        rows = self._query(f"SELECT {_COLUMNS} FROM journal WHERE id = ?", (entry_id,))  # noqa: S608
        if not rows:
            raise KeyError(entry_id)
        return rows[0]

    def pending(self) -> list[JournalEntry]:
        """Entries recorded but never completed (outcome PENDING), oldest first.

        At start-up these are requests whose process died mid-flight — but an entry of
        another live process that shares the journal is also PENDING; compare ``pid``.
        """
        return self._by_outcome((Outcome.PENDING,))

    def needs_reconcile(self) -> list[JournalEntry]:
        """Entries that must be checked against the broker: PENDING and UNKNOWN, oldest
        first."""
        return self._by_outcome(_NEEDS_RECONCILE)

    def labelled(self, label: str) -> list[JournalEntry]:
        """Entries recorded with exactly ``label``, oldest first."""
        return self._query(
            f"SELECT {_COLUMNS} FROM journal WHERE label = ? ORDER BY id",  # noqa: S608
            (scrub_text(label),),
        )

    def entries(
        self,
        *,
        limit: int | None = None,
        since: datetime | None = None,
        outcome: Outcome | None = None,
    ) -> list[JournalEntry]:
        """Entries newest first (by insertion order), optionally filtered.

        ``since`` keeps entries created at or after that (timezone-aware) moment;
        ``outcome`` keeps only that outcome; ``limit`` caps the number returned.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(_ts(since))
        if outcome is not None:
            clauses.append("outcome = ?")
            params.append(Outcome(outcome).value)
        # Only constant SQL fragments are interpolated; every value is a "?" parameter.
        sql = f"SELECT {_COLUMNS} FROM journal"  # noqa: S608
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id DESC"
        if limit is not None:
            if limit < 0:
                raise ValueError("limit must be >= 0")
            sql += " LIMIT ?"
            params.append(limit)
        return self._query(sql, params)

    # -- internals -----------------------------------------------------------------

    def _by_outcome(self, outcomes: tuple[Outcome, ...]) -> list[JournalEntry]:
        marks = ", ".join("?" * len(outcomes))
        return self._query(
            f"SELECT {_COLUMNS} FROM journal WHERE outcome IN ({marks}) ORDER BY id",  # noqa: S608
            [o.value for o in outcomes],
        )

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the order journal is closed")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            # IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so a
            # read-then-update cannot interleave with another process's write.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, params: Any) -> list[JournalEntry]:
        with self._lock:
            rows = self._connection().execute(sql, params).fetchall()
        return [_row_to_entry(row) for row in rows]

    def _migrate(self) -> None:
        with self._transaction() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"journal {self.path} has schema version {version}, newer than the "
                    f"supported {SCHEMA_VERSION}; upgrade stock-manager"
                )
            if version < 1:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version < 2:
                conn.execute(_MIGRATE_2)
            if version < 3:
                conn.execute(_MIGRATE_3)
                conn.execute("CREATE INDEX IF NOT EXISTS journal_label ON journal (label)")
            if version < 4:
                conn.execute(_MIGRATE_4)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 before SQLite opens it; tighten it if it exists.

    SQLite gives its -wal and -shm files the permissions of the database file.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, mode & 0o700)
    finally:
        os.close(fd)


def _row_to_entry(row: tuple[Any, ...]) -> JournalEntry:
    created_at = _parse_ts(row[13])
    assert created_at is not None
    return JournalEntry(
        id=int(row[0]),
        intent=row[1],
        tr_id=row[2],
        method=row[3],
        path=row[4],
        request=_loads(row[5]),
        outcome=Outcome(row[6]),
        msg_cd=row[7],
        msg1=row[8],
        gt_uid=row[9],
        rt_cd=row[10],
        result=_loads(row[11]),
        error=row[12],
        created_at=created_at,
        completed_at=_parse_ts(row[14]),
        pid=int(row[15]),
        account=row[16],
        reference=row[17],
        note=row[18],
        sent_at=_parse_ts(row[19]),
        label=row[20] or "",
        sent_skew_s=None if row[21] is None else float(row[21]),
    )
