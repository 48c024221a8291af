"""What the blocking and the asyncio KIS clients share: construction, settings and flows.

:class:`ClientBase` holds the :class:`~.request_core.RequestCore` and exposes what needs no I/O
(TR_IDs, preparing and describing a request) and the flows an operation written once is made of
(:meth:`ClientBase.request_flow`, :meth:`ClientBase.pages_flow`). The subclasses in
:mod:`.sync_client` and :mod:`.async_client` only drive those flows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from .. import constants as C
from .._flow import Flow
from ..auth import TokenManager
from ..config import KISConfig
from ..rate_limit import RateLimiter
from ..response import KISResponse
from ..skew import ClockSkew
from ..tr_ids import CATALOG, TRCatalog
from .paging import Pager
from .request_core import PreparedCall, RequestCore

if TYPE_CHECKING:
    from stock_manager.journal import OrderJournal

__all__ = ["ClientBase", "Clock"]

#: A clock or a random source: a callable returning a float.
Clock = Callable[[], float]


class ClientBase:
    """The part of :class:`KISRestClient` and :class:`AsyncKISRestClient` that does no I/O."""

    def __init__(
        self,
        config: KISConfig | None,
        *,
        catalog: TRCatalog | None,
        clock: Clock | None,
        rng: Clock | None,
        limiter: RateLimiter | None,
        tokens: TokenManager | None,
        journal: OrderJournal | None,
    ) -> None:
        self.config = config or KISConfig()
        self._core = RequestCore(
            self.config,
            catalog=catalog or CATALOG,
            clock=clock or time.time,
            rng=rng or random.random,
            limiter=limiter,
            tokens=tokens,
            journal=journal,
        )

    def _timeout(self) -> httpx.Timeout:
        c = self.config
        return httpx.Timeout(
            connect=c.connect_timeout,
            read=c.read_timeout,
            write=c.write_timeout,
            pool=c.pool_timeout,
        )

    @property
    def base_url(self) -> str:
        """The host requests go to."""
        return self._core.base_url

    @property
    def tokens(self) -> TokenManager:
        """The token manager (cache file, issue count)."""
        return self._core.tokens

    @property
    def limiter(self) -> RateLimiter:
        """The rate limiter this client shares with every client of its app key."""
        return self._core.limiter

    @property
    def journal(self) -> OrderJournal | None:
        """The order journal, or ``None`` when switched off."""
        return self._core.journal

    @property
    def skew(self) -> ClockSkew:
        """This machine's clock against KIS's, measured from each answer's ``Date``."""
        return self._core.skew

    @property
    def send_count(self) -> int:
        """How many API requests (tokens excluded) this client has put on the wire."""
        return self._core.send_count

    @property
    def is_paper_trading(self) -> bool:
        """Whether this client talks to paper trading."""
        return self.config.is_paper

    def get_tr_id(
        self, api_id: str, is_paper_trading: bool | None = None, *, action: str | None = None
    ) -> str:
        """TR_ID of ``api_id`` for real or paper trading (default: the client's mode).

        Multi-TR APIs need ``action`` (``"cancel"``/``"modify"``); a real-only API asked for
        in paper mode raises :class:`PaperTradingNotSupportedError`.
        """
        return self._core.get_tr_id(api_id, is_paper_trading=is_paper_trading, action=action)

    def prepare(
        self, method: str, url: str, params: Mapping[str, Any] | None = None, **kw: Any
    ) -> PreparedCall:
        """Resolve and validate a request without sending it."""
        return self._core.prepare(method, url, params, **kw)

    def describe(
        self, method: str, url: str, params: Mapping[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        """The exact request that would be sent, secrets masked; sends nothing."""
        return self._core.describe(self._core.prepare(method, url, params, dry_run=True, **kw))

    # --- flows, for operations written once over both clients (see :mod:`._flow`) ------------
    def request_flow(
        self, method: str, url: str, params: Mapping[str, Any] | None = None, **kw: Any
    ) -> Flow[KISResponse]:
        """:meth:`KISRestClient.make_request` as a flow (same keywords), to ``yield from``
        inside a larger flow that :meth:`run` drives. The request is prepared (validated) now."""
        return self._core.call_flow(self._core.prepare(method, url, params, **kw))

    def pages_flow(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any],
        *,
        ctx_keys: tuple[str, ...] | None = None,
        max_pages: int | None = C.MAX_PAGES,
        tr_id: str | None = None,
        action: str | None = None,
    ) -> Flow[None]:
        """:meth:`KISRestClient.iter_pages` as a flow: it emits each page (:class:`Emit`), and
        asks for the next one only when the page has been taken."""
        pager = Pager.for_call(
            self._core.catalog, self._core._path_of(url), tr_id, params, ctx_keys, max_pages
        )
        yield from pager.flow(
            lambda page_params, tr_cont: self.request_flow(
                method, url, page_params, tr_id=tr_id, action=action, tr_cont=tr_cont
            )
        )
