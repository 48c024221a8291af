"""The retry and classification matrix of shared/design.md, request counts asserted exactly."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    KISAPIError,
    KISAuthError,
    KISBusinessError,
    KISGatewayError,
    KISRateLimitError,
    KISRestClient,
    KISServerError,
    KISTransportError,
    OrderOutcomeUnknownError,
    PaperTradingNotSupportedError,
)
from stock_manager.adapters.broker.kis import constants as C
from stock_manager.journal import Outcome

from ._support import (
    INQUIRY_PARAMS,
    ORDER_PARAMS,
    RESV,
    RESV_CCNL,
    RESV_RVSECNCL,
    RVSECNCL,
    FakeKIS,
    SleepRecorder,
    complete,
    gateway_error,
    kis_json,
)

Factory = Callable[..., KISRestClient]

FIRST_BACKOFF = 0.075  # attempt 1, rng 0.5: ceiling 0.1 → 0.05 + 0.5 * 0.05


def _outcome(client: KISRestClient, exc: BaseException) -> Outcome:
    assert isinstance(exc, OrderOutcomeUnknownError | KISAPIError | KISTransportError)
    assert exc.journal_id is not None
    assert client.journal is not None
    return client.journal.get(exc.journal_id).outcome


# --- retried: the request never left, or the gateway refused it before processing ------------
@pytest.mark.parametrize(("method", "path"), [("GET", RESV_CCNL), ("POST", RESV)])
@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("pool")],
    ids=["connect", "connect-timeout", "pool-timeout"],
)
def test_not_sent_errors_are_retried(
    make_client: Factory,
    fake: FakeKIS,
    sleeps: SleepRecorder,
    method: str,
    path: str,
    error: Exception,
) -> None:
    fake.script(path, error)
    client = make_client()
    resp = client.make_request(method, path, complete(path))
    assert resp.rt_cd == "0"
    assert fake.api_count(path) == 2
    assert sleeps.calls == [pytest.approx(FIRST_BACKOFF)]


def test_connect_error_forever_is_transport_error_and_not_sent(
    make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder
) -> None:
    fake.script(RESV, *[httpx.ConnectError("refused") for _ in range(10)])
    client = make_client(max_attempts=3)
    with pytest.raises(KISTransportError) as info:
        client.make_request("POST", RESV, ORDER_PARAMS)
    assert fake.api_count() == 3
    assert len(sleeps.calls) == 2
    assert info.value.reached_server is False
    assert _outcome(client, info.value) is Outcome.NOT_SENT


@pytest.mark.parametrize(("method", "path"), [("GET", RESV_CCNL), ("POST", RESV)])
def test_egw00201_once_is_retried_exactly_once(
    make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder, method: str, path: str
) -> None:
    fake.script(path, gateway_error("EGW00201", "초당 거래건수를 초과하였습니다."))
    client = make_client()
    resp = client.make_request(method, path, complete(path))
    assert resp.rt_cd == "0"
    assert fake.api_count() == 2
    assert sleeps.calls == [pytest.approx(FIRST_BACKOFF)]


def test_egw00201_forever_raises_rate_limit_after_max_attempts(
    make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder
) -> None:
    fake.script(RESV_CCNL, *[gateway_error("EGW00201") for _ in range(20)])
    client = make_client(journal=False)
    with pytest.raises(KISRateLimitError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert fake.api_count() == C.MAX_ATTEMPTS == 5
    assert len(sleeps.calls) == 4
    assert info.value.msg_cd == "EGW00201"
    assert isinstance(info.value, KISGatewayError)


def test_egw00201_forever_on_an_order_is_rejected_not_unknown(
    make_client: Factory, fake: FakeKIS
) -> None:
    fake.script(RESV, *[gateway_error("EGW00201") for _ in range(20)])
    client = make_client(max_attempts=2)
    with pytest.raises(KISRateLimitError) as info:
        client.make_request("POST", RESV, ORDER_PARAMS)
    assert fake.api_count() == 2
    assert _outcome(client, info.value) is Outcome.REJECTED


@pytest.mark.parametrize(("method", "path"), [("GET", RESV_CCNL), ("POST", RESV)])
def test_egw00215_ledger_limit_is_retried_like_egw00201(
    make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder, method: str, path: str
) -> None:
    fake.script(path, gateway_error("EGW00215", "원장 초당 거래건수를 초과하였습니다."))
    client = make_client()
    assert client.make_request(method, path, complete(path)).rt_cd == "0"
    assert fake.api_count() == 2
    assert len(sleeps.calls) == 1


@pytest.mark.parametrize(
    ("code", "kind"),
    [("EGW02004", KISAuthError), ("EGW02007", KISAuthError), ("EGW02006", KISGatewayError)],
)
def test_wrong_host_and_paper_codes_fail_once_as_refusals(
    make_client: Factory, fake: FakeKIS, code: str, kind: type[KISAPIError]
) -> None:
    fake.script(RESV, gateway_error(code))
    client = make_client()
    with pytest.raises(kind) as info:
        client.make_request("POST", RESV, ORDER_PARAMS)
    assert fake.api_count() == 1
    assert info.value.msg_cd == code
    assert _outcome(client, info.value) is Outcome.REJECTED


def test_seed_alias_egw00331_is_a_rate_limit(
    make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder
) -> None:
    fake.script(RESV_CCNL, gateway_error("EGW00331"))
    client = make_client(journal=False)
    assert client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS).rt_cd == "0"
    assert fake.api_count() == 2
    assert len(sleeps.calls) == 1


def test_seed_alias_egw00415_is_an_auth_error(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, gateway_error("EGW00415", "unauthorized"))
    client = make_client(journal=False)
    with pytest.raises(KISAuthError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert info.value.msg_cd == "EGW00003"
    assert fake.api_count() == 1


def test_seed_alias_egw00223_is_a_gateway_error(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, gateway_error("EGW00223", "invalid params"))
    client = make_client(journal=False)
    with pytest.raises(KISGatewayError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert type(info.value) is KISGatewayError
    assert info.value.msg_cd == "EGW00101"
    assert fake.api_count() == 1


# --- order POSTs that may have arrived: never resent -----------------------------------------
@pytest.mark.parametrize(
    ("reply", "cause"),
    [
        (httpx.ReadTimeout("read timed out"), "ReadTimeout"),
        (httpx.WriteTimeout("write timed out"), "WriteTimeout"),
        (httpx.RemoteProtocolError("Server disconnected"), "RemoteProtocolError"),
        (httpx.ReadError("connection reset"), "ReadError"),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), "HTTP 502"),
        (httpx.Response(503, text=""), "HTTP 503"),
        (httpx.Response(200, text="{garbled"), "HTTP 200 with an unreadable body"),
        (httpx.Response(200, json=["not", "an", "envelope"]), "HTTP 200"),
        (httpx.Response(200, json={}), "without rt_cd/msg_cd"),
        (gateway_error("EGW00301", "연결시간 초과"), "EGW00301"),
        (gateway_error("EGW00302", "거래시간 초과"), "EGW00302"),
        (gateway_error("EGW00001", "일시적 오류"), "EGW00001"),
        (gateway_error("EGW00002", "서버 에러"), "EGW00002"),
        (kis_json(status=500, rt_cd="0"), "rt_cd is 0"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_uncertain_order_post_is_sent_once_and_unknown(
    make_client: Factory,
    fake: FakeKIS,
    sleeps: SleepRecorder,
    reply: httpx.Response | Exception,
    cause: str,
) -> None:
    fake.script(RESV, reply)
    client = make_client()
    with pytest.raises(OrderOutcomeUnknownError) as info:
        client.make_request("POST", RESV, ORDER_PARAMS)
    assert fake.api_count() == 1
    assert sleeps.calls == []
    assert cause in info.value.cause
    assert info.value.tr_id == "CTSC0008U"
    assert info.value.reached_server is None
    assert "reconcile" in str(info.value)
    assert _outcome(client, info.value) is Outcome.UNKNOWN


@pytest.mark.parametrize("action", ["cancel", "modify"])
def test_uncertain_cancel_and_modify_are_unknown_too(
    make_client: Factory, fake: FakeKIS, action: str
) -> None:
    fake.script(RESV_RVSECNCL, httpx.ReadTimeout("read timed out"))
    client = make_client()
    body = complete(RESV_RVSECNCL, action, RSVN_ORD_SEQ="7")
    with pytest.raises(OrderOutcomeUnknownError):
        client.make_request("POST", RESV_RVSECNCL, body, action=action)
    assert fake.api_count() == 1


# --- the same failures on a GET inquiry: retried ---------------------------------------------
@pytest.mark.parametrize(
    "reply",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.ReadError("connection reset"),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.Response(200, text="{garbled"),
        gateway_error("EGW00301"),
        gateway_error("EGW00302"),
        gateway_error("EGW00001"),
    ],
    ids=["read-timeout", "remote-protocol", "read-error", "502", "garbled", "301", "302", "001"],
)
def test_uncertain_get_is_retried(
    make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder, reply: httpx.Response | Exception
) -> None:
    fake.script(RESV_CCNL, reply)
    client = make_client()
    resp = client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert resp.rt_cd == "0"
    assert fake.api_count() == 2
    assert sleeps.calls == [pytest.approx(FIRST_BACKOFF)]
    assert client.journal is not None
    assert client.journal.entries() == []  # inquiries are not journaled


def test_uncertain_get_forever_is_server_error(
    make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder
) -> None:
    fake.script(RESV_CCNL, *[httpx.Response(502, text="bad") for _ in range(10)])
    client = make_client(journal=False, max_attempts=4)
    with pytest.raises(KISServerError, match="HTTP 502"):
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert fake.api_count() == 4
    assert len(sleeps.calls) == 3


# --- refusals: typed errors, one request -----------------------------------------------------
def test_business_rejection(make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder) -> None:
    fake.script(
        RESV,
        kis_json(
            rt_cd="1",
            msg_cd="APBK0919",
            msg1="주문가능금액을 초과 했습니다        ",
            headers={"gt_uid": "GT-1"},
        ),
    )
    client = make_client()
    with pytest.raises(KISBusinessError) as info:
        client.make_request("POST", RESV, ORDER_PARAMS)
    err = info.value
    assert (err.msg_cd, err.msg1, err.rt_cd, err.tr_id, err.http_status, err.gt_uid) == (
        "APBK0919",
        "주문가능금액을 초과 했습니다",
        "1",
        "CTSC0008U",
        200,
        "GT-1",
    )
    assert err.reached_server is True
    assert "APBK0919" in str(err)
    assert fake.api_count() == 1
    assert sleeps.calls == []
    assert _outcome(client, err) is Outcome.REJECTED


def test_business_rejection_on_get_is_not_retried(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, kis_json(rt_cd="7", msg_cd="OPSQ2001", msg1="시장코드 오류"))
    client = make_client(journal=False)
    with pytest.raises(KISBusinessError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert info.value.rt_cd == "7"
    assert fake.api_count() == 1


@pytest.mark.parametrize(
    ("code", "cls"),
    [("EGW00103", KISAuthError), ("EGW00206", KISAuthError), ("EGW00101", KISGatewayError)],
)
def test_other_gateway_codes_fail_once(
    make_client: Factory, fake: FakeKIS, code: str, cls: type[Exception]
) -> None:
    fake.script(RESV_CCNL, gateway_error(code))
    client = make_client(journal=False)
    with pytest.raises(cls):
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert fake.api_count() == 1


def test_4xx_without_envelope_is_gateway_error(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV, httpx.Response(404, text="not found"))
    client = make_client()
    with pytest.raises(KISGatewayError, match="HTTP 404") as info:
        client.make_request("POST", RESV, ORDER_PARAMS)
    assert info.value.http_status == 404
    assert fake.api_count() == 1


def test_local_protocol_error_is_not_retried(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, httpx.LocalProtocolError("bad header"))
    client = make_client(journal=False)
    with pytest.raises(KISTransportError, match="not sent"):
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert fake.api_count() == 1


# --- paper mode ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "kw"),
    [
        ("POST", RESV_RVSECNCL, {"action": "cancel"}),
        ("POST", RESV_RVSECNCL, {}),
        ("POST", RESV, {}),
        ("GET", RESV_CCNL, {}),
        ("POST", RESV_RVSECNCL, {"tr_id": "CTSC0009U"}),
        ("POST", "/uapi/somewhere/else", {"tr_id": "CTSC0009U"}),
        ("POST", RVSECNCL, {"tr_id": "TTTC0013U"}),
    ],
)
def test_paper_mode_refuses_real_only_before_any_request(
    make_client: Factory, fake: FakeKIS, tmp_path: Path, method: str, path: str, kw: dict[str, Any]
) -> None:
    client = make_client(mode="paper")
    with pytest.raises(PaperTradingNotSupportedError) as info:
        client.make_request(method, path, {"RSVN_ORD_SEQ": "1"}, **kw)
    assert info.value.reached_server is False
    assert fake.requests == []  # not even a token request
    assert client.send_count == 0
    assert not (tmp_path / "tokens").exists()
    assert not (tmp_path / "journal.sqlite3").exists()


def test_paper_mode_order_rvsecncl_works(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(mode="paper")
    body = complete(RVSECNCL, RVSE_CNCL_DVSN_CD="02")
    client.make_request("POST", RVSECNCL, body, tr_id="VTTC0013U")
    client.make_request("POST", RVSECNCL, body)
    assert [r.headers["tr_id"] for r in fake.api_requests] == ["VTTC0013U", "VTTC0013U"]
    assert fake.api_requests[0].url.host == "openapivts.koreainvestment.com"
    assert fake.api_requests[0].url.port == 29443


# --- back-off ---------------------------------------------------------------------------------
def test_backoff_grows_is_bounded_and_uses_the_rng(make_client: Factory) -> None:
    low = make_client(journal=False, rng=lambda: 0.0)._core
    high = make_client(journal=False, rng=lambda: 1.0)._core
    mid = make_client(journal=False, rng=lambda: 0.5)._core
    lows = [low.backoff(a) for a in range(1, 12)]
    highs = [high.backoff(a) for a in range(1, 12)]
    assert lows[:5] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8])
    assert highs[:5] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6])
    assert all(h <= C.BACKOFF_MAX_S for h in highs)
    assert highs[-1] == pytest.approx(C.BACKOFF_MAX_S)
    assert lows[-1] == pytest.approx(C.BACKOFF_MAX_S / 2)
    assert all(b >= a for a, b in itertools.pairwise(highs))
    assert mid.backoff(3) == pytest.approx(0.3)  # between the two, set by the rng


def test_total_backoff_is_bounded(
    make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder
) -> None:
    fake.script(RESV_CCNL, *[gateway_error("EGW00201") for _ in range(30)])
    client = make_client(journal=False, max_attempts=20, rng=lambda: 1.0)
    with pytest.raises(KISRateLimitError):
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert sleeps.calls == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0])
    assert sum(sleeps.calls) <= C.BACKOFF_TOTAL_S
    assert fake.api_count() == 9
