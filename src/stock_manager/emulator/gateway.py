"""Gateway checks that KIS runs before any business logic.

Order of checks (first failure wins): app key/secret headers → key issued for this host
(EGW02004/EGW02007) → authorization header and token → per-app-key rate limit (EGW00201) →
ledger limit on order/account TRs (EGW00215, when configured) → custtype → TR_ID (present,
known, real-only TR on the paper host → EGW02006, belongs to the path) → hashkey (POST, when
the header is sent).

Rate limiting: a sliding 1-second window per app key over requests that passed
authentication; tokenP and hashkey calls count against the same budget (KIS counts them).
Rejected requests (EGW00201) are **not** counted, so a client that backs off briefly gets
through again, which matches how KIS behaves in practice.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping
from typing import Any

from stock_manager.emulator.config import AppKey, EmulatorConfig
from stock_manager.emulator.endpoints import ALL_TR_IDS, REAL_ONLY_TR_IDS, Endpoint
from stock_manager.emulator.messages import envelope
from stock_manager.emulator.state import EmulatorState, Token


class Reject(Exception):
    """Stop processing and answer with ``status``/``body``.

    ``detail`` (ASCII) is emulator-only context sent in the ``X-Emulator-Detail`` header.
    """

    def __init__(self, status: int, body: dict[str, Any], detail: str = "") -> None:
        super().__init__(body.get("msg_cd") or body.get("error_code"))
        self.status = status
        self.body = body
        self.detail = detail


def reject(code: str, detail: str = "", **fmt: str) -> Reject:
    """A :class:`Reject` carrying the standard envelope for ``code``.

    ``fmt`` fills ``{placeholders}`` of the message text (KIER3672 names its window).
    """
    status, body = envelope(code)
    if fmt:
        body["msg1"] = str(body["msg1"]).format(**fmt)
    return Reject(status, body, detail)


class RateLimiter:
    """Sliding-window limiter: at most ``limit`` accepted requests in any 1-second window.

    ``allow`` takes an optional per-call ``limit`` so one limiter serves keys with different
    budgets; ``limit`` on the limiter itself is the master switch (``<= 0`` = everything
    unlimited, which is what ``rate_limit_per_s=None`` and tests setting ``limiter.limit = 0``
    rely on).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float, limit: int | None = None) -> bool:
        """Count and accept the request, or refuse it without counting it."""
        if self.limit <= 0:
            return True
        limit = self.limit if limit is None else limit
        if limit <= 0:
            return True
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        cutoff = now - 1.0
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True

    def reset(self) -> None:
        """Forget all recorded hits."""
        self._hits.clear()


def canonical_hash(body: Any) -> str:
    """SHA-256 hex of the canonical JSON form of ``body``.

    Canonical (sorted keys, no whitespace) so that a client re-serialising the same object
    with a different key order or spacing still matches; KIS does not document its algorithm.
    """
    data = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def check_app_credentials(headers: Mapping[str, str], config: EmulatorConfig) -> str:
    """Validate the appkey/appsecret headers; return the app key."""
    return check_app_key(headers, config.key_table(), config.mode).app_key


def check_app_key(headers: Mapping[str, str], keys: Mapping[str, AppKey], host_mode: str) -> AppKey:
    """Validate the appkey/appsecret headers and the key's host; return the key."""
    app_key = headers.get("appkey", "")
    if not app_key:
        raise reject("EGW00102")
    key = keys.get(app_key)
    if key is None:
        raise reject("EGW00103")
    secret = headers.get("appsecret", "")
    if not secret:
        raise reject("EGW00104")
    if secret != key.app_secret:
        raise reject("EGW00105")
    check_host(key, host_mode)
    return key


def check_host(key: AppKey, host_mode: str) -> None:
    """A key works only on the host it was issued for."""
    if key.mode != host_mode:
        code = "EGW02004" if key.mode == "paper" else "EGW02007"
        raise reject(code, f"{key.mode} app key on the {host_mode} host")


def check_token(
    headers: Mapping[str, str], state: EmulatorState, app_key: str, now: float
) -> Token:
    """Validate ``authorization: Bearer <token>``."""
    auth = headers.get("authorization", "").strip()
    if not auth:
        raise reject("EGW00122")
    scheme, _, value = auth.partition(" ")
    if scheme != "Bearer":
        raise reject("EGW00205")
    token = state.tokens.get(value.strip())
    if token is None or token.revoked or token.app_key != app_key:
        raise reject("EGW00121")
    if now >= token.expires_at:
        raise reject("EGW00123")
    return token


def check_tr_id(headers: Mapping[str, str], endpoint: Endpoint, config: EmulatorConfig) -> str:
    """Validate the tr_id header against the endpoint and the emulator mode."""
    tr_id = headers.get("tr_id", "")
    if not tr_id:
        raise reject("OPSQ9999")
    if tr_id not in ALL_TR_IDS:
        raise reject("OPSQ0002", f"unknown tr_id {_ascii(tr_id)}")
    if config.mode == "paper" and tr_id in REAL_ONLY_TR_IDS:
        raise reject("EGW02006", f"{tr_id} is real-only")
    if tr_id not in endpoint.tr_ids:
        raise reject("OPSQ0002", f"tr_id {tr_id} does not belong to {endpoint.path}")
    if config.mode == "real" and endpoint.tr_ids[tr_id] == "paper":
        # A paper TR_ID sent to a real server: KIS documents nothing; treat as unknown service.
        raise reject("OPSQ0002", f"paper tr_id {tr_id} on the real host")
    return tr_id


def check_custtype(headers: Mapping[str, str], endpoint: Endpoint) -> None:
    """custtype, when present, must be P (individual) or B (corporate).

    It must also be present on the endpoints whose spec sheet marks it required.
    """
    custtype = headers.get("custtype")
    if custtype is None and endpoint.custtype_required:
        raise reject("EGW00208", "custtype header missing")
    if custtype is not None and custtype not in ("P", "B"):
        raise reject("EGW00208", "custtype must be P or B")


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")[:40]
