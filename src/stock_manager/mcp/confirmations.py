"""Single-use confirmation tokens: what ``preview_*`` hands out and ``execute_*`` redeems.

A token is ``<nonce>.<mac>``: a random nonce and an HMAC (key random per server process) over
the nonce and a SHA-256 of the exact request, the environment and the account. The server
keeps the previewed request under the nonce; redeeming recomputes the digest with the
environment and account the server runs in *now*, so a token that is missing, altered,
reused, expired, from another server or bound to another environment/account is refused, and
the request that is sent is always the stored one, never anything the model re-supplies.

Hand-written rather than a JWT library: the token never leaves this process's trust boundary
(the server verifies its own tokens), so a nonce + HMAC from the standard library is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["DEFAULT_TTL_S", "ConfirmationError", "ConfirmationStore", "Issued", "Redeemed"]

DEFAULT_TTL_S = 120.0
_MAX_PENDING = 256  # previews nobody executed are dropped oldest first beyond this


class ConfirmationError(Exception):
    """The token cannot be redeemed; ``reason`` is one of missing/unknown/reused/expired/
    mismatch/wrong_tool."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Issued:
    """A fresh token and when it expires."""

    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Redeemed:
    """A redeemed preview: the request exactly as previewed, and server-side extras."""

    kind: str
    request: dict[str, Any]
    private: dict[str, Any]


@dataclass
class _Entry:
    kind: str
    request: dict[str, Any]
    private: dict[str, Any]
    digest: str
    expires_at: datetime


def digest_of(kind: str, request: Mapping[str, Any], env: str, account: str) -> str:
    """SHA-256 of the canonical JSON of what a token is bound to."""
    canonical = json.dumps(
        {"kind": kind, "request": request, "env": env, "account": account},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class ConfirmationStore:
    """Issue and redeem tokens; thread-safe; ``clock`` returns aware datetimes."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        ttl_s: float = DEFAULT_TTL_S,
        key: bytes | None = None,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("the token lifetime must be positive")
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._key = key or secrets.token_bytes(32)
        self._pending: dict[str, _Entry] = {}
        self._used: set[str] = set()
        self._lock = threading.Lock()

    def _mac(self, nonce: str, digest: str) -> str:
        return hmac.new(self._key, f"{nonce}.{digest}".encode(), hashlib.sha256).hexdigest()[:32]

    def issue(
        self,
        kind: str,
        request: Mapping[str, Any],
        *,
        env: str,
        account: str,
        private: Mapping[str, Any] | None = None,
    ) -> Issued:
        """A token for ``request`` (JSON data) in ``env`` for ``account``."""
        nonce = secrets.token_urlsafe(18)
        digest = digest_of(kind, request, env, account)
        expires = self._clock() + self._ttl
        with self._lock:
            while len(self._pending) >= _MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
            self._pending[nonce] = _Entry(kind, dict(request), dict(private or {}), digest, expires)
        return Issued(f"{nonce}.{self._mac(nonce, digest)}", expires)

    def redeem(self, token: object, kind: str, *, env: str, account: str) -> Redeemed:
        """The previewed request of ``token``, consumed; :class:`ConfirmationError` otherwise.

        A token is consumed by any redeem attempt that finds it, even one that then fails
        (expired, wrong tool), so it can never be tried twice.
        """
        if not isinstance(token, str) or not token.strip():
            raise ConfirmationError("missing", "no confirmation_token: call the preview tool first")
        nonce, _, mac = token.strip().partition(".")
        with self._lock:
            if nonce in self._used:
                raise ConfirmationError(
                    "reused", "this confirmation_token was already used; preview again"
                )
            entry = self._pending.pop(nonce, None)
            if entry is not None:
                self._used.add(nonce)
        if entry is None:
            raise ConfirmationError(
                "unknown",
                "unknown confirmation_token (altered, or issued by another server); preview again",
            )
        expected = self._mac(nonce, digest_of(kind, entry.request, env, account))
        if not hmac.compare_digest(mac, expected) or entry.kind != kind:
            if entry.kind != kind:
                raise ConfirmationError(
                    "wrong_tool", f"this token confirms a {entry.kind}, not a {kind}"
                )
            raise ConfirmationError(
                "mismatch",
                "confirmation_token does not match this server's environment/account or was"
                " altered; preview again",
            )
        if self._clock() >= entry.expires_at:
            raise ConfirmationError(
                "expired", f"confirmation_token expired at {entry.expires_at.isoformat()}"
            )
        return Redeemed(entry.kind, entry.request, entry.private)
