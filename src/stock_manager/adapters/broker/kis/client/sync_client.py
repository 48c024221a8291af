"""``KISRestClient``: the blocking KIS REST client, a thin driver of the request core's flows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from .. import constants as C
from .._flow import Flow, drive_sync, iterate_sync
from ..auth import TokenManager
from ..config import KISConfig
from ..rate_limit import RateLimiter
from ..response import KISResponse
from ..tr_ids import TRCatalog
from .base import ClientBase, Clock
from .request_core import PreparedCall

if TYPE_CHECKING:
    from stock_manager.journal import OrderJournal

__all__ = ["KISRestClient"]

T = TypeVar("T")


class KISRestClient(ClientBase):
    """Blocking KIS REST client. Thread-safe; share one per app key.

    >>> client = KISRestClient(KISConfig(kis_app_key="...", kis_app_secret="..."))
    >>> tr_id = client.get_tr_id(api_id="v1_국내주식-018,019", action="cancel")
    >>> client.make_request(method="post", url="/uapi/domestic-stock/v1/trading/"
    ...     "order-resv-rvsecncl", params={...}, action="cancel")
    """

    def __init__(
        self,
        config: KISConfig | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        catalog: TRCatalog | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Clock | None = None,
        limiter: RateLimiter | None = None,
        tokens: TokenManager | None = None,
        journal: OrderJournal | None = None,
    ) -> None:
        super().__init__(
            config,
            catalog=catalog,
            clock=clock,
            rng=rng,
            limiter=limiter,
            tokens=tokens,
            journal=journal,
        )
        self._sleep = sleep
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=self._timeout())

    def make_request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        tr_id: str | None = None,
        action: str | None = None,
        tr_cont: str = "",
        headers: Mapping[str, str] | None = None,
        intent: str | None = None,
        label: str = "",
    ) -> KISResponse:
        """Send one request and return the parsed reply; raise a :class:`KISError` otherwise.

        ``params`` go to the query for GET and the JSON body for POST, keys upper-cased.
        Without ``tr_id`` the TR_ID comes from the catalog by path (``action`` for multi-TR
        APIs). Order POSTs are journaled (with ``label``) and never resent after they may
        have arrived.
        """
        call = self._core.prepare(
            method,
            url,
            params,
            tr_id=tr_id,
            action=action,
            tr_cont=tr_cont,
            headers=headers,
            intent=intent,
            label=label,
        )
        return self.send(call)

    def send(self, call: PreparedCall) -> KISResponse:
        """Send a :class:`PreparedCall`."""
        return drive_sync(self._core.call_flow(call), self._http, self._sleep)

    def iter_pages(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any],
        *,
        ctx_keys: tuple[str, ...] | None = None,
        max_pages: int | None = C.MAX_PAGES,
        tr_id: str | None = None,
        action: str | None = None,
    ) -> Iterator[KISResponse]:
        """Every page of a continued inquiry.

        The continuation keys (``CTX_AREA_FK100``/``NK100``, ``FK200``/``NK200`` ...) and the
        ``tr_cont`` rule come from the catalog (``ctx_keys`` overrides the keys); see
        :class:`~stock_manager.adapters.broker.kis.client.paging.Pager`. ``max_pages`` guards
        against a server that never ends (raises, never truncates); ``None`` removes the cap.
        """
        flow = self.pages_flow(
            method, url, params, ctx_keys=ctx_keys, max_pages=max_pages, tr_id=tr_id, action=action
        )
        yield from self.iterate(flow)

    def run(self, flow: Flow[T], sleep: Callable[[float], None] | None = None) -> T:
        """Drive ``flow`` (see :meth:`request_flow`) with blocking calls; its value.

        ``sleep`` waits for the flow's :class:`Sleep` actions that name no sleep of their own
        (default: this client's)."""
        return drive_sync(flow, self._http, sleep or self._sleep)

    def iterate(
        self, flow: Flow[Any], sleep: Callable[[float], None] | None = None
    ) -> Iterator[Any]:
        """Drive ``flow`` with blocking calls, yielding what it emits (see :meth:`pages_flow`)."""
        return iterate_sync(flow, self._http, sleep or self._sleep)

    def issue_token(self) -> str:
        """The current access token, issuing one if needed."""
        return drive_sync(self._core.tokens.token_flow(), self._http, self._sleep)

    def revoke_token(self) -> bool:
        """Revoke the cached token at KIS (``/oauth2/revokeP``); ``False`` if none was cached."""
        return drive_sync(self._core.tokens.revoke_flow(), self._http, self._sleep)

    def close(self) -> None:
        """Close the HTTP connections (when this client created them)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
