"""The sync client on the wire: query/body, headers, TR_ID resolution, parsing, host guard."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    KISBusinessError,
    KISRestClient,
    KISValidationError,
    TRIDResolutionError,
)

from ._support import (
    APP_KEY,
    APP_SECRET,
    CANO,
    INQUIRY_PARAMS,
    ORDER_PARAMS,
    PSBL,
    RESV,
    RESV_CCNL,
    RESV_RVSECNCL,
    FakeKIS,
    complete,
    kis_json,
)

Factory = Callable[..., KISRestClient]


def test_get_sends_params_in_the_query_with_upper_case_keys(
    make_client: Factory, fake: FakeKIS
) -> None:
    client = make_client(journal=False)
    params = {k.lower(): v for k, v in INQUIRY_PARAMS.items()}
    client.make_request("get", RESV_CCNL, params)
    req = fake.api_requests[0]
    assert req.method == "GET"
    assert req.url.path == RESV_CCNL
    # Upper case (the sheet's spelling); continuation keys the caller left out are blank.
    expected = {**INQUIRY_PARAMS, "CTX_AREA_FK200": "", "CTX_AREA_NK200": ""}
    assert dict(req.url.params) == expected
    assert req.content == b""


def test_post_sends_a_json_body_with_upper_case_keys(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    client.make_request("POST", RESV, ORDER_PARAMS)
    req = fake.api_requests[0]
    assert req.method == "POST"
    assert req.url.query == b""
    body = json.loads(req.content)
    assert body == {k.upper(): v for k, v in ORDER_PARAMS.items()}
    assert all(k.isupper() for k in body)


def test_headers(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS, tr_cont="n")
    h = fake.api_requests[0].headers
    assert h["authorization"] == f"Bearer {fake.token_for(1)}"
    assert h["appkey"] == APP_KEY
    assert h["appsecret"] == APP_SECRET
    assert h["tr_id"] == "CTSC0004R"
    assert h["custtype"] == "P"
    assert h["tr_cont"] == "N"
    assert h["content-type"] == "application/json; charset=utf-8"
    assert "hashkey" not in h


def test_no_tr_cont_header_on_a_first_page(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False, custtype="B")
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    h = fake.api_requests[0].headers
    assert "tr_cont" not in h
    assert h["custtype"] == "B"


@pytest.mark.parametrize(
    ("method", "path", "action", "tr_id"),
    [
        ("POST", RESV, None, "CTSC0008U"),
        ("POST", RESV_RVSECNCL, "cancel", "CTSC0009U"),
        ("POST", RESV_RVSECNCL, "modify", "CTSC0013U"),
        ("GET", RESV_CCNL, None, "CTSC0004R"),
        ("POST", "/uapi/domestic-stock/v1/trading/order-rvsecncl", None, "TTTC0013U"),
        ("GET", PSBL, None, "TTTC0084R"),
    ],
)
def test_tr_id_comes_from_the_catalog(
    make_client: Factory, fake: FakeKIS, method: str, path: str, action: str | None, tr_id: str
) -> None:
    client = make_client(journal=False)
    resp = client.make_request(method, path, complete(path, action), action=action)
    assert fake.api_requests[0].headers["tr_id"] == tr_id
    assert resp.tr_id == tr_id


def test_multi_tr_path_without_action_sends_nothing(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    with pytest.raises(TRIDResolutionError, match="cancel"):
        client.make_request("POST", RESV_RVSECNCL, {"RSVN_ORD_SEQ": "1"})
    assert fake.requests == []


def test_explicit_tr_id(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    client.make_request("POST", RESV_RVSECNCL, complete(RESV_RVSECNCL, "modify"), tr_id="ctsc0013u")
    assert fake.api_requests[0].headers["tr_id"] == "CTSC0013U"
    with pytest.raises(TRIDResolutionError, match="does not belong"):
        client.make_request(
            "POST", RESV_RVSECNCL, complete(RESV_RVSECNCL, "cancel"), tr_id="CTSC0008U"
        )
    assert fake.api_count() == 1


def test_unknown_path_needs_a_tr_id(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    path = "/uapi/domestic-stock/v1/not-in-the-catalog"
    with pytest.raises(TRIDResolutionError, match="no TR_ID is known"):
        client.make_request("GET", path, {})
    quote = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    resp = client.make_request("GET", path, quote, tr_id="FHKST01010100")
    assert resp.rt_cd == "0"
    assert fake.api_requests[0].headers["tr_id"] == "FHKST01010100"


def test_catalogued_quote_path_resolves(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    path = "/uapi/domestic-stock/v1/quotations/inquire-price"
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    assert client.make_request("GET", path, params).rt_cd == "0"
    assert fake.api_requests[0].headers["tr_id"] == "FHKST01010100"


def test_wrong_method_is_refused_locally(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    with pytest.raises(KISValidationError, match="is a POST API"):
        client.make_request("GET", RESV, {})
    with pytest.raises(KISValidationError, match="GET or POST"):
        client.make_request("DELETE", RESV, {})
    assert fake.requests == []


def test_msg1_trimmed_and_outputs_read_case_insensitively(
    make_client: Factory, fake: FakeKIS
) -> None:
    fake.script(
        RESV,
        kis_json(
            msg_cd="APBK2938",
            msg1="예약주문이 접수되었습니다.          ",
            output={"RSVN_ORD_SEQ": "39607"},
        ),
    )
    client = make_client(journal=False)
    resp = client.make_request("POST", RESV, ORDER_PARAMS)
    assert resp.msg1 == "예약주문이 접수되었습니다."
    assert resp.msg_cd == "APBK2938"
    assert resp.output["rsvn_ord_seq"] == "39607"
    assert resp.output["RSVN_ORD_SEQ"] == "39607"
    assert resp.output["Rsvn_Ord_Seq"] == "39607"
    assert resp["RT_CD"] == "0"
    assert resp.first()["rsvn_ord_seq"] == "39607"
    assert list(resp.output) == ["RSVN_ORD_SEQ"]  # keys kept as sent


def test_list_output_rows(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(
        RESV_CCNL,
        kis_json(output=[{"rsvn_ord_seq": "1", "PDNO": "005930"}, {"rsvn_ord_seq": "2"}]),
    )
    client = make_client(journal=False)
    resp = client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    rows = resp.rows()
    assert [r["RSVN_ORD_SEQ"] for r in rows] == ["1", "2"]
    assert rows[0]["pdno"] == "005930"


def test_msg_instead_of_msg1(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, httpx.Response(200, json={"rt_cd": "0", "msg_cd": "X", "msg": " hi "}))
    client = make_client(journal=False)
    assert client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS).msg1 == "hi"


def test_json_body_parsed_whatever_the_status(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(
        RESV_CCNL,
        kis_json(status=500, rt_cd="1", msg_cd="OPSQ2000", msg1="계좌번호 오류   "),
    )
    client = make_client(journal=False)
    with pytest.raises(KISBusinessError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert info.value.msg_cd == "OPSQ2000"
    assert info.value.msg1 == "계좌번호 오류"
    assert info.value.http_status == 500
    assert fake.api_count() == 1


def test_response_headers_are_readable(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, kis_json(headers={"tr_cont": "M", "gt_uid": "G123"}))
    client = make_client(journal=False)
    resp = client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert resp.tr_cont == "M"
    assert resp.has_next is True
    assert resp.gt_uid == "G123"


def test_full_url_to_another_host_is_refused_before_the_network(
    make_client: Factory, fake: FakeKIS
) -> None:
    client = make_client(journal=False)
    for url in (
        "https://evil.example.com" + RESV_CCNL,
        "http://openapi.koreainvestment.com:9443" + RESV_CCNL,  # scheme differs
        "https://openapi.koreainvestment.com" + RESV_CCNL,  # port differs
    ):
        with pytest.raises(KISValidationError, match="not the configured KIS host"):
            client.make_request("GET", url, {})
    assert fake.requests == []
    # The configured host itself is fine.
    client.make_request("GET", client.base_url + RESV_CCNL, INQUIRY_PARAMS)
    assert fake.api_requests[0].url.host == "openapi.koreainvestment.com"


def test_relative_path_without_slash(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    client.make_request("GET", RESV_CCNL.lstrip("/"), INQUIRY_PARAMS)
    assert fake.api_requests[0].url.path == RESV_CCNL


def test_hashkey_header_when_enabled(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False, use_hashkey=True)
    client.make_request("POST", RESV, ORDER_PARAMS)
    assert len(fake.hashkey_requests) == 1
    hk = fake.hashkey_requests[0]
    assert hk.headers["appkey"] == APP_KEY
    assert hk.headers["appsecret"] == APP_SECRET
    assert "authorization" not in hk.headers
    api = fake.api_requests[0]
    assert json.loads(hk.content) == json.loads(api.content)
    assert api.headers["hashkey"] == "HASH" + "ab" * 30
    # GET requests carry no hashkey.
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert len(fake.hashkey_requests) == 1
    assert "hashkey" not in fake.api_requests[1].headers


def test_value_conversion(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    values = {
        "RSVN_ORD_SEQ": 10,
        "RSVN_ORD_ORD_DT": date(2026, 1, 2),
        "CNCL_YN": True,
        "PDNO": None,
    }
    client.make_request("GET", RESV_CCNL, {**INQUIRY_PARAMS, **values})
    sent = dict(fake.api_requests[0].url.params)
    assert (sent["RSVN_ORD_SEQ"], sent["RSVN_ORD_ORD_DT"], sent["CNCL_YN"], sent["PDNO"]) == (
        "10",
        "20260102",
        "Y",
        "",
    )
    order = {**ORDER_PARAMS, "ord_unpr": Decimal("70000.00"), "ord_qty": Decimal("1.50")}
    client.make_request("POST", RESV, order)
    body = json.loads(fake.api_requests[1].content)
    # Integral decimals lose their zeros; non-integral ones pass through as written.
    assert (body["ORD_UNPR"], body["ORD_QTY"]) == ("70000", "1.50")
    with pytest.raises(KISValidationError, match="unsupported parameter value"):
        client.make_request("GET", RESV_CCNL, {"x": 1.5})
    assert fake.api_count() == 2


def test_describe_sends_nothing_and_masks(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    out = client.describe("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert fake.requests == []
    assert out["method"] == "GET"
    assert out["tr_id"] == "CTSC0004R"
    assert out["url"] == "https://openapi.koreainvestment.com:9443" + RESV_CCNL
    assert out["query"]["CANO"] == "12****78"
    assert out["query"]["ACNT_PRDT_CD"] == "01"
    assert out["headers"]["appsecret"] == "***"
    assert out["headers"]["authorization"] == "Bearer ***"
    assert out["headers"]["tr_id"] == "CTSC0004R"


def test_send_count_counts_api_requests_only(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert client.send_count == 2
    assert len(fake.token_requests) == 1


def test_context_manager_closes_http(make_client: Factory) -> None:
    client = make_client(journal=False)
    with client as c:
        assert c is client
    assert client._http.is_closed


# --- finding 3: the journal is published only once it is built ---------------------------------
def test_fresh_client_journal_is_never_seen_half_opened(make_client: Factory) -> None:
    # Before: the first thread marked the journal opened before building it; every other
    # thread got None meanwhile and sent its order POST unjournaled.
    import threading
    from concurrent.futures import ThreadPoolExecutor

    client = make_client()
    gate = threading.Barrier(8)

    def grab() -> object:
        gate.wait()
        return client.journal

    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: grab(), range(8)))
    assert all(j is not None for j in seen)
    assert len({id(j) for j in seen}) == 1


def test_every_order_post_is_marked_sent_before_it_leaves(
    make_client: Factory, fake: FakeKIS
) -> None:
    client = make_client()
    seen: list[object] = []

    def on_api(request: httpx.Request) -> None:
        # At the moment the server sees the POST, its journal entry says it was sent.
        assert client.journal is not None
        (entry,) = client.journal.pending()
        seen.append(entry.sent_at)

    fake.on_api = on_api
    client.make_request("POST", RESV, ORDER_PARAMS)
    assert len(seen) == 1 and seen[0] is not None


# --- finding 5: no secret in the repr of a prepared call -----------------------------------------
def test_prepared_call_repr_masks_the_account(make_client: Factory) -> None:
    client = make_client(journal=False)
    call = client.prepare("POST", RESV, ORDER_PARAMS)
    assert CANO not in repr(call) and CANO not in str(call)
    assert "12****78" in repr(call)
