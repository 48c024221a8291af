"""Regression tests for defects found in review of the core (each failed before its fix)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISRestClient,
    OrderOutcomeUnknownError,
    TokenIssueRateLimitedError,
    TRIDResolutionError,
)
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter
from stock_manager.journal import Outcome

from ._support import (
    INQUIRY_PARAMS,
    ORDER_PARAMS,
    RESV,
    RESV_CCNL,
    RESV_RVSECNCL,
    FakeClock,
    FakeKIS,
    SleepRecorder,
    gateway_error,
    kis_json,
)
from .conftest import make_config

Factory = Callable[..., KISRestClient]


def test_token_refusal_during_an_order_is_journaled_not_sent(
    make_client: Factory, fake: FakeKIS
) -> None:
    # Before: the order's journal entry said "rejected" although the order never left.
    fake.token_replies.append(
        httpx.Response(403, json={"error_code": "EGW00133", "error_description": "1분당 1회"})
    )
    client = make_client(token_issue_max_wait=0)  # no waiting out the minute here
    with pytest.raises(TokenIssueRateLimitedError) as info:
        client.make_request("POST", RESV, ORDER_PARAMS)
    assert fake.api_count() == 0
    assert client.journal is not None
    assert client.journal.get(info.value.journal_id or 0).outcome is Outcome.NOT_SENT


def test_rt_cd_zero_with_http_4xx_on_an_order_is_unknown(
    make_client: Factory, fake: FakeKIS
) -> None:
    # Before: reported as success. A contradiction on an order must lead to reconciling.
    fake.script(RESV, kis_json(status=409, output={"RSVN_ORD_SEQ": "1"}))
    with pytest.raises(OrderOutcomeUnknownError):
        make_client().make_request("POST", RESV, ORDER_PARAMS)
    assert fake.api_count(RESV) == 1


def test_egw00201_slows_every_caller_of_the_app_key(
    make_client: Factory, fake: FakeKIS, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    # Before: only the refused caller backed off; others sharing the key kept the full rate.
    penalties: list[float] = []

    class Spy(RateLimiter):
        def penalise(self, seconds: float) -> None:
            penalties.append(seconds)
            super().penalise(seconds)

    limiter = Spy(20, margin=0, clock=clock)
    fake.script(RESV_CCNL, gateway_error("EGW00201"))
    make_client(journal=False, limiter=limiter, rng=lambda: 0.5).make_request(
        "GET", RESV_CCNL, INQUIRY_PARAMS
    )
    assert penalties == [pytest.approx(0.075)]  # the back-off went into the shared limiter
    assert sleeps.calls == [pytest.approx(0.075 + 0.05)]  # and the caller waited through it
    assert fake.api_count() == 2


def test_tokens_and_child_loggers_are_scrubbed(
    make_client: Factory, fake: FakeKIS, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: the filter sat on "stock_manager.kis" only (not its children) and never knew
    # the access token.
    client = make_client(journal=False)
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    token = fake.token_for(1)
    with caplog.at_level(logging.DEBUG):
        for name in ("stock_manager.kis.auth", "stock_manager.kis.reservations", "httpcore"):
            logging.getLogger(name).warning("leaked %s here", token)
    assert token not in caplog.text
    assert caplog.text.count("leaked *** here") == 3


def test_cancelled_async_order_is_journaled_unknown_at_once(tmp_path: Path) -> None:
    # Before: a cancelled task left the entry PENDING until the generator was collected.
    gate = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/tokenP":
            return httpx.Response(200, json={"access_token": "t" * 40, "expires_in": 86400})
        gate.set()
        await asyncio.sleep(30)
        return httpx.Response(200, json={"rt_cd": "0"})

    async def main() -> None:
        cfg = make_config(tmp_path, base_url="http://kis.test")
        client = AsyncKISRestClient(cfg, transport=httpx.MockTransport(handler))
        task = asyncio.create_task(client.make_request("POST", RESV, ORDER_PARAMS))
        await gate.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client.journal is not None
        (entry,) = client.journal.entries()
        assert entry.outcome is Outcome.UNKNOWN
        assert "interrupted" in entry.error
        await client.aclose()

    asyncio.run(main())


def test_tr_id_and_action_must_agree(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client()
    with pytest.raises(TRIDResolutionError, match="CTSC0013U"):
        client.make_request("POST", RESV_RVSECNCL, {}, tr_id="CTSC0009U", action="modify")
    with pytest.raises(TRIDResolutionError, match="paper-trading TR_ID"):
        client.make_request(
            "POST", "/uapi/domestic-stock/v1/trading/order-rvsecncl", {}, tr_id="VTTC0013U"
        )
    assert fake.requests == []


def test_raw_place_is_journaled_as_place(make_client: Factory, fake: FakeKIS) -> None:
    # Before: journaled under the API's Korean name, which reconcile does not understand.
    fake.script(RESV, kis_json(output={"RSVN_ORD_SEQ": "7"}))
    client = make_client()
    resp = client.make_request("POST", RESV, ORDER_PARAMS)
    assert client.journal is not None
    assert client.journal.get(resp.journal_id or 0).intent == "place"
