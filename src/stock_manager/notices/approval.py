"""The WebSocket approval key (웹소켓 접속키, ``POST /oauth2/Approval``; research §1.1).

The body names the secret ``secretkey`` (not ``appsecret``). A key is valid for 24 hours and is
checked only when a session starts, so one key serves every reconnect within its day; it is
issued again only when it is older than that or KIS answered OPSP0011 (invalid approval).
The key is kept in memory only and never printed (``repr`` masks it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from stock_manager.adapters.broker.kis.config import KISConfig

__all__ = ["APPROVAL_LIFETIME_S", "ApprovalError", "ApprovalKeys"]

APPROVAL_LIFETIME_S = 86400.0
# Re-issue a little before the 24 h so a reconnect near the end never presents a stale key.
_MARGIN_S = 600.0


class ApprovalError(RuntimeError):
    """``/oauth2/Approval`` refused or answered something without ``approval_key``."""


class ApprovalKeys:
    """Issues and caches the approval key of one app key."""

    def __init__(
        self,
        config: KISConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._transport = transport
        self._key: str | None = None
        self._issued_at = 0.0
        self._lock = asyncio.Lock()
        #: How many keys were issued (tests and the summary read it).
        self.issued = 0

    def __repr__(self) -> str:
        return (
            f"ApprovalKeys(app_key={self._config.masked_app_key}, cached={self._key is not None})"
        )

    @property
    def url(self) -> str:
        """``{base}/oauth2/Approval`` of the configured host."""
        return f"{self._config.effective_base_url}/oauth2/Approval"

    def invalidate(self) -> None:
        """Forget the cached key (after OPSP0011); the next :meth:`get` issues a new one."""
        self._key = None

    async def get(self) -> str:
        """The cached key, or a newly issued one when there is none or it is near 24 h old."""
        async with self._lock:
            now = self._clock()
            if self._key is not None and now - self._issued_at < APPROVAL_LIFETIME_S - _MARGIN_S:
                return self._key
            self._key = await self._issue()
            self._issued_at = now
            self.issued += 1
            return self._key

    async def _issue(self) -> str:
        cfg = self._config
        body = {
            "grant_type": "client_credentials",
            "appkey": cfg.kis_app_key,
            "secretkey": cfg.kis_app_secret.get_secret_value(),
        }
        timeout = httpx.Timeout(cfg.read_timeout, connect=cfg.connect_timeout)
        async with httpx.AsyncClient(transport=self._transport, timeout=timeout) as http:
            try:
                resp = await http.post(
                    self.url, json=body, headers={"content-type": "application/json; utf-8"}
                )
            except httpx.HTTPError as exc:
                raise ApprovalError(f"approval key request failed: {type(exc).__name__}") from None
        try:
            doc = resp.json()
        except ValueError:
            doc = {}
        key = doc.get("approval_key") if isinstance(doc, dict) else None
        if resp.status_code != 200 or not isinstance(key, str) or not key:
            code = doc.get("error_code") or doc.get("msg_cd") or "" if isinstance(doc, dict) else ""
            raise ApprovalError(
                f"approval key refused (HTTP {resp.status_code} {code}); check KIS_APP_KEY and"
                " KIS_APP_SECRET (stock-manager config check)"
            )
        return key
