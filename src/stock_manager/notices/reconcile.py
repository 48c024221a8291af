"""REST is the truth: today's orders from 주식일별주문체결조회 for the notice stream.

The manager already reads the book with ``inquire-daily-ccld``
(:mod:`stock_manager.manager.orders`); this builds the same query for one day and returns
every ``output1`` row (all pages), which :class:`~stock_manager.notices.ledger.FillLedger`
turns into the fills the WebSocket did not deliver.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date

from stock_manager.adapters.broker.kis.client import AsyncKISRestClient
from stock_manager.manager.orders import PATH_DAILY_CCLD, daily_ccld_params, daily_ccld_tr_id

__all__ = ["daily_ccld_fetch"]


def daily_ccld_fetch(
    client: AsyncKISRestClient, today: Callable[[], date]
) -> Callable[[], Awaitable[Sequence[Mapping[str, object]]]]:
    """An async callable returning today's 주식일별주문체결조회 rows (``today`` in KST)."""
    cfg = client.config

    async def fetch() -> Sequence[Mapping[str, object]]:
        day = today()
        params = daily_ccld_params({"CANO": cfg.cano, "ACNT_PRDT_CD": cfg.acnt_prdt_cd}, day, day)
        tr_id = daily_ccld_tr_id(day, day, paper=client.is_paper_trading)
        rows: list[Mapping[str, object]] = []
        async for page in client.iter_pages("GET", PATH_DAILY_CCLD, params, tr_id=tr_id):
            rows.extend(page.output1 or [])
        return rows

    return fetch
