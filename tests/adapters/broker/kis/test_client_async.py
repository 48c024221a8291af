"""AsyncKISRestClient: the same rules as the sync client, driven with ``await``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISAuthError,
    KISBusinessError,
    KISRateLimitError,
    KISRestClient,
    OrderOutcomeUnknownError,
    PaperTradingNotSupportedError,
)
from stock_manager.journal import Outcome

from ._support import (
    APP_KEY,
    APP_SECRET,
    INQUIRY_PARAMS,
    ORDER_PARAMS,
    RESV,
    RESV_CCNL,
    RESV_RVSECNCL,
    FakeClock,
    FakeKIS,
    SleepRecorder,
    complete,
    gateway_error,
    kis_json,
)

Factory = Callable[..., AsyncKISRestClient]


async def test_twenty_tasks_one_issuance(make_async_client: Factory, fake: FakeKIS) -> None:
    client = make_async_client(journal=False)
    results = await asyncio.gather(
        *(client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS) for _ in range(20))
    )
    assert [r.rt_cd for r in results] == ["0"] * 20
    assert len(fake.token_requests) == 1
    assert fake.api_count() == 20
    assert {r.headers["authorization"] for r in fake.api_requests} == {
        f"Bearer {fake.token_for(1)}"
    }


async def test_get_and_post_shapes(make_async_client: Factory, fake: FakeKIS) -> None:
    client = make_async_client(journal=False)
    await client.make_request("GET", RESV_CCNL, {**INQUIRY_PARAMS, "cano": "1"})
    modify = complete(RESV_RVSECNCL, "modify", rsvn_ord_seq="9")
    await client.make_request("POST", RESV_RVSECNCL, modify, action="modify")
    get, post = fake.api_requests
    assert dict(get.url.params)["CANO"] == "1"
    assert get.headers["tr_id"] == "CTSC0004R"
    assert json.loads(post.content)["RSVN_ORD_SEQ"] == "9"
    assert post.headers["tr_id"] == "CTSC0013U"
    assert post.headers["appkey"] == APP_KEY
    assert post.headers["appsecret"] == APP_SECRET


async def test_egw00201_retried_once(
    make_async_client: Factory, fake: FakeKIS, sleeps: SleepRecorder
) -> None:
    fake.script(RESV_CCNL, gateway_error("EGW00201"))
    client = make_async_client(journal=False)
    resp = await client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert resp.rt_cd == "0"
    assert fake.api_count() == 2
    assert sleeps.calls == [pytest.approx(0.075)]


async def test_egw00201_forever(make_async_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, *[gateway_error("EGW00201") for _ in range(10)])
    client = make_async_client(journal=False, max_attempts=3)
    with pytest.raises(KISRateLimitError):
        await client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert fake.api_count() == 3


async def test_post_read_timeout_is_unknown_and_sent_once(
    make_async_client: Factory, fake: FakeKIS, sleeps: SleepRecorder
) -> None:
    fake.script(RESV, httpx.ReadTimeout("timed out"))
    client = make_async_client()
    with pytest.raises(OrderOutcomeUnknownError) as info:
        await client.make_request("POST", RESV, ORDER_PARAMS)
    assert fake.api_count() == 1
    assert sleeps.calls == []
    assert client.journal is not None
    assert info.value.journal_id is not None
    assert client.journal.get(info.value.journal_id).outcome is Outcome.UNKNOWN


async def test_get_read_timeout_is_retried(make_async_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, httpx.ReadTimeout("timed out"))
    client = make_async_client(journal=False)
    assert (await client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)).rt_cd == "0"
    assert fake.api_count() == 2


async def test_token_reissue_once(
    make_async_client: Factory, fake: FakeKIS, clock: FakeClock
) -> None:
    client = make_async_client(journal=False)
    await client.issue_token()
    clock.advance(120)
    fake.script(RESV_CCNL, gateway_error("EGW00123"), gateway_error("EGW00123"))
    with pytest.raises(KISAuthError):
        await client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert fake.api_count() == 2
    assert len(fake.token_requests) == 2


async def test_business_rejection(make_async_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV, kis_json(rt_cd="1", msg_cd="APBK0919", msg1="잔고 부족  "))
    client = make_async_client()
    with pytest.raises(KISBusinessError) as info:
        await client.make_request("POST", RESV, ORDER_PARAMS)
    assert (info.value.msg_cd, info.value.msg1, info.value.tr_id) == (
        "APBK0919",
        "잔고 부족",
        "CTSC0008U",
    )
    assert fake.api_count() == 1


async def test_paper_mode_refuses_before_the_network(
    make_async_client: Factory, fake: FakeKIS
) -> None:
    client = make_async_client(mode="paper")
    with pytest.raises(PaperTradingNotSupportedError):
        await client.make_request(
            "POST", RESV_RVSECNCL, complete(RESV_RVSECNCL, "cancel"), action="cancel"
        )
    with pytest.raises(PaperTradingNotSupportedError):
        await client.make_request("POST", RESV_RVSECNCL, {}, tr_id="CTSC0009U")
    with pytest.raises(PaperTradingNotSupportedError):
        await client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert fake.requests == []


async def test_iter_pages(make_async_client: Factory, fake: FakeKIS) -> None:
    fake.script(
        RESV_CCNL,
        kis_json(
            headers={"tr_cont": "M"},
            ctx_area_fk200="FK1  ",
            ctx_area_nk200="NK1  ",
            output=[{"rsvn_ord_seq": "1"}],
        ),
        kis_json(
            headers={"tr_cont": "D"},
            ctx_area_fk200="",
            ctx_area_nk200="",
            output=[{"rsvn_ord_seq": "2"}],
        ),
    )
    client = make_async_client(journal=False)
    seqs = [
        row["RSVN_ORD_SEQ"]
        async for page in client.iter_pages("GET", RESV_CCNL, INQUIRY_PARAMS)
        for row in page.rows()
    ]
    assert seqs == ["1", "2"]
    assert fake.api_count() == 2
    second = fake.api_requests[1]
    assert second.headers["tr_cont"] == "N"
    assert (second.url.params["CTX_AREA_FK200"], second.url.params["CTX_AREA_NK200"]) == (
        "FK1  ",
        "NK1  ",
    )


async def test_revoke(make_async_client: Factory, fake: FakeKIS) -> None:
    client = make_async_client(journal=False)
    token = await client.issue_token()
    assert await client.revoke_token() is True
    assert json.loads(fake.revoke_requests[0].content)["token"] == token
    assert not client.tokens.path.exists()


async def test_async_and_sync_share_the_token_cache(
    make_async_client: Factory,
    make_client: Callable[..., KISRestClient],
    fake: FakeKIS,
) -> None:
    aclient = make_async_client(journal=False)
    await aclient.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    sync = make_client(journal=False)
    sync.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert len(fake.token_requests) == 1
    assert fake.api_count() == 2


async def test_context_manager(make_async_client: Factory) -> None:
    client = make_async_client(journal=False)
    async with client as c:
        assert c is client
    assert client._http.is_closed
