"""Access tokens: issue (``/oauth2/tokenP``), cache, refresh and revoke (``/oauth2/revokeP``).

KIS allows one issuance a minute per app key (EGW00133), returns the same token when asked again
within six hours, and sends the account holder a KakaoTalk message per issuance. So a token is
shared by every thread and process of the user:

* in memory, behind a thread lock (single flight inside a process);
* on disk, one private file (0600) per (base URL, app key) under ``token_cache_dir``, behind a
  file lock, so N processes starting together cause exactly one issuance. The file holds the
  token and its expiry, never the app secret.

Issuance is a flow (see :mod:`._flow`), so the sync and async clients share it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from . import constants as C
from ._flow import Acquire, Flow, Send, SendResult, Sleep
from .errors import (
    KISAuthError,
    KISServerError,
    KISTransportError,
    TokenIssueRateLimitedError,
)
from .masking import SECRET_FILTER, mask_key

__all__ = ["Token", "TokenManager"]

log = logging.getLogger("stock_manager.kis.auth")
KST = timezone(timedelta(hours=C.KST_UTC_OFFSET_HOURS))
_LOCK_CREATION = threading.Lock()


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


class _IssueLock:
    """Thread lock + inter-process file lock, taken together."""

    def __init__(self, path: Path) -> None:
        # Imported here: the lock is made only when a token must be issued, never when the
        # cached one is used (most start-ups; filelock costs ~4 ms to import, issue #14).
        from filelock import FileLock

        self._thread = threading.Lock()
        # thread_local=False: the async client takes the lock in a worker thread and releases it
        # in the event-loop thread.
        self._file = FileLock(str(path), thread_local=False)

    def acquire(self) -> None:
        self._thread.acquire()
        try:
            self._file.acquire()
        except BaseException:
            self._thread.release()
            raise

    def release(self) -> None:
        try:
            self._file.release()
        finally:
            self._thread.release()


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
    ) -> None:
        self._base_url = base_url
        self._app_key = app_key
        self._app_secret = app_secret
        self._clock = clock
        self._max_wait = max_wait
        self._margin = refresh_margin
        digest = hashlib.sha256(f"{base_url}\0{app_key}".encode()).hexdigest()[:24]
        self.cache_dir = Path(cache_dir)
        self.path = self.cache_dir / f"token-{digest}.json"
        self._lock: _IssueLock | None = None
        self._token: Token | None = None
        self._last_attempt: float | None = None
        #: How many tokens this manager obtained from ``/oauth2/tokenP`` (tests and status).
        self.issued_count = 0

    # --- public -------------------------------------------------------------------------------
    @property
    def token(self) -> Token | None:
        """The token in memory, if any (it may be expired)."""
        return self._token

    def cached(self) -> Token | None:
        """The token from memory or the cache file, whatever its expiry (no network)."""
        return self._token or self._read_file()

    def token_flow(self, *, rejected: str | None = None) -> Flow[str]:
        """A valid access token: from memory, the cache file, or a new issuance.

        ``rejected`` is a token the server just refused (EGW00121/122/123): never return it.
        """
        tok = self._usable(self._token, rejected)
        if tok:
            return tok
        # _write_file replaces the cache file atomically, so it can be read without the lock:
        # a fresh process with a valid cached token (most commands) never takes the lock nor
        # imports filelock (start-up, issue #14). The read is repeated under the lock below.
        from_file = self._read_file()
        tok = self._usable(from_file, rejected)
        if tok:
            self._token = from_file
            SECRET_FILTER.add(tok)
            return tok
        lock = self._get_lock()
        yield Acquire(lock)
        try:
            # Another thread or process may have issued while we waited for the lock.
            from_file = self._read_file()
            tok = self._usable(from_file, rejected)
            if tok:
                self._token = from_file
                SECRET_FILTER.add(tok)
                return tok
            last = max(
                [t for t in (self._last_attempt, from_file and from_file.issued_at) if t] or [0.0]
            )
            wait = last + C.TOKEN_ISSUE_MIN_INTERVAL_S - self._clock()
            if wait > 0:
                if wait > self._max_wait:
                    raise TokenIssueRateLimitedError(
                        f"KIS issues one token a minute per app key; the next issuance is"
                        f" possible in {wait:.0f} s",
                        retry_after=wait,
                        msg_cd="EGW00133",
                    )
                log.warning("waiting %.1f s before issuing a token (KIS allows one a minute)", wait)
                yield Sleep(wait)
            self._last_attempt = self._clock()
            result: SendResult = yield Send(self._issue_request())
            token = self._accept_issue(result)
            SECRET_FILTER.add(token.access_token)
            self._write_file(token)
            self._token = token
            self.issued_count += 1
            log.info("issued a new access token for app key %s", mask_key(self._app_key))
            return token.access_token
        finally:
            lock.release()

    def revoke_flow(self) -> Flow[bool]:
        """Revoke the cached token at KIS and forget it; ``False`` when there was none."""
        lock = self._get_lock()
        yield Acquire(lock)
        try:
            token = self._token or self._read_file()
            self._token = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
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
        """Drop the in-memory token (the cache file stays)."""
        self._token = None

    # --- internals ----------------------------------------------------------------------------
    def _usable(self, token: Token | None, rejected: str | None) -> str | None:
        if token is None or token.access_token == rejected:
            return None
        return token.access_token if token.valid_at(self._clock(), self._margin) else None

    def _get_lock(self) -> _IssueLock:
        with _LOCK_CREATION:
            if self._lock is None:
                self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._lock = _IssueLock(self.path.with_suffix(".lock"))
            return self._lock

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

    def _read_file(self) -> Token | None:
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

    def _write_file(self, token: Token) -> None:
        payload = {
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "issued_at": token.issued_at,
            "expires_at_kst": datetime.fromtimestamp(token.expires_at, KST).isoformat(),
            "base_url": self._base_url,
            "app_key": mask_key(self._app_key),
        }
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        # Created 0600 from the first byte: a chmod after writing would leave a window.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh)
        os.replace(tmp, self.path)


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
    raw = data.get("access_token_token_expired")
    if isinstance(raw, str):
        try:
            return (
                datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST).timestamp()
            )
        except ValueError:
            pass
    try:
        return now + float(data.get("expires_in", C.TOKEN_DEFAULT_LIFETIME_S))
    except (TypeError, ValueError):
        return now + C.TOKEN_DEFAULT_LIFETIME_S
