"""The Redis backend of the shared state: one budget and one token per app key across hosts.

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
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from stock_manager.masking import SECRET_FILTER, mask_key

from .. import constants as C
from ..auth import FileTokenStore, Token
from ..errors import KISConfigError
from .file_backend import FileBudget

__all__ = ["RedisBudget", "RedisConnection", "RedisTokenStore", "redis_display"]

# One logger for the shared state, whichever backend writes.
log = logging.getLogger("stock_manager.kis.shared_state")


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
