"""Access tokens: issue (``/oauth2/tokenP``), cache, refresh and revoke (``/oauth2/revokeP``).

KIS allows one issuance a minute per app key (EGW00133), returns the same token when asked again
within six hours, and sends the account holder a KakaoTalk message per issuance. So a token is
shared by every thread and process of the user:

* in memory, behind a thread lock (single flight inside a process);
* on disk, one private file (0600) per (base URL, app key) under ``token_cache_dir``, behind a
  file lock, so N processes starting together cause exactly one issuance. The file holds the
  token and its expiry, never the app secret.

Where the token lives is a :class:`TokenStore`: :class:`FileTokenStore` by default, or Redis
(``KIS_SHARED_STATE=redis://...``, see :mod:`.shared_state`) so that every host shares it.

Cache edges: a path that cannot hold the cache (a directory where the file goes, a file where the
folder goes) is a :class:`KISConfigError` naming the path, logged once, while the issued token
keeps working from memory for the run (``TokenManager.cache_error``; ``config check`` shows it);
a cache file readable by others is tightened to 0600 with a warning; temp files of writers that
died mid-write are removed; the time of the last issuance survives a revoke, and an EGW00133
answer waits out the minute (within ``token_issue_max_wait``) instead of failing.

Issuance is a flow (see :mod:`._flow`), so the sync and async clients share it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from stock_manager.masking import SECRET_FILTER, mask_key

from . import constants as C
from ._flow import Acquire, Call, Flow, Send, SendResult, Sleep, blocking_io
from .errors import (
    KISAuthError,
    KISConfigError,
    KISServerError,
    KISTransportError,
    TokenIssueRateLimitedError,
)
from .skew import report_once

__all__ = ["FileTokenStore", "Token", "TokenManager", "TokenStore", "key_digest"]

log = logging.getLogger("stock_manager.kis.auth")
KST = timezone(timedelta(hours=C.KST_UTC_OFFSET_HOURS))


@dataclass(frozen=True)
class Token:
    """An access token and the epoch seconds it was issued at and expires at."""

    access_token: str = field(repr=False)  # a bearer credential: never in a repr
    expires_at: float
    issued_at: float
    token_type: str = "Bearer"

    def valid_at(self, now: float, margin: float) -> bool:
        """Usable at ``now`` with at least ``margin`` seconds to spare."""
        return now < self.expires_at - margin


def key_digest(base_url: str, app_key: str) -> str:
    """The name of one app key on one host in files and Redis keys (never the key itself)."""
    return hashlib.sha256(f"{base_url}\0{app_key}".encode()).hexdigest()[:24]


class Lock(Protocol):
    """A blocking lock (what :class:`._flow.Acquire` takes)."""

    def acquire(self) -> Any: ...

    def release(self) -> Any: ...


class TokenStore(Protocol):
    """Where the token of one app key is kept and its issuance is serialised.

    ``read``/``write`` raise :class:`KISConfigError` for a path that cannot hold the cache;
    ``forget`` deletes the token but keeps the time of the last issuance (KIS's 1/min rule
    still counts it). A store that may wait on the network sets ``blocking_io = True`` (see
    ``_flow.blocking_io``).
    """

    location: str

    def read(self) -> Token | None: ...

    def write(self, token: Token) -> None: ...

    def forget(self, issued_at: float | None) -> None: ...

    def last_issue(self) -> float | None: ...

    def issue_lock(self) -> Lock: ...


class _IssueLock:
    """Thread lock + inter-process file lock, taken together.

    When the lock file cannot be created (the cache folder's path is a file, ...), the problem
    is reported through ``on_problem`` and only the thread lock is taken: the run goes on.
    """

    def __init__(self, path: Path, on_problem: Callable[[KISConfigError], None]) -> None:
        # Imported here: the lock is made only when a token must be issued, never when the
        # cached one is used (most start-ups; filelock costs ~4 ms to import, issue #14).
        from filelock import FileLock

        self._thread = threading.Lock()
        # thread_local=False: the async client takes the lock in a worker thread and releases it
        # in the event-loop thread.
        self._file = FileLock(str(path), thread_local=False)
        self._path = path
        self._on_problem = on_problem
        self._file_held = False

    def acquire(self) -> None:
        self._thread.acquire()
        try:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._file.acquire()
                self._file_held = True
            except OSError as exc:
                self._file_held = False
                self._on_problem(_path_error(self._path.parent, exc))
        except BaseException:
            self._thread.release()
            raise

    def release(self) -> None:
        try:
            if self._file_held:
                self._file_held = False
                self._file.release()
        finally:
            self._thread.release()


def _path_error(path: Path, exc: OSError) -> KISConfigError:
    if isinstance(exc, IsADirectoryError):
        what = "is a directory"
    elif isinstance(exc, FileExistsError | NotADirectoryError):
        what = "is not a directory (a file is in the way)"
    elif isinstance(exc, PermissionError):
        what = "is not writable"
    else:
        what = f"cannot be used ({type(exc).__name__})"
    return KISConfigError(
        f"token cache {path} {what}; the token is kept in memory for this run only."
        " Fix the path or set KIS_TOKEN_CACHE_DIR"
    )


class FileTokenStore:
    """The token in one private file (0600) per (base URL, app key) under ``cache_dir``."""

    #: File I/O (a home folder may be on a network filesystem): the async client reads and
    #: writes the cache in a worker thread (``_flow.Call``), never on its event loop. It
    #: happens once per process and per new token, so the thread hop costs nothing that shows.
    blocking_io = True

    def __init__(self, cache_dir: Path, base_url: str, app_key: str) -> None:
        self.cache_dir = Path(cache_dir)
        self.base_url = base_url
        self.app_key = app_key
        digest = key_digest(base_url, app_key)
        self.path = self.cache_dir / f"token-{digest}.json"
        # The last issuance time outlives a revoke here (KIS's 1/min rule still counts it).
        self.issue_path = self.cache_dir / f"token-{digest}.issued"
        self.location = str(self.path)
        self._lock: _IssueLock | None = None
        self._lock_guard = threading.Lock()
        self.on_problem: Callable[[KISConfigError], None] = _raise

    def issue_lock(self) -> _IssueLock:
        """The thread + file lock that serialises issuance on this host."""
        with self._lock_guard:
            if self._lock is None:
                self._lock = _IssueLock(self.path.with_suffix(".lock"), self.on_problem)
            return self._lock

    def read(self) -> Token | None:
        """The cached token, or ``None`` (missing or unreadable file)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _path_error(self.path, exc) from None
        if stat.S_ISDIR(st.st_mode):
            raise _path_error(self.path, IsADirectoryError(str(self.path)))
        if st.st_mode & 0o077:
            # Someone (an older version, a copy, a umask) left it readable by others: it holds
            # a live token. Tighten it rather than refuse it.
            with contextlib.suppress(OSError):
                os.chmod(self.path, 0o600)
                log.warning(
                    "token cache %s was readable by others (mode %o): tightened to 0600",
                    self.path,
                    stat.S_IMODE(st.st_mode),
                )
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Token(
                access_token=str(data["access_token"]),
                expires_at=float(data["expires_at"]),
                issued_at=float(data["issued_at"]),
                token_type=str(data.get("token_type", "Bearer")),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, token: Token) -> None:
        """Replace the cache file atomically (created 0600 from the first byte)."""
        payload = {
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "issued_at": token.issued_at,
            "expires_at_kst": datetime.fromtimestamp(token.expires_at, KST).isoformat(),
            "base_url": self.base_url,
            "app_key": mask_key(self.app_key),
        }
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_private(self.path, json.dumps(payload))
            self._remove_stale_temp_files()
        except OSError as exc:
            target = self.path if self.cache_dir.is_dir() else self.cache_dir
            raise _path_error(target, exc) from None

    def forget(self, issued_at: float | None) -> None:
        """Delete the token; remember when the last one was issued."""
        if issued_at is not None:
            with contextlib.suppress(OSError):
                _write_private(self.issue_path, json.dumps({"issued_at": issued_at}))
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            self.path.unlink()

    def last_issue(self) -> float | None:
        """When the last token was issued, as far as this host knows."""
        times: list[float] = []
        for path in (self.path, self.issue_path):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                times.append(float(json.loads(path.read_text(encoding="utf-8"))["issued_at"]))
        return max(times) if times else None

    def _remove_stale_temp_files(self) -> None:
        # A writer killed between creating its temp file and the rename leaves it behind.
        # "Old" is judged on the filesystem's clock, from the token file just written: a
        # process clock that is off (or a network filesystem's) must not make a live writer's
        # temp file look stale.
        cutoff = self.path.stat().st_mtime - C.TOKEN_TMP_STALE_S
        for tmp in self.cache_dir.glob(f"{self.path.stem}.*.tmp"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
    # Created 0600 from the first byte: a chmod after writing would leave a window.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _raise(exc: KISConfigError) -> None:
    raise exc


class TokenManager:
    """Issues, caches and revokes the access token of one app key on one host."""

    def __init__(
        self,
        *,
        base_url: str,
        app_key: str,
        app_secret: SecretStr,
        cache_dir: Path,
        clock: Callable[[], float] = time.time,
        max_wait: float = C.TOKEN_ISSUE_MAX_WAIT_S,
        refresh_margin: float = C.TOKEN_REFRESH_MARGIN_S,
        store: TokenStore | None = None,
    ) -> None:
        self._base_url = base_url
        self._app_key = app_key
        self._app_secret = app_secret
        self._clock = clock
        self._max_wait = max_wait
        self._margin = refresh_margin
        self._file = FileTokenStore(cache_dir, base_url, app_key)
        self._file.on_problem = self._cache_problem
        self._store: TokenStore = store if store is not None else self._file
        for shared in (store, getattr(store, "fallback", None)):
            if isinstance(shared, FileTokenStore):
                shared.on_problem = self._cache_problem
        self.cache_dir = self._file.cache_dir
        #: The file cache (with Redis shared state: this host's copy and fallback).
        self.path = self._file.path
        self._token: Token | None = None
        self._last_attempt: float | None = None
        self._problem_lock = threading.Lock()
        #: The cache path problem met in this run (the token then lives in memory only).
        self.cache_error: KISConfigError | None = None
        #: How many tokens this manager obtained from ``/oauth2/tokenP`` (tests and status).
        self.issued_count = 0

    # --- public -------------------------------------------------------------------------------
    @property
    def token(self) -> Token | None:
        """The token in memory, if any (it may be expired)."""
        return self._token

    @property
    def store(self) -> TokenStore:
        """Where the token is shared (the cache file, or Redis)."""
        return self._store

    def cached(self) -> Token | None:
        """The token from memory or the cache, whatever its expiry (no network)."""
        return self._token or self._read_store()

    def check_cache(self) -> None:
        """Raise :class:`KISConfigError` naming the path if the token cache cannot be used."""
        self._file.read()
        folder = self._file.cache_dir
        for parent in (folder, *folder.parents):
            if parent.exists():
                if not parent.is_dir():
                    raise _path_error(parent, NotADirectoryError(str(parent)))
                if not os.access(parent, os.W_OK | os.X_OK):
                    raise _path_error(parent, PermissionError(str(parent)))
                break

    def token_flow(self, *, rejected: str | None = None) -> Flow[str]:
        """A valid access token: from memory, the cache, or a new issuance.

        ``rejected`` is a token the server just refused (EGW00121/122/123): never return it.
        """
        tok = self._usable(self._token, rejected)
        if tok:
            return tok
        # The stores replace the token atomically (os.replace, one Redis value), so it can be
        # read without the lock: a fresh process with a valid cached token (most commands)
        # never takes the lock nor imports filelock (start-up, issue #14). A store that cannot
        # be read is left to the locked path below, which reports it.
        # A store's I/O (a file, a Redis round trip) is yielded, so the async client runs it
        # in a worker thread (``_flow.Call``); the blocking client reads in place.
        io = blocking_io(self._store)
        with contextlib.suppress(KISConfigError):
            stored = yield Call(self._store.read, io)
            tok = self._usable(stored, rejected)
            if tok:
                self._token = stored
                SECRET_FILTER.add(tok)
                return tok
        lock = self._store.issue_lock()
        yield Acquire(lock)
        try:
            # Another thread or process may have issued while we waited for the lock.
            stored = yield Call(self._read_store, io)
            tok = self._usable(stored, rejected)
            if tok:
                self._token = stored
                SECRET_FILTER.add(tok)
                return tok
            waited = 0.0
            while True:
                last = max(self._last_attempt or 0.0, (yield Call(self._last_issue, io)) or 0.0)
                wait = last + C.TOKEN_ISSUE_MIN_INTERVAL_S - self._clock()
                if wait > 0:
                    if waited + wait > self._max_wait:
                        raise TokenIssueRateLimitedError(
                            f"KIS issues one token a minute per app key; the next issuance is"
                            f" possible in {wait:.0f} s",
                            retry_after=wait,
                            msg_cd="EGW00133",
                        )
                    log.warning(
                        "waiting %.0f s before issuing a token (KIS allows one a minute per"
                        " app key)",
                        wait,
                    )
                    yield Sleep(wait)
                    waited += wait
                self._last_attempt = self._clock()
                result: SendResult = yield Send(self._issue_request())
                try:
                    token = self._accept_issue(result)
                except TokenIssueRateLimitedError:
                    # KIS counted an issuance we did not see (another host, a lost record):
                    # wait the minute out, as long as the caller allows.
                    if waited + C.TOKEN_ISSUE_MIN_INTERVAL_S > self._max_wait:
                        raise
                    continue
                break
            # Memory first: a cache that cannot be written must not throw the token away.
            self._token = token
            SECRET_FILTER.add(token.access_token)
            self.issued_count += 1
            yield Call(partial(self._write_store, token), io)
            log.info("issued a new access token for app key %s", mask_key(self._app_key))
            return token.access_token
        finally:
            lock.release()

    def revoke_flow(self) -> Flow[bool]:
        """Revoke the cached token at KIS and forget it; ``False`` when there was none."""
        io = blocking_io(self._store)
        lock = self._store.issue_lock()
        yield Acquire(lock)
        try:
            token = self._token or (yield Call(self._read_store, io))
            self._token = None
            known = (token and token.issued_at, (yield Call(self._last_issue, io)))
            last = max([t for t in known if t] or [0.0])
            yield Call(partial(self._store.forget, last or None), io)
            if token is None:
                return False
            body = {
                "appkey": self._app_key,
                "appsecret": self._app_secret.get_secret_value(),
                "token": token.access_token,
            }
            result: SendResult = yield Send(self._post(C.REVOKE_PATH, body))
            data = _json(result)
            status = result.response.status_code if result.response is not None else None
            if status != 200 or (isinstance(data, dict) and "error_code" in data):
                code, desc = _token_error(data)
                raise KISAuthError(
                    f"token revocation refused: {desc}", msg_cd=code, http_status=status
                )
            return True
        finally:
            lock.release()

    def forget(self) -> None:
        """Drop the in-memory token (the cache stays)."""
        self._token = None

    # --- internals ----------------------------------------------------------------------------
    def _cache_problem(self, exc: KISConfigError) -> None:
        with self._problem_lock:
            first = self.cache_error is None
            self.cache_error = exc
        if first:
            log.warning("%s", exc)

    def _read_store(self) -> Token | None:
        try:
            return self._store.read()
        except KISConfigError as exc:
            self._cache_problem(exc)
            return None

    def _write_store(self, token: Token) -> None:
        try:
            self._store.write(token)
        except KISConfigError as exc:
            self._cache_problem(exc)

    def _last_issue(self) -> float | None:
        try:
            return self._store.last_issue()
        except KISConfigError:
            return None

    def _usable(self, token: Token | None, rejected: str | None) -> str | None:
        if token is None or token.access_token == rejected:
            return None
        return token.access_token if token.valid_at(self._clock(), self._margin) else None

    def _post(self, path: str, body: dict[str, str]) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._base_url + path,
            json=body,
            headers={"content-type": C.CONTENT_TYPE, "user-agent": C.USER_AGENT},
        )

    def _issue_request(self) -> httpx.Request:
        return self._post(
            C.TOKEN_PATH,
            {
                "grant_type": "client_credentials",
                "appkey": self._app_key,
                "appsecret": self._app_secret.get_secret_value(),
            },
        )

    def _accept_issue(self, result: SendResult) -> Token:
        if result.error is not None:
            if isinstance(result.error, httpx.ConnectError | httpx.ConnectTimeout):
                raise KISTransportError(
                    f"could not reach {self._base_url} to issue a token: {result.error}"
                )
            raise KISServerError(f"token issuance got no reply: {type(result.error).__name__}")
        assert result.response is not None
        status = result.response.status_code
        data = _json(result)
        if isinstance(data, dict) and data.get("access_token") and status == 200:
            now = self._clock()
            return Token(
                access_token=str(data["access_token"]),
                expires_at=_expiry(data, now),
                issued_at=now,
                token_type=str(data.get("token_type") or "Bearer"),
            )
        code, desc = _token_error(data)
        if code == "EGW00133":
            raise TokenIssueRateLimitedError(
                f"KIS refused to issue a token: {desc} (one issuance a minute per app key)",
                retry_after=C.TOKEN_ISSUE_MIN_INTERVAL_S,
                msg_cd=code,
                msg1=desc,
                http_status=status,
            )
        if not code and status >= 500:
            raise KISServerError(f"token issuance failed with HTTP {status}", http_status=status)
        raise KISAuthError(
            f"KIS refused to issue a token: {desc or 'no reason given'}",
            msg_cd=code,
            msg1=desc,
            http_status=status,
        )


def _json(result: SendResult) -> Any:
    if result.response is None:
        return None
    try:
        return result.response.json()
    except ValueError:
        return None


def _token_error(data: Any) -> tuple[str, str]:
    if isinstance(data, dict):
        code = str(data.get("error_code") or data.get("msg_cd") or "").strip()
        desc = str(data.get("error_description") or data.get("msg1") or "").strip()
        return code, desc
    return "", ""


def _expiry(data: dict[str, Any], now: float) -> float:
    """When a token just issued at ``now`` (the local clock) expires, on the local clock.

    The lifetime is counted from ``expires_in`` on our own clock: the absolute
    ``access_token_token_expired`` is written on KIS's clock, so a client clock that is off (or
    a server date that is) would make a fresh token look expired, or alive past its end. The
    absolute date is used only to report the skew (once), or, when ``expires_in`` is missing,
    as a lifetime measured against the server's own issuance time is unknowable: then the
    default lifetime applies.
    """
    lifetime = _positive_seconds(data.get("expires_in"))
    server_end = _kst_timestamp(data.get("access_token_token_expired"))
    if lifetime is None:
        lifetime = float(C.TOKEN_DEFAULT_LIFETIME_S)
    elif server_end is not None:
        skew = server_end - (now + lifetime)
        if abs(skew) > C.TOKEN_EXPIRY_SKEW_REPORT_S:
            # skew is KIS's clock minus ours; reported as ours minus KIS's, once per process.
            report_once(-skew, "from the expiry of the token KIS just issued")
    return now + lifetime


def _positive_seconds(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 10 * 365 * 86400 else None


def _kst_timestamp(raw: Any) -> float | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST).timestamp()
    except ValueError:
        return None
