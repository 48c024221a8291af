"""주식예약주문조회: paging (tr_cont F/M/D, ctx_area_*200) and filters."""

from __future__ import annotations

from stock_manager.emulator import ServedEmulator
from tests.emulator.helpers import Kis


def test_paging_45_rows(emu: ServedEmulator, kis: Kis) -> None:
    emu.limiter.limit = 0  # 45 placements + pages in one frozen instant
    seqs = [kis.place_ok() for _ in range(45)]
    sizes, conts, seen = [], [], []
    r = kis.query()
    while True:
        data = r.json()
        assert data["rt_cd"] == "0"
        more = r.headers["tr_cont"] in ("F", "M")
        assert data["msg_cd"] == ("KIOK0500" if more else "KIOK0460")
        assert len(data["ctx_area_fk200"]) == 200
        assert len(data["ctx_area_nk200"]) == 200
        sizes.append(len(data["output"]))
        conts.append(r.headers["tr_cont"])
        seen += [row["rsvn_ord_seq"] for row in data["output"]]
        if r.headers["tr_cont"] == "D":
            assert "마지막 자료" in data["msg1"]
            break
        assert "마지막 자료" not in data["msg1"]
        r = kis.query(
            tr_cont="N",
            CTX_AREA_FK200=data["ctx_area_fk200"],
            CTX_AREA_NK200=data["ctx_area_nk200"],
        )
    assert sizes == [20, 20, 5]
    assert conts == ["F", "M", "D"]
    assert seen == seqs
    assert emu.requests.count(tr_id="CTSC0004R") == 3


def test_single_and_empty_page(kis: Kis) -> None:
    r = kis.query()
    assert r.headers["tr_cont"] == "D"
    assert r.json()["output"] == []
    kis.place_ok()
    r = kis.query()
    assert r.headers["tr_cont"] == "D"
    assert len(r.json()["output"]) == 1


def test_exactly_twenty_rows_is_one_page(emu: ServedEmulator, kis: Kis) -> None:
    emu.limiter.limit = 0
    for _ in range(20):
        kis.place_ok()
    r = kis.query()
    assert r.headers["tr_cont"] == "D"
    assert len(r.json()["output"]) == 20


def test_continuation_needs_tr_cont_n(emu: ServedEmulator, kis: Kis) -> None:
    emu.limiter.limit = 0
    for _ in range(25):
        kis.place_ok()
    first = kis.query().json()
    # Without tr_cont: N the keys are ignored and the first page comes back.
    r = kis.query(CTX_AREA_FK200=first["ctx_area_fk200"], CTX_AREA_NK200=first["ctx_area_nk200"])
    assert r.headers["tr_cont"] == "F"
    assert r.json()["output"] == first["output"]


def test_changed_filter_mid_paging_rejected(emu: ServedEmulator, kis: Kis) -> None:
    emu.limiter.limit = 0
    for _ in range(25):
        kis.place_ok()
    first = kis.query().json()
    r = kis.query(
        tr_cont="N",
        PDNO="000660",
        CTX_AREA_FK200=first["ctx_area_fk200"],
        CTX_AREA_NK200=first["ctx_area_nk200"],
    )
    assert r.json()["msg_cd"] == "APBK8019"
    r = kis.query(tr_cont="N", CTX_AREA_FK200=first["ctx_area_fk200"], CTX_AREA_NK200="zz")
    assert r.json()["msg_cd"] == "APBK8019"


def test_filters(emu: ServedEmulator, kis: Kis) -> None:
    a = kis.place_ok(PDNO="005930")
    b = kis.place_ok(PDNO="000660", SLL_BUY_DVSN_CD="01")
    c = kis.place_ok(PDNO="035420")
    kis.cancel(c)
    emu.process_day(outcomes={a: "filled"})  # a and b processed
    d = kis.place_ok(PDNO="005380")

    def seqs(**kw: str) -> list[str]:
        return [row["rsvn_ord_seq"] for row in kis.list_all(**kw)]

    assert seqs() == [a, b, c, d]
    assert seqs(CNCL_YN="Y") == [a, b, d]
    assert seqs(PRCS_DVSN_CD="1") == [a, b]
    assert seqs(PRCS_DVSN_CD="2") == [d]
    assert seqs(PDNO="000660") == [b]
    assert seqs(SLL_BUY_DVSN_CD="01") == [b]
    assert seqs(SLL_BUY_DVSN_CD="02") == [a, c, d]
    assert seqs(RSVN_ORD_SEQ=c) == [c]
    # Received 20261124, order date 20261125: either date in range matches.
    assert seqs(RSVN_ORD_ORD_DT="20261125", RSVN_ORD_END_DT="20261125") == [a, b, c, d]
    assert seqs(RSVN_ORD_ORD_DT="20261124", RSVN_ORD_END_DT="20261124") == [a, b, c, d]
    assert seqs(RSVN_ORD_ORD_DT="20261126", RSVN_ORD_END_DT="20261130") == []
    assert seqs(RSVN_ORD_ORD_DT="", RSVN_ORD_END_DT="") == [a, b, c, d]


def test_tolerates_missing_optional_keys(kis: Kis) -> None:
    kis.place_ok()
    params = {"CANO": kis.cano, "ACNT_PRDT_CD": kis.prdt}
    r = kis.http.get(
        "/uapi/domestic-stock/v1/trading/order-resv-ccnl",
        params=params,
        headers=kis.headers("CTSC0004R"),
    )
    assert r.json()["rt_cd"] == "0"
    assert len(r.json()["output"]) == 1


def test_list_rejections(kis: Kis) -> None:
    assert kis.query(CANO="").json()["msg_cd"] == "OPSQ2000"
    assert kis.query(CANO="11112222").json()["msg_cd"] == "OPSQ2000"
    assert kis.query(RSVN_ORD_ORD_DT="2026011").json()["msg_cd"] == "APBK8016"
    assert kis.query(PRCS_DVSN_CD="9").json()["msg_cd"] == "APBK8020"
    assert kis.query(CNCL_YN="X").json()["msg_cd"] == "APBK8020"
    assert kis.query(RSVN_ORD_SEQ="abc").json()["msg_cd"] == "APBK8020"
    assert kis.query(CTX_AREA_NK200="x" * 201).json()["msg_cd"] == "OPSQ2002"
