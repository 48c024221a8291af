"""iter_pages: tr_cont F/M → N with the CTX_AREA keys echoed; D/E ends; loops and caps fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from stock_manager.adapters.broker.kis import KISResponse, KISRestClient, KISServerError

from ._support import INQUIRY_PARAMS, PSBL, RESV_CCNL, FakeKIS, complete, kis_json

Factory = Callable[..., KISRestClient]


def page(tr_cont: str, fk: str, nk: str, seqs: list[str], *, size: int = 100) -> httpx.Response:
    return kis_json(
        headers={"tr_cont": tr_cont},
        msg1="조회 되었습니다.",
        ctx_area_fk200=fk.ljust(size),
        ctx_area_nk200=nk.ljust(size),
        output=[{"rsvn_ord_seq": s} for s in seqs],
    )


@pytest.mark.parametrize("last", ["D", "E"])
def test_follows_f_and_m_and_stops_at_d_or_e(
    make_client: Factory, fake: FakeKIS, last: str
) -> None:
    fake.script(
        RESV_CCNL,
        page("F", "FK1!^x", "NK1", ["1", "2"]),
        page("M", "FK2!^x", "NK2", ["3"]),
        page(last, "", "", ["4"]),
        page("F", "never", "never", ["5"]),  # must not be asked for
    )
    client = make_client(journal=False)
    pages = list(client.iter_pages("GET", RESV_CCNL, INQUIRY_PARAMS))
    assert [r["rsvn_ord_seq"] for p in pages for r in p.rows()] == ["1", "2", "3", "4"]
    assert fake.api_count() == 3
    reqs = fake.api_requests
    assert "tr_cont" not in reqs[0].headers
    assert [r.headers.get("tr_cont") for r in reqs[1:]] == ["N", "N"]
    params = [dict(r.url.params) for r in reqs]
    assert (params[0]["CTX_AREA_FK200"], params[0]["CTX_AREA_NK200"]) == ("", "")
    # The keys are echoed exactly as received, padding included (spec: "echo").
    pad = 100
    assert (params[1]["CTX_AREA_FK200"], params[1]["CTX_AREA_NK200"]) == (
        "FK1!^x".ljust(pad),
        "NK1".ljust(pad),
    )
    assert (params[2]["CTX_AREA_FK200"], params[2]["CTX_AREA_NK200"]) == (
        "FK2!^x".ljust(pad),
        "NK2".ljust(pad),
    )
    for p in params:  # the query itself is kept on every page
        assert p["CANO"] == INQUIRY_PARAMS["CANO"]
        assert p["RSVN_ORD_END_DT"] == "20260131"
    assert {r.headers["tr_id"] for r in reqs} == {"CTSC0004R"}


def test_single_page(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, page("D", "", "", ["1"]))
    client = make_client(journal=False)
    assert len(list(client.iter_pages("GET", RESV_CCNL, INQUIRY_PARAMS))) == 1
    assert fake.api_count() == 1


def test_no_tr_cont_header_means_last_page(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, kis_json(output=[]))
    client = make_client(journal=False)
    assert len(list(client.iter_pages("GET", RESV_CCNL, INQUIRY_PARAMS))) == 1


def test_repeated_continuation_keys_raise(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(
        RESV_CCNL,
        page("F", "FK1", "NK1", ["1"]),
        page("M", "FK1", "NK1", ["1"]),
        page("M", "FK1", "NK1", ["1"]),
    )
    client = make_client(journal=False)
    seen: list[KISResponse] = []
    with pytest.raises(KISServerError, match="does not advance"):
        seen.extend(client.iter_pages("GET", RESV_CCNL, INQUIRY_PARAMS))
    assert len(seen) == 2
    assert fake.api_count() == 2


def test_max_pages_cap(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, *[page("M", f"FK{i}", f"NK{i}", [str(i)]) for i in range(10)])
    client = make_client(journal=False)
    seen: list[KISResponse] = []
    with pytest.raises(KISServerError, match="did not end after 3 pages"):
        seen.extend(client.iter_pages("GET", RESV_CCNL, INQUIRY_PARAMS, max_pages=3))
    assert len(seen) == 3
    assert fake.api_count() == 3


def test_other_context_keys(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(
        PSBL,
        kis_json(headers={"tr_cont": "M"}, ctx_area_fk100="A ", ctx_area_nk100="B ", output=[]),
        kis_json(headers={"tr_cont": "D"}, ctx_area_fk100="", ctx_area_nk100="", output=[]),
    )
    client = make_client(journal=False)
    params = complete(PSBL, CANO="1")
    pages = list(client.iter_pages("GET", PSBL, params))  # FK100/NK100 from the catalog
    assert len(pages) == 2
    second = dict(fake.api_requests[1].url.params)
    # echoed exactly as received, padding included
    assert (second["CTX_AREA_FK100"], second["CTX_AREA_NK100"]) == ("A ", "B ")
    assert "CTX_AREA_FK200" not in second


def test_keys_only_paging_when_tr_cont_is_unusable(make_client: Factory, fake: FakeKIS) -> None:
    # 해외주식 미체결내역: "tr_cont를 이용한 다음조회 불가"; the keys alone carry the position.
    path = "/uapi/overseas-stock/v1/trading/inquire-nccs"
    fake.script(
        path,
        kis_json(ctx_area_fk200="F1", ctx_area_nk200="N1", output=[{"odno": "1"}]),
        kis_json(ctx_area_fk200="F2", ctx_area_nk200="N2", output=[{"odno": "2"}]),
        kis_json(ctx_area_fk200="F2", ctx_area_nk200="", output=[{"odno": "3"}]),
    )
    client = make_client(journal=False)
    params = {k: v for k, v in complete(path).items() if not k.startswith("CTX_AREA_")}
    pages = list(client.iter_pages("GET", path, params, max_pages=None))
    assert [p.rows()[0]["odno"] for p in pages] == ["1", "2", "3"]
    sent = [dict(r.url.params) for r in fake.api_requests]
    assert [s["CTX_AREA_NK200"] for s in sent] == ["", "N1", "N2"]
    assert all("tr_cont" not in r.headers for r in fake.api_requests)


def test_tr_cont_only_paging_sends_n(make_client: Factory, fake: FakeKIS) -> None:
    path = "/uapi/domestic-stock/v1/trading/inquire-account-balance"  # 투자계좌자산현황조회
    fake.script(
        path,
        kis_json(headers={"tr_cont": "M"}, output1=[]),
        kis_json(headers={"tr_cont": "D"}, output1=[]),
    )
    client = make_client(journal=False)
    assert len(list(client.iter_pages("GET", path, complete(path)))) == 2
    assert [r.headers.get("tr_cont") for r in fake.api_requests] == [None, "N"]


def test_cap_error_names_the_setting(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV_CCNL, *[page("M", f"FK{i}", f"NK{i}", [str(i)]) for i in range(4)])
    client = make_client(journal=False)
    with pytest.raises(KISServerError, match="max_pages=2"):
        list(client.iter_pages("GET", RESV_CCNL, INQUIRY_PARAMS, max_pages=2))


async def test_async_iter_pages_uses_the_catalog_keys_and_action(
    make_async_client: Callable[..., Any], fake: FakeKIS
) -> None:
    # 주식일별주문체결조회 (two TR_IDs: inner/before), CTX_AREA_FK100/NK100, tr_cont usable.
    path = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"
    fake.script(
        path,
        kis_json(headers={"tr_cont": "M"}, ctx_area_fk100="F", ctx_area_nk100="N", output1=[]),
        kis_json(headers={"tr_cont": "D"}, output1=[]),
    )
    client = make_async_client(journal=False)
    params = {k: v for k, v in complete(path).items() if not k.startswith("CTX_AREA_")}
    pages = [p async for p in client.iter_pages("GET", path, params, action="before")]
    assert len(pages) == 2
    second = fake.api_requests[1]
    assert second.headers["tr_id"] == "CTSC9215R"
    assert second.headers["tr_cont"] == "N"
    assert (second.url.params["CTX_AREA_FK100"], second.url.params["CTX_AREA_NK100"]) == ("F", "N")
