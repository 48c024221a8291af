"""What every tool shares: the fixed environment, the client, limits, tokens, results.

The environment (KIS host, mode, account) is decided once, when the server starts, from the
same settings the CLI reads (``--profile`` / ``--emulator`` / ``KIS_*``; see
:mod:`stock_manager.cli._runtime`). No tool takes a host, a mode or an account argument.

The library is blocking; tools run it in a worker thread (:func:`Runtime.run`) so the MCP
event loop never waits on HTTP, SQLite or a file lock. One code path, no async twin.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from mcp.types import CallToolResult, TextContent

from stock_manager._jsonable import to_jsonable

from .confirmations import DEFAULT_TTL_S, ConfirmationStore
from .limits import Limits

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
    from stock_manager.adapters.broker.kis.reservations import Reservations

__all__ = ["Environment", "Runtime", "ServerOptions", "error_result", "ok", "refused"]

log = logging.getLogger("stock_manager.mcp")
T = TypeVar("T")
ConfirmMode = Literal["elicit", "token"]


@dataclass(frozen=True)
class Environment:
    """Where orders go: ``kind`` is ``emulator`` (any non-KIS host), ``paper`` or ``live``."""

    kind: Literal["emulator", "paper", "live"]
    base_url: str
    mode: str
    account: str  # masked

    @property
    def key(self) -> str:
        """What a confirmation token is bound to."""
        return f"{self.kind}|{self.base_url}|{self.mode}"

    def describe(self) -> dict[str, str]:
        """JSON data for the ``environment`` of results (account masked)."""
        return {
            "kind": self.kind,
            "base_url": self.base_url,
            "mode": self.mode,
            "account": self.account,
        }


@dataclass
class ServerOptions:
    """How the server was started (command-line flags), fixed for its life."""

    allow_orders: bool = False
    allow_live: bool = False
    confirm: ConfirmMode = "elicit"
    token_ttl_s: float = DEFAULT_TTL_S
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    limits: Limits = field(default_factory=Limits)
    max_rows: int = 200
    max_pages: int = 10
    spec_dirs: tuple[str, ...] = ()
    #: The manager's clock (None: now). ``STOCK_MANAGER_NOW`` sets it against an emulator,
    #: as for ``resv plan/apply``; tokens and limits always use ``clock``.
    manager_clock: Callable[[], datetime] | None = None


class Runtime:
    """The state of one server process (one environment, one client)."""

    def __init__(self, config: KISConfig, options: ServerOptions, env: Environment) -> None:
        from stock_manager.adapters.broker.kis import KISRestClient

        self.config = config
        self.options = options
        self.env = env
        self.client: KISRestClient = KISRestClient(config)
        self.confirmations = ConfirmationStore(clock=options.clock, ttl_s=options.token_ttl_s)
        # Orders are checked (limits, journal counts) and sent one at a time.
        self.order_lock = anyio.Lock()
        self._secrets = _secret_strings(config)

    def reservations(self) -> Reservations:
        """The reservation API over the shared client (window: warn, end date: snap)."""
        from stock_manager.adapters.broker.kis.reservations import Reservations

        return Reservations(self.client, clock=self.options.clock)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking library code in a worker thread."""
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    def scrub(self, text: str) -> str:
        """``text`` with any configured secret (app key/secret, full account) masked."""
        for secret, masked in self._secrets:
            if secret in text:
                text = text.replace(secret, masked)
        return text

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def _secret_strings(config: KISConfig) -> list[tuple[str, str]]:
    """Exact strings that must never appear in a result, longest first, with their masks."""
    from stock_manager.masking import mask_account

    out: list[tuple[str, str]] = []
    secret = config.kis_app_secret.get_secret_value()
    if secret:
        out.append((secret, "***"))
    if config.kis_app_key:
        out.append((config.kis_app_key, config.masked_app_key))
    account = config.kis_account_no or ""
    if account:
        cano = account.partition("-")[0]
        out.append((account, mask_account(account)))
        if len(cano) >= 6:
            out.append((cano, mask_account(cano)))
    return sorted(out, key=lambda p: -len(p[0]))


def jsonable(obj: Any) -> Any:
    """Plain JSON data (the CLI's converter: models, dataclasses, decimals, dates)."""
    return to_jsonable(obj)


def _result(rt: Runtime | None, data: Mapping[str, Any], *, error: bool) -> CallToolResult:
    from stock_manager.masking import mask_request

    clean = mask_request(jsonable(dict(data)))
    text = json.dumps(clean, ensure_ascii=False, separators=(",", ":"), default=str)
    if rt is not None:
        scrubbed = rt.scrub(text)
        if scrubbed != text:  # a secret inside free text: mask it in the structured copy too
            text = scrubbed
            clean = json.loads(text)
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=clean, is_error=error
    )


def ok(rt: Runtime | None, data: Mapping[str, Any]) -> CallToolResult:
    """A successful result: compact JSON, as structured content mirrored in one text block."""
    return _result(rt, data, error=False)


def refused(rt: Runtime | None, reason: str, message: str, **extra: Any) -> CallToolResult:
    """A refusal (nothing was sent): ``{"refused": true, "reason": ..., "message": ...}``."""
    return _result(
        rt,
        {"refused": True, "reason": reason, "message": message, "sent": False, **extra},
        error=True,
    )


def error_result(rt: Runtime | None, exc: BaseException) -> CallToolResult:
    """A library error as data: its class, its message, and whether anything was sent."""
    from stock_manager.adapters.broker.kis.errors import (
        KISAPIError,
        KISNotSentError,
        OrderOutcomeUnknownError,
    )

    data: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, KISNotSentError):
        data["sent"] = False
    elif isinstance(exc, KISAPIError):
        data.update(sent=True, msg_cd=getattr(exc, "msg_cd", ""), msg1=getattr(exc, "msg1", ""))
    elif isinstance(exc, OrderOutcomeUnknownError):
        data.update(result="unknown", journal_id=getattr(exc, "journal_id", None))
    return _result(rt, data, error=True)
