"""One WebSocket session per app key, across processes and hosts.

KIS allows one WebSocket session per app key: a second one is refused with OPSP8996 ("ALREADY
IN USE appkey"), and a slot retried too fast can stay stuck for hours (research §1.9-1.10).
So the processes that watch one app key elect one **holder**; the others are **followers**
and receive every event the holder sees. The backend is the one the rest of the shared state
uses (``KIS_SHARED_STATE``, :mod:`stock_manager.adapters.broker.kis.shared_state`):

``file`` (one host)
    The holder holds ``fcntl.flock`` on ``ws-<digest>.lock`` beside the token cache. The kernel
    releases it when the process dies, ``kill -9`` included, so there is nothing to expire.
    Events go to an append-only JSON-lines file per app key and KST day
    (``ws-<digest>-<YYYYMMDD>.jsonl``, 0600); a follower's position is a byte offset. Chosen
    over a Unix socket because a file needs no server: a follower that starts late, or
    restarts, reads the day from any offset; the holder never waits on a slow follower; and
    only the lock holder ever writes (a process without the lock cannot, a dead one neither).
    Followers poll the file every ``FILE_TAIL_POLL_S`` (a stat and a read of what is new).

``redis://...`` (several hosts)
    The holder holds ``<prefix>:<digest>:ws:holder`` (``SET NX PX``, a random token) with a
    TTL of ``HOLDER_TTL_S``, renewed every ``RENEW_EVERY_S``. Events go to the Redis Stream
    ``<prefix>:<digest>:ws:log:<YYYYMMDD>`` (``XADD``; followers ``XREAD BLOCK``; an entry id
    is the position, so a follower restarted with its last id resumes and misses nothing).
    ``XADD`` runs in a Lua script that first checks the lock token (fencing): a holder that
    lost its lease cannot write. A holder whose renewal fails, or is late by more than half
    the TTL, closes its WebSocket at once, before the lease can pass to another process.

Take-over: when the holder dies, a follower holds the session within ``TAKEOVER_BOUND_S``
(the bound of its backend; :func:`takeover_bound`). It first reads the log to its end (so it
knows everything the old holder delivered), then connects, subscribes, and reconciles with
REST (주식일별주문체결조회) through a ledger seeded with what was delivered: the fills of the
gap come as ``rest`` events, once, to every process. If KIS still holds the dead session's
slot, the session's OPSP8996 back-off (at least 20 s) comes on top of the bound.

Every process delivers exactly what is in the log, in log order: the holder appends an event
first and delivers it after; a follower delivers what it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from stock_manager.adapters.broker.kis import constants as C
from stock_manager.adapters.broker.kis.auth import key_digest
from stock_manager.adapters.broker.kis.config import KISConfig
from stock_manager.notices.events import Event, ExecutionEvent, Role, event_from_json
from stock_manager.notices.ledger import FillLedger
from stock_manager.notices.session import NoticeSession

__all__ = [
    "FILE_LOCK_POLL_S",
    "FILE_TAIL_POLL_S",
    "HOLDER_TTL_S",
    "RENEW_EVERY_S",
    "TAKEOVER_BOUND_S",
    "Channel",
    "Entry",
    "FileChannel",
    "LostLease",
    "RedisChannel",
    "SharedSession",
    "open_channel",
    "takeover_bound",
]

log = logging.getLogger("stock_manager.notices.shared")

#: Redis: the holder's lease, and how often it is renewed (a third of it).
HOLDER_TTL_S = 3.0
RENEW_EVERY_S = HOLDER_TTL_S / 3
#: Redis: how often a follower tries the lease (also its longest XREAD BLOCK).
REDIS_ACQUIRE_POLL_S = 0.25
#: File: how often a follower tries the lock, and polls the log for new lines.
FILE_LOCK_POLL_S = 0.05
FILE_TAIL_POLL_S = 0.01
#: After the holder dies, another process holds the session within this many seconds
#: (per backend). Connecting, subscribing and the REST reconciliation follow.
TAKEOVER_BOUND_S: dict[str, float] = {
    "file": FILE_LOCK_POLL_S + 0.05,
    "redis": HOLDER_TTL_S + REDIS_ACQUIRE_POLL_S + 0.25,
}
#: Redis: entries kept per day's stream (approximate trim) and how long a day's stream lives.
STREAM_MAXLEN = 200_000
STREAM_TTL_S = 3 * 86400


def takeover_bound(backend: str) -> float:
    """Seconds within which a follower holds the session after the holder died."""
    return TAKEOVER_BOUND_S[backend]


class LostLease(RuntimeError):
    """The holder's lease is gone (taken over, expired, or Redis unreachable)."""


@dataclass(frozen=True)
class Entry:
    """One logged event and its position (a byte offset or a stream entry id)."""

    id: str
    doc: dict[str, Any]


class Channel(Protocol):
    """Election and event log of one app key (see the module docstring)."""

    backend: str
    description: str
    #: The position before the first entry.
    start: str

    def try_acquire(self) -> bool:
        """Take the holder's lock if free; never waits."""

    def renew(self) -> bool:
        """Extend the lease; False when it is lost."""

    def release(self) -> None:
        """Give the lock up (no-op when not held)."""

    def publish(self, doc: dict[str, Any]) -> str:
        """Append an event (holder only); its position. :class:`LostLease` if not holder."""

    def read(self, after: str, block_s: float) -> list[Entry]:
        """Entries after ``after``, waiting up to ``block_s`` for the first one."""

    def close(self) -> None:
        """Release and free resources."""


# --- one host: a lock file and a JSON-lines log --------------------------------------------
class FileChannel:
    """``flock`` election and an append-only JSON-lines log in ``folder``."""

    backend = "file"
    start = "0"

    def __init__(self, folder: Path, digest: str, day: date) -> None:
        self.folder = Path(folder).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.lock_path = self.folder / f"ws-{digest}.lock"
        self.log_path = self.folder / f"ws-{digest}-{day:%Y%m%d}.jsonl"
        self.description = f"file (lock {self.lock_path})"
        self._lock_fd: int | None = None
        self._write_fd: int | None = None
        self._read_fd: int | None = None

    def try_acquire(self) -> bool:
        import fcntl  # POSIX; the lock is released by the kernel when the process dies

        if self._lock_fd is not None:
            return True
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def renew(self) -> bool:
        return self._lock_fd is not None  # a kernel lock does not expire

    def release(self) -> None:
        if self._write_fd is not None:
            os.close(self._write_fd)
            self._write_fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    def publish(self, doc: dict[str, Any]) -> str:
        if self._lock_fd is None:
            raise LostLease("not the holder")
        if self._write_fd is None:
            self._write_fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        line = (json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        os.write(self._write_fd, line)  # one write of one line, O_APPEND: never interleaved
        return str(os.lseek(self._write_fd, 0, os.SEEK_END))

    def _read_now(self, after: int) -> list[Entry]:
        if self._read_fd is None:
            try:
                self._read_fd = os.open(self.log_path, os.O_RDONLY)
            except FileNotFoundError:
                return []
        size = os.fstat(self._read_fd).st_size
        if size <= after:
            return []
        data = os.pread(self._read_fd, size - after, after)
        out: list[Entry] = []
        pos = after
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # a line still being written: read it next time
            pos += len(line)
            out.append(Entry(str(pos), json.loads(line)))
        return out

    def read(self, after: str, block_s: float) -> list[Entry]:
        deadline = time.monotonic() + block_s
        while True:
            got = self._read_now(int(after or 0))
            if got or time.monotonic() >= deadline:
                return got
            time.sleep(min(FILE_TAIL_POLL_S, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        self.release()
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None


# --- several hosts: a Redis lease and a Redis Stream -------------------------------------
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Fencing: only the lease's owner may append.
_PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return id
"""


class RedisChannel:
    """Redis lease (``SET NX PX`` + renewal) and a Redis Stream per app key and day.

    ``conn`` is the shared state's :class:`~stock_manager.adapters.broker.kis.shared_state.
    RedisConnection` (one per URL and process: its timeouts, its masked display).
    """

    backend = "redis"
    start = "0-0"

    def __init__(self, conn: Any, namespace: str, day: date, *, ttl_s: float = HOLDER_TTL_S):
        self.conn = conn
        self.client = conn.client
        self.lock_key = f"{namespace}:ws:holder"
        self.stream = f"{namespace}:ws:log:{day:%Y%m%d}"
        self.description = f"redis {conn.display} (keys {namespace}:ws:*)"
        self.ttl_ms = int(ttl_s * 1000)
        self._token: str | None = None
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self._publish = self.client.register_script(_PUBLISH)

    def try_acquire(self) -> bool:
        token = secrets.token_hex(16)
        try:
            ok = self.client.set(self.lock_key, token, nx=True, px=self.ttl_ms)
        except self.conn.errors as exc:
            self.conn.lost(exc, "no process holds the WebSocket session")
            return False
        if ok:
            self._token = token
        return bool(ok)

    def renew(self) -> bool:
        if self._token is None:
            return False
        try:
            ok = self._renew(keys=[self.lock_key], args=[self._token, self.ttl_ms])
        except self.conn.errors as exc:
            self.conn.lost(exc, "the WebSocket session is closed")
            ok = 0
        if not ok:
            self._token = None
        return bool(ok)

    def release(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            with contextlib.suppress(*self.conn.errors):
                self._release(keys=[self.lock_key], args=[token])

    def publish(self, doc: dict[str, Any]) -> str:
        if self._token is None:
            raise LostLease("not the holder")
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        try:
            entry = self._publish(
                keys=[self.lock_key, self.stream],
                args=[self._token, text, STREAM_MAXLEN, STREAM_TTL_S],
            )
        except self.conn.errors as exc:
            self.conn.lost(exc, "the WebSocket session is closed")
            entry = None
        if not entry:
            self._token = None
            raise LostLease("the lease passed to another process")
        return str(entry)

    def read(self, after: str, block_s: float) -> list[Entry]:
        block_ms = max(1, int(block_s * 1000)) if block_s > 0 else None
        try:
            reply = self.client.xread({self.stream: after}, count=1000, block=block_ms)
        except self.conn.errors as exc:
            self.conn.lost(exc, "followers receive nothing")
            time.sleep(min(block_s, C.REDIS_PROBE_INTERVAL_S))
            return []
        out: list[Entry] = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                out.append(Entry(str(entry_id), json.loads(fields["e"])))
        return out

    def close(self) -> None:
        self.release()


def open_channel(config: KISConfig, day: date) -> Channel:
    """The channel of ``config``'s app key on the configured shared-state backend."""
    from stock_manager.adapters.broker.kis.shared_state import open_shared_state

    state = open_shared_state(config)  # KISConfigError when Redis does not answer
    digest = key_digest(config.effective_base_url, config.kis_app_key)
    if state.kind == "redis" and state.connection is not None:
        return RedisChannel(state.connection, f"{C.REDIS_KEY_PREFIX}:{digest}", day)
    return FileChannel(Path(config.token_cache_dir).expanduser(), digest, day)


# --- the orchestration ----------------------------------------------------------------------
class SharedSession:
    """Every event of one app key's session, whichever process holds it.

    ``make_session(ledger)`` builds the :class:`NoticeSession` this process runs when it
    becomes the holder (``ledger``: what was already delivered); ``subscriptions`` are
    ``(tr_id, tr_key)`` pairs registered besides the execution notice. ``after`` resumes a
    follower from a position it delivered last (``None``: the day's log from its start).
    Iterate :meth:`events`; :meth:`close` ends it (and gives the session up).
    """

    def __init__(
        self,
        channel: Channel,
        make_session: Callable[[FillLedger], NoticeSession],
        *,
        notices: bool = True,
        subscriptions: Sequence[tuple[str, str]] = (),
        after: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        reconcile_window_s: float = 2.0,
    ) -> None:
        self.channel = channel
        self.make_session = make_session
        self.notices = notices
        self.subscriptions = list(subscriptions)
        self.position = after or channel.start
        self._clock = clock
        #: What this process delivered: seeds the ledger of a session it takes over.
        self.delivered = FillLedger(clock, reconcile_window_s)
        self.session: NoticeSession | None = None
        self.role: str = ""
        self.takeovers = 0
        self._closed = False
        self._lost = False

    @property
    def backend(self) -> str:
        """``file`` or ``redis``."""
        return self.channel.backend

    async def close(self) -> None:
        """Stop: the holder closes its session and releases the lock."""
        self._closed = True
        session = self.session
        if session is not None:
            await session.close()

    def _note(self, ev: Event) -> Event:
        if isinstance(ev, ExecutionEvent) and ev.kind == "filled":
            self.delivered.record(ev)
        return ev

    async def events(self) -> AsyncIterator[Event]:
        """Follow, take over when the holder is gone, hold; until :meth:`close`."""
        # The lock, the lease and appends are single quick calls (a syscall, or one Redis
        # round trip, as the shared rate budget makes in the event loop); only the follower's
        # blocking read runs in a worker thread.
        poll = REDIS_ACQUIRE_POLL_S if self.backend == "redis" else FILE_LOCK_POLL_S
        try:
            while not self._closed:
                if self.channel.try_acquire():
                    async for ev in self._hold():
                        yield ev
                    continue
                if self.role != "follower":
                    self.role = "follower"
                    yield Role("follower", self.backend, self.channel.description)
                for entry in await asyncio.to_thread(self.channel.read, self.position, poll):
                    self.position = entry.id
                    yield self._note(event_from_json(entry.doc))
                    if self._closed:
                        return
        finally:
            self.channel.close()

    async def _hold(self) -> AsyncIterator[Event]:
        # Everything the old holder logged first: the new session must know it was delivered.
        while entries := self.channel.read(self.position, 0.0):
            for entry in entries:
                self.position = entry.id
                yield self._note(event_from_json(entry.doc))
        if self.role == "follower":
            self.takeovers += 1
        self.role = "holder"
        yield Role("holder", self.backend, self.channel.description)
        session = self.make_session(copy.deepcopy(self.delivered))
        self.session = session
        self._lost = False
        if self.notices:
            await session.subscribe_notices()
        for tr, key in self.subscriptions:
            await session.subscribe(tr, key)
        keeper = asyncio.create_task(self._keep_lease(session))
        stream = session.events()
        try:
            async for ev in stream:
                if self._lost:
                    break
                try:
                    self.position = self.channel.publish(ev.to_json())
                except LostLease:
                    log.warning("notices: lost the WebSocket lease; closing the session")
                    break
                yield self._note(ev)
                if self._closed:
                    break
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await session.close()
            await stream.aclose()  # leaves the websockets context: the socket is closed
            self.session = None
            self.channel.release()

    async def _keep_lease(self, session: NoticeSession) -> None:
        """Renew the lease every ``RENEW_EVERY_S``; close the WebSocket as soon as it is in
        doubt (a renewal refused or failed, or this loop so late that a renewal could arrive after
        the lease expired), which is
        before the lease can expire and pass to another process."""
        if self.backend == "file":
            return  # the kernel lock lasts as long as this process
        last_ok = self._clock()
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            sent = self._clock()
            # The renewal must reach Redis before the lease could expire: sent at most a
            # socket timeout before that.
            if sent - last_ok < HOLDER_TTL_S - C.REDIS_SOCKET_TIMEOUT_S and self.channel.renew():
                last_ok = sent
                continue
            log.warning("notices: lost the WebSocket lease; closing the session")
            self._lost = True
            await session.close()
            return
