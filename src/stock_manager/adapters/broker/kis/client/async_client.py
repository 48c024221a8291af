"""``AsyncKISRestClient``: the asyncio KIS REST client, a thin driver of the request core's flows.

``asyncio`` itself is imported when a client is built: the blocking library never loads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from .. import constants as C
from .._flow import Flow, drive_async, iterate_async
from ..auth import TokenManager
from ..config import KISConfig
from ..rate_limit import RateLimiter
from ..response import KISResponse
from ..tr_ids import TRCatalog
from .base import ClientBase, Clock
from .request_core import PreparedCall

if TYPE_CHECKING:
    from stock_manager.journal import OrderJournal

__all__ = ["AsyncKISRestClient"]

T = TypeVar("T")


class AsyncKISRestClient(ClientBase):
    """``asyncio`` KIS REST client with the same behaviour as :class:`KISRestClient`.

    It shares the rate limiter and the token cache with every other client of the app key.
    """

    def __init__(
        self,
        config: KISConfig | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        catalog: TRCatalog | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Any] | None = None,
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
        import asyncio

        self._sleep = sleep or asyncio.sleep
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=self._timeout())

    async def make_request(
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
        """Async :meth:`KISRestClient.make_request`."""
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
        return await self.send(call)

    async def send(self, call: PreparedCall) -> KISResponse:
        """Send a :class:`PreparedCall`."""
        return await drive_async(self._core.call_flow(call), self._http, self._sleep)

    async def iter_pages(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any],
        *,
        ctx_keys: tuple[str, ...] | None = None,
        max_pages: int | None = C.MAX_PAGES,
        tr_id: str | None = None,
        action: str | None = None,
    ) -> AsyncIterator[KISResponse]:
        """Async :meth:`KISRestClient.iter_pages`."""
        flow = self.pages_flow(
            method, url, params, ctx_keys=ctx_keys, max_pages=max_pages, tr_id=tr_id, action=action
        )
        async for page in self.iterate(flow):
            yield page

    async def run(self, flow: Flow[T], sleep: Callable[[float], Any] | None = None) -> T:
        """Async :meth:`KISRestClient.run`."""
        return await drive_async(flow, self._http, sleep or self._sleep)

    def iterate(
        self, flow: Flow[Any], sleep: Callable[[float], Any] | None = None
    ) -> AsyncIterator[Any]:
        """Async :meth:`KISRestClient.iterate`."""
        return iterate_async(flow, self._http, sleep or self._sleep)

    async def issue_token(self) -> str:
        """The current access token, issuing one if needed."""
        return await drive_async(self._core.tokens.token_flow(), self._http, self._sleep)

    async def revoke_token(self) -> bool:
        """Revoke the cached token at KIS; ``False`` if none was cached."""
        return await drive_async(self._core.tokens.revoke_flow(), self._http, self._sleep)

    async def aclose(self) -> None:
        """Close the HTTP connections (when this client created them)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
