"""One rate budget and one access token per app key, across processes and hosts.

KIS counts requests per app key wherever they come from, so every process that uses a key must
draw from one budget. ``KIS_SHARED_STATE`` chooses where that budget (and the token) lives:

``file`` (the default, nothing to run)
    The budget is one private file (0600) beside the token cache, holding the GCRA "theoretical
    arrival time" as 8 bytes. A reservation takes ``fcntl.flock`` on it, reads, writes and lets
    go: a few microseconds, and the kernel drops the lock of a process that dies holding it.
    Hand-written because :mod:`filelock` (used for the rare token issuance) polls for a busy
    lock every few tens of milliseconds, which would add that much jitter to a 50 ms pacing.

``redis://[:password@]host:port/db`` or ``rediss://...`` (several hosts)
    The budget, the token and the issuance lock live in Redis under
    ``stock-manager:kis:<sha256(base URL, app key)[:24]>:*`` — never the key itself, and never
    the app secret. The Redis must be private: it holds live access tokens.

Why a hand-written GCRA Lua script and not a library (evaluated: ``limits`` and
``pyrate-limiter``, both well kept, both with Redis backends):

* both answer "may I go now?" (``limits``: ``hit``/``test`` on fixed or moving windows;
  ``pyrate-limiter``: ``try_acquire`` on a sliding log, with an optional blocking delay that
  the library sleeps itself). Our flows are sans-I/O: they need "when may I go?" as a number to
  ``yield Sleep(...)`` on, the same for threads and asyncio. With a yes/no answer, 128 waiting
  callers would poll Redis and race for each freed slot;
* a window that admits N at once sends N at once: arrivals that jitter by a few milliseconds
  then put N+1 into some second of KIS's sliding window. GCRA with burst 1 spaces requests
  ``1/rate + margin`` apart, the pacing the in-process limiter already had;
* the sliding-log buckets stamp entries with each host's own clock; the script below uses the
  Redis server's ``TIME``, so hosts with skewed clocks still share one timeline;
* it is one key and ~15 lines of Lua, atomic on the server, O(1) per request.

Faults:

* Redis unreachable when a client is created: :class:`KISConfigError` naming host and port
  (the CLI exits 2), before anything is sent to KIS.
* Redis lost mid-run: one warning; each host falls back to its file budget at
  ``REDIS_FALLBACK_SHARE`` of ``rate / hosts`` (hosts = those seen in the last
  ``REDIS_HOST_TTL_S``), starting after the last slot Redis had booked, so all hosts together
  stay under the limit; the token comes from memory or the host's file cache. One caller
  probes Redis every ``REDIS_PROBE_INTERVAL_S``; when it answers, the host goes back to it,
  honouring both budgets for a grace period so that slots booked locally are not overrun.
* Redis restarted with its state lost: tokens in memory go on being used; the first process that
  needs one takes the issuance lock, finds none and issues; the others wait on the lock and read
  it: at most one issuance across all hosts.

The Redis client (``redis``, the ``stock-manager[redis]`` extra) is imported only when a Redis
URL is configured. It is the blocking client for the async client too: one ``EVALSHA`` per
request (~0.2 ms on a LAN) runs in the event loop, as the microsecond file lock does; a Redis that
stops answering costs at most ``REDIS_SOCKET_TIMEOUT_S`` once, then the probe interval applies.
On platforms without ``flock``/``pread`` (Windows) the file budget is per process (one warning).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stock_manager.masking import SECRET_FILTER, mask_key

from . import constants as C
from .auth import FileTokenStore, Token, TokenStore, key_digest
from .errors import KISConfigError
from .rate_limit import Budget, MemoryBudget

if TYPE_CHECKING:
    from .config import KISConfig

try:  # POSIX only; elsewhere the file budget is this process's memory (said once)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FileBudget", "RedisBudget", "RedisTokenStore", "SharedState", "open_shared_state"]

log = logging.getLogger("stock_manager.kis.shared_state")


# --- file backend -----------------------------------------------------------------------------
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


# --- Redis backend ----------------------------------------------------------------------------
# KEYS[1] the TAT, KEYS[2] the hosts seen; ARGV: interval, tolerance, not_before (seconds from
# now), host id, host TTL. Returns {wait, booked ahead, hosts, the slot in server time} (numbers
# as strings: Lua numbers would be truncated to integers on the way out).
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local floor = now + tonumber(ARGV[3])
if tat < floor then tat = floor end
local wait = tat - tonumber(ARGV[2]) - now
if wait < 0 then wait = 0 end
local new_tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.6f', new_tat),
           'PX', math.ceil((new_tat - now) * 1000) + 60000)
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[2], math.ceil(tonumber(ARGV[5]) * 1000) + 60000)
return {string.format('%.6f', wait), string.format('%.6f', new_tat - now),
        redis.call('ZCARD', KEYS[2]), string.format('%.6f', tat)}
"""
_PENALISE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.6f', new_tat),
           'PX', math.ceil((new_tat - now) * 1000) + 60000)
return string.format('%.6f', new_tat - now)
"""
# The send log: KEYS[1] a list of send times, newest first; ARGV: count, window. Returns the
# wait as a string ("0" = logged, go).
_ADMIT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local count = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local oldest = tonumber(redis.call('LINDEX', KEYS[1], count - 1) or '')
if oldest and now - oldest < window then
  return string.format('%.6f', oldest + window - now)
end
redis.call('LPUSH', KEYS[1], string.format('%.6f', now))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 60000)
return '0'
"""
# Release the issuance lock only if we still hold it (it may have expired and been retaken).
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def redis_display(url: str) -> str:
    """``redis://host:port/db`` without user name or password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 6379
    db = parts.path.strip("/") or "0"
    return f"{parts.scheme}://{host}:{port}/{db}"


class RedisConnection:
    """A redis-py client plus the up/down state shared by the budget and the token store."""

    def __init__(self, url: str) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise KISConfigError(
                "KIS_SHARED_STATE is a Redis URL but the Redis client is not installed:"
                " pip install 'stock-manager[redis]'"
            ) from None
        self.display = redis_display(url)
        password = urlsplit(url).password
        if password:
            SECRET_FILTER.add(password)  # redis-py or a user's handler might echo the URL
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        # No client-side retries: a lost server must be noticed in about a second, not after
        # several reconnect attempts while callers wait.
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=C.REDIS_CONNECT_TIMEOUT_S,
            socket_timeout=C.REDIS_SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._lock = threading.Lock()
        self.up = True
        self._next_probe = 0.0
        #: How many times Redis was lost in this process (tests, the bench).
        self.outages = 0

    def check(self) -> None:
        """Ping; :class:`KISConfigError` naming the host when Redis does not answer."""
        try:
            self.client.ping()
        except self.errors as exc:
            raise KISConfigError(
                f"KIS_SHARED_STATE: cannot reach Redis at {self.display}"
                f" ({type(exc).__name__}: {_first_line(exc)}); nothing was sent to KIS."
                " Start it, fix the URL, or unset KIS_SHARED_STATE to share state through"
                " files on this host only"
            ) from None

    def lost(self, exc: BaseException, detail: str) -> None:
        """Note a failure; warn once per outage."""
        with self._lock:
            self._next_probe = time.monotonic() + C.REDIS_PROBE_INTERVAL_S
            if not self.up:
                return
            self.up = False
            self.outages += 1
        log.warning(
            "shared state: lost Redis at %s (%s: %s); %s until it answers again",
            self.display,
            type(exc).__name__,
            _first_line(exc),
            detail,
        )

    def probe(self) -> bool:
        """While down: one caller a ``REDIS_PROBE_INTERVAL_S`` pings; True when it is back."""
        with self._lock:
            if self.up:
                return True
            now = time.monotonic()
            if now < self._next_probe:
                return False
            self._next_probe = now + C.REDIS_PROBE_INTERVAL_S
        try:
            self.client.ping()
        except self.errors:
            return False
        with self._lock:
            was_down, self.up = not self.up, True
        if was_down:
            log.info("shared state: Redis at %s is back; using it again", self.display)
        return True


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]


class RedisBudget:
    """GCRA budget in Redis (server-side Lua, server clock), with the file budget as fallback."""

    #: Every call may wait on Redis (up to ``REDIS_SOCKET_TIMEOUT_S``): the async client runs
    #: them in a worker thread (see ``_flow.Call``).
    blocking_io = True

    def __init__(
        self, conn: RedisConnection, namespace: str, host_id: str, fallback: FileBudget
    ) -> None:
        self._conn = conn
        self._keys = [f"{namespace}:tat", f"{namespace}:hosts"]
        self._host_id = host_id
        self._fallback = fallback
        # One wall clock for the Redis horizon and the fallback's slots: the fallback's own.
        self._clock = fallback.clock
        self._reserve = conn.client.register_script(_RESERVE_LUA)
        self._penalise = conn.client.register_script(_PENALISE_LUA)
        self._admit = conn.client.register_script(_ADMIT_LUA)
        self._sent_key = f"{namespace}:sent"
        self._lock = threading.Lock()
        self._hosts = 1
        self._horizon = 0.0  # wall time up to which Redis had booked slots (last we heard)
        self._last_ok = self._clock()
        self._floor = 0.0  # fallback slots start here (wall time)
        self._grace_until = 0.0  # monotonic: honour the file budget too until then
        self._in_fallback = False
        self._fell_at = -float("inf")  # monotonic: when this process lost Redis

    @property
    def hosts(self) -> int:
        """Hosts that used the budget within ``REDIS_HOST_TTL_S`` (as of the last reply)."""
        return self._hosts

    def _fallback_interval(self, interval: float) -> float:
        return interval * max(1, self._hosts) / C.REDIS_FALLBACK_SHARE

    def _enter_fallback(self) -> None:
        now = self._clock()
        with self._lock:
            if not self._in_fallback:
                self._in_fallback = True
                self._fell_at = time.monotonic()
                # Slots Redis granted are still being used; others may have booked since our
                # last reply: count the time since then as booked too.
                unseen = min(now - self._last_ok, C.REDIS_RETURN_GRACE_S)
                self._floor = max(self._horizon, now) + unseen

    def _fall(self, exc: BaseException, interval: float) -> None:
        self._enter_fallback()
        rate = 1.0 / self._fallback_interval(interval)
        self._conn.lost(
            exc,
            f"this host uses its own budget at {rate:.3g}/s ({C.REDIS_FALLBACK_SHARE:.0%} of the"
            f" rate shared by {self._hosts} host(s)) and its local token cache",
        )

    def _back(self) -> None:
        with self._lock:
            if self._in_fallback:
                self._in_fallback = False
                ahead = self._fallback.ahead()
                self._grace_until = time.monotonic() + max(
                    C.REDIS_RETURN_GRACE_S, ahead + 2 * C.REDIS_PROBE_INTERVAL_S
                )

    def reserve_in_redis(
        self, interval: float, tolerance: float, not_before: float = 0.0
    ) -> tuple[str, str, int, str]:
        """One run of the GCRA script: (wait, booked ahead, hosts, slot in server time)."""
        reply = self._reserve(
            keys=self._keys,
            args=[interval, tolerance, not_before, self._host_id, C.REDIS_HOST_TTL_S],
        )
        wait_s, ahead_s, hosts, slot_s = reply
        return str(wait_s), str(ahead_s), int(hosts), str(slot_s)

    def reserve(self, interval: float, tolerance: float) -> float:
        """Book a slot in Redis (or, while it is lost, in this host's file budget)."""
        conn = self._conn
        if conn.up or conn.probe():
            self._back()
            grace = time.monotonic() < self._grace_until
            not_before = self._fallback.ahead() if grace else 0.0
            try:
                wait_s, ahead_s, hosts, _ = self.reserve_in_redis(interval, tolerance, not_before)
            except conn.errors as exc:
                self._fall(exc, interval)
            else:
                now = self._clock()
                wait = float(wait_s)
                with self._lock:
                    # A restarted Redis has forgotten the other hosts: until the grace period
                    # ends (they have all come back by then), keep the count we knew.
                    self._hosts = max(1, int(hosts), self._hosts if grace else 1)
                    self._horizon = max(self._horizon, now + float(ahead_s))
                    self._last_ok = now
                if grace:
                    local = self._fallback.reserve(self._fallback_interval(interval), tolerance)
                    wait = max(wait, local)
                return wait
        else:
            self._enter_fallback()  # the token store may have noticed the loss first
        return self._fallback.reserve(
            self._fallback_interval(interval), tolerance, not_before=self._floor
        )

    def admit(self, count: int, window: float) -> float:
        """The send-log check in Redis (or this host's share of it while Redis is lost)."""
        local = max(1, int(count * C.REDIS_FALLBACK_SHARE / max(1, self._hosts)))
        if self._conn.up:
            self._back()
            if time.monotonic() < self._grace_until:
                # Just back: Redis's send log is empty after a restart and the other hosts may
                # still be on their own. Threads that queued here during the outage must not
                # all go at once: keep this host to its share until the grace period ends.
                wait = self._fallback.admit(local, window)
                if wait > 0:
                    return wait
            try:
                return float(
                    self._admit(
                        keys=[self._sent_key], args=[count, window, C.RATE_WINDOW_MAX_COUNT]
                    )
                )
            except self._conn.errors as exc:
                self._fall(exc, 1.0 / max(count, 1))
        else:
            self._enter_fallback()
        # Sends admitted through Redis just before it was lost are in no local log: let a full
        # window pass before the first local admission, so that no second holds both.
        quiet = self._fell_at + window - time.monotonic()
        if quiet > 0:
            return quiet
        return self._fallback.admit(local, window)

    def penalise(self, seconds: float) -> None:
        """Push every later slot back (in Redis, or locally while it is lost)."""
        if self._conn.up:
            try:
                self._penalise(keys=self._keys[:1], args=[seconds])
                return
            except self._conn.errors as exc:
                self._fall(exc, 1.0)
        self._fallback.penalise(seconds)


class _RedisIssueLock:
    """Single-flight issuance across hosts: ``SET NX PX`` with a random value.

    The lock expires by itself (``REDIS_ISSUE_LOCK_TTL_S``) when its holder dies. A thread lock
    in front keeps the threads of one process from polling Redis. When Redis fails, the host's
    file lock is taken instead.
    """

    def __init__(self, conn: RedisConnection, key: str, fallback: FileTokenStore) -> None:
        self._conn = conn
        self._key = key
        self._fallback = fallback
        self._thread = threading.Lock()
        self._value = ""
        self._local: Any = None
        self._unlock = conn.client.register_script(_UNLOCK_LUA)

    def acquire(self) -> None:
        self._thread.acquire()
        try:
            value = secrets.token_hex(16)
            ttl_ms = int(C.REDIS_ISSUE_LOCK_TTL_S * 1000)
            while True:
                try:
                    if self._conn.client.set(self._key, value, nx=True, px=ttl_ms):
                        self._value, self._local = value, None
                        return
                except self._conn.errors as exc:
                    self._conn.lost(exc, "tokens come from memory and the local token cache")
                    self._local = self._fallback.issue_lock()
                    self._local.acquire()
                    return
                time.sleep(C.REDIS_LOCK_POLL_S)
        except BaseException:
            self._thread.release()
            raise

    def release(self) -> None:
        try:
            if self._local is not None:
                self._local.release()
                self._local = None
            else:
                with contextlib.suppress(*self._conn.errors):
                    self._unlock(keys=[self._key], args=[self._value])
        finally:
            self._thread.release()


class RedisTokenStore:
    """The token in Redis (JSON without the secret), with the host's file cache as a copy."""

    #: Reads and writes may wait on Redis: the async client runs them in a worker thread.
    blocking_io = True

    def __init__(self, conn: RedisConnection, namespace: str, fallback: FileTokenStore) -> None:
        self._conn = conn
        self._token_key = f"{namespace}:token"
        self._issued_key = f"{namespace}:last-issue"
        self.fallback = fallback
        self._lock = _RedisIssueLock(conn, f"{namespace}:issue-lock", fallback)
        self.location = f"{conn.display} (key {self._token_key})"

    def issue_lock(self) -> _RedisIssueLock:
        """The cross-host issuance lock."""
        return self._lock

    def _failed(self, exc: BaseException) -> None:
        self._conn.lost(exc, "tokens come from memory and the local token cache")

    def read(self) -> Token | None:
        """The shared token, or this host's copy while Redis is lost."""
        if self._conn.up:
            try:
                raw = self._conn.client.get(self._token_key)
            except self._conn.errors as exc:
                self._failed(exc)
            else:
                return _token_from_json(raw) if raw else None
        return self.fallback.read()

    def write(self, token: Token) -> None:
        """Store the token in Redis (expiring with it) and in this host's file cache."""
        payload = json.dumps(
            {
                "access_token": token.access_token,
                "token_type": token.token_type,
                "expires_at": token.expires_at,
                "issued_at": token.issued_at,
                "base_url": self.fallback.base_url,
                "app_key": mask_key(self.fallback.app_key),
            }
        )
        ttl_ms = max(1000, int((token.expires_at - time.time()) * 1000))
        if self._conn.up:
            try:
                pipe = self._conn.client.pipeline(transaction=True)
                pipe.set(self._token_key, payload, px=ttl_ms)
                pipe.set(self._issued_key, repr(token.issued_at), ex=24 * 3600)
                pipe.execute()
            except self._conn.errors as exc:
                self._failed(exc)
        self.fallback.write(token)

    def forget(self, issued_at: float | None) -> None:
        """Delete the shared token; keep the time of the last issuance."""
        if self._conn.up:
            try:
                self._conn.client.delete(self._token_key)
                if issued_at is not None:
                    self._conn.client.set(self._issued_key, repr(issued_at), ex=24 * 3600)
            except self._conn.errors as exc:
                self._failed(exc)
        self.fallback.forget(issued_at)

    def last_issue(self) -> float | None:
        """When the last token was issued by any host (or this host, while Redis is lost)."""
        local = self.fallback.last_issue()
        if self._conn.up:
            try:
                raw = self._conn.client.get(self._issued_key)
            except self._conn.errors as exc:
                self._failed(exc)
            else:
                with contextlib.suppress(TypeError, ValueError):
                    return max(float(str(raw)), local or 0.0)
        return local


def _token_from_json(raw: Any) -> Token | None:
    try:
        data = json.loads(raw)
        return Token(
            access_token=str(data["access_token"]),
            expires_at=float(data["expires_at"]),
            issued_at=float(data["issued_at"]),
            token_type=str(data.get("token_type", "Bearer")),
        )
    except (ValueError, KeyError, TypeError):
        return None


# --- opening ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SharedState:
    """The budget and the token store of one app key, plus a description for ``config check``."""

    kind: str  # "file" or "redis"
    description: str
    budget: Budget
    budget_id: Hashable
    tokens: TokenStore
    connection: RedisConnection | None = None


_states: dict[tuple[str, str, str, str], SharedState] = {}
_connections: dict[str, RedisConnection] = {}
_open_lock = threading.Lock()


def host_id(cache_dir: Path) -> str:
    """This host in the Redis host set: host name + token cache folder, hashed.

    The folder is part of it because processes that share a token cache folder share the file
    budget used while Redis is lost.
    """
    seed = f"{socket.gethostname()}\0{Path(cache_dir).expanduser().resolve()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def open_shared_state(config: KISConfig) -> SharedState:
    """The shared state of ``config``'s app key (one object per key and backend per process).

    Raises :class:`KISConfigError` when a Redis URL is configured and Redis does not answer.
    """
    base_url = config.effective_base_url
    url = config.shared_state_url
    cache_dir = Path(config.token_cache_dir).expanduser()
    key = (url or "file", str(cache_dir), base_url, config.kis_app_key)
    with _open_lock:
        state = _states.get(key)
        if state is not None:
            return state
        digest = key_digest(base_url, config.kis_app_key)
        file_budget = FileBudget(cache_dir / f"budget-{digest}.bin")
        file_tokens = FileTokenStore(cache_dir, base_url, config.kis_app_key)
        if url is None:
            state = SharedState(
                kind="file",
                description=f"file (budget {file_budget.path})",
                budget=file_budget,
                budget_id=("file", str(file_budget.path)),
                tokens=file_tokens,
            )
        else:
            conn = _connections.get(url)
            if conn is None:
                conn = RedisConnection(url)
                conn.check()
                _connections[url] = conn
            namespace = f"{C.REDIS_KEY_PREFIX}:{digest}"
            state = SharedState(
                kind="redis",
                description=f"redis {conn.display} (keys {namespace}:*)",
                budget=RedisBudget(conn, namespace, host_id(cache_dir), file_budget),
                budget_id=("redis", url, str(cache_dir)),
                tokens=RedisTokenStore(conn, namespace, file_tokens),
                connection=conn,
            )
        _states[key] = state
        return state
