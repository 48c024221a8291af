"""Processing day and the ordinary-order APIs used for reconciliation."""

from __future__ import annotations

import httpx
import pytest

from stock_manager.emulator import ServedEmulator
from tests.emulator.helpers import ORDER_RVSECNCL, PSBL, Kis


def psbl(kis: Kis, tr_cont: str = "", **overrides: str) -> httpx.Response:
    params = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.prdt,
        "CTX_AREA_FK100": "",
        "CTX_AREA_NK100": "",
        "INQR_DVSN_1": "0",
        "INQR_DVSN_2": "0",
    }
    params.update(overrides)
    return kis.http.get(PSBL, params=params, headers=kis.headers("TTTC0084R", tr_cont=tr_cont))


def rvsecncl(kis: Kis, odno: str, kind: str, **overrides: str) -> httpx.Response:
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.prdt,
        "KRX_FWDG_ORD_ORGNO": "06010",
        "ORGN_ODNO": odno,
        "ORD_DVSN": "00",
        "RVSE_CNCL_DVSN_CD": kind,
        "ORD_QTY": "0",
        "ORD_UNPR": "0",
        "QTY_ALL_ORD_YN": "Y",
        "EXCG_ID_DVSN_CD": "KRX",
    }
    body.update(overrides)
    return kis.http.post(ORDER_RVSECNCL, json=body, headers=kis.headers("TTTC0013U"))


def test_process_day_outcomes(emu: ServedEmulator, kis: Kis) -> None:
    filled = kis.place_ok(ORD_QTY="10", ORD_UNPR="70000")
    partial = kis.place_ok(ORD_QTY="10", ORD_UNPR="70000")
    unfilled = kis.place_ok(ORD_QTY="4", ORD_UNPR="70000")
    rejected = kis.place_ok()
    market = kis.place_ok(ORD_DVSN_CD="01", ORD_UNPR="0", ORD_QTY="2")
    results = emu.process_day(
        outcomes={partial: "partial", unfilled: "unfilled", rejected: "rejected"}
    )
    assert [r["outcome"] for r in results] == [
        "filled",
        "partial",
        "unfilled",
        "rejected",
        "filled",
    ]
    rows = {row["rsvn_ord_seq"]: row for row in kis.list_all()}
    f = rows[filled]
    assert (f["prcs_rslt"], f["tot_ccld_qty"], f["tot_ccld_amt"]) == ("처리", "10", "700000")
    assert len(f["odno"]) == 10
    assert f["ord_tmd"] == "180000"
    p = rows[partial]
    assert (p["tot_ccld_qty"], p["tot_ccld_amt"]) == ("5", "350000")
    assert rows[unfilled]["tot_ccld_qty"] == "0"
    rj = rows[rejected]
    assert (rj["prcs_rslt"], rj["odno"]) == ("거부", "")
    assert rj["rjct_rson2"]
    assert rows[market]["tot_ccld_amt"] == str(2 * 71000)  # reference price
    # Processing again does nothing: nothing is pending.
    assert emu.process_day() == []


def test_process_day_unknown_outcome(emu: ServedEmulator) -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        emu.process_day(default="maybe")


def test_psbl_lists_open_orders(emu: ServedEmulator, kis: Kis) -> None:
    a = kis.place_ok(ORD_QTY="10")
    b = kis.place_ok(ORD_QTY="6", SLL_BUY_DVSN_CD="01")
    kis.place_ok()  # filled: not revisable
    emu.process_day(outcomes={a: "partial", b: "unfilled"})
    r = psbl(kis)
    assert r.status_code == 200
    data = r.json()
    assert (data["rt_cd"], data["msg_cd"]) == ("0", "KIOK0510")
    assert r.headers["tr_cont"] == "D"
    rows = data["output"]
    assert [(row["psbl_qty"], row["ord_qty"], row["tot_ccld_qty"]) for row in rows] == [
        ("5", "10", "5"),
        ("6", "6", "0"),
    ]
    for key in ("odno", "pdno", "ord_unpr", "sll_buy_dvsn_cd", "ord_dvsn_cd", "ord_gno_brno"):
        assert all(isinstance(row[key], str) for row in rows)
    assert [row["sll_buy_dvsn_cd"] for row in psbl(kis, INQR_DVSN_2="1").json()["output"]] == ["01"]


def test_psbl_paging(emu: ServedEmulator, kis: Kis) -> None:
    emu.limiter.limit = 0
    for _ in range(55):
        kis.place_ok()
    emu.process_day(default="unfilled")
    r = psbl(kis)
    first = r.json()
    assert (r.headers["tr_cont"], len(first["output"])) == ("F", 50)
    assert len(first["ctx_area_nk100"]) == 100
    r = psbl(
        kis,
        tr_cont="N",
        CTX_AREA_FK100=first["ctx_area_fk100"],
        CTX_AREA_NK100=first["ctx_area_nk100"],
    )
    assert (r.headers["tr_cont"], len(r.json()["output"])) == ("D", 5)


def test_order_cancel_and_modify(emu: ServedEmulator, kis: Kis) -> None:
    a = kis.place_ok(ORD_QTY="10")
    b = kis.place_ok(ORD_QTY="8")
    emu.process_day(default="unfilled")
    odno_a = kis.row(a)["odno"]
    odno_b = kis.row(b)["odno"]
    r = rvsecncl(kis, odno_a, "02")
    assert r.status_code == 200
    data = r.json()
    assert (data["rt_cd"], data["msg_cd"]) == ("0", "APBK0013")
    assert set(data["output"]) == {"KRX_FWDG_ORD_ORGNO", "ODNO", "ORD_TMD"}
    # Cancelled: gone from the revisable list; cancelling again is refused.
    assert [row["odno"] for row in psbl(kis).json()["output"]] == [odno_b]
    assert rvsecncl(kis, odno_a, "02").json()["msg_cd"] == "APBK8021"
    # Modify part of b to a new price: a new order carrying the modified quantity.
    r = rvsecncl(kis, odno_b, "01", QTY_ALL_ORD_YN="N", ORD_QTY="3", ORD_UNPR="69000")
    new_odno = r.json()["output"]["ODNO"]
    rows = {row["odno"]: row for row in psbl(kis).json()["output"]}
    assert rows[odno_b]["psbl_qty"] == "5"
    assert (rows[new_odno]["ord_qty"], rows[new_odno]["ord_unpr"]) == ("3", "69000")
    assert rows[new_odno]["orgn_odno"] == odno_b
    assert rvsecncl(kis, odno_b, "02", QTY_ALL_ORD_YN="N", ORD_QTY="6").json()["msg_cd"] == (
        "APBK1359"
    )
    assert rvsecncl(kis, "9999999999", "02").json()["msg_cd"] == "APBK8017"
    assert rvsecncl(kis, odno_b, "03").json()["msg_cd"] == "APBK8018"
    assert rvsecncl(kis, odno_b.lstrip("0"), "02").json()["rt_cd"] == "0"


def test_order_rvsecncl_tr_ids(kis: Kis) -> None:
    r = kis.http.post(ORDER_RVSECNCL, json={}, headers=kis.headers("TTTC0803U"))
    assert r.json()["msg_cd"] == "OPSQ0002"  # the old TR_ID is not served


def test_custtype_required_on_ordinary_order_apis(kis: Kis) -> None:
    headers = kis.headers("TTTC0084R")
    del headers["custtype"]
    r = kis.http.get(PSBL, params={"CANO": kis.cano, "ACNT_PRDT_CD": kis.prdt}, headers=headers)
    assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW00208")
    # Reservation sheets mark custtype optional.
    headers = kis.headers("CTSC0004R")
    del headers["custtype"]
    r = kis.http.get(
        "/uapi/domestic-stock/v1/trading/order-resv-ccnl",
        params=kis.list_params(),
        headers=headers,
    )
    assert r.json()["rt_cd"] == "0"


def test_period_reservation_runs_until_filled_or_end(emu: ServedEmulator, kis: Kis) -> None:
    # Received Tue 2026-11-24 evening; first processing day Wed 25th, end date Fri 27th.
    seq = kis.place_ok(ORD_QTY="8", RSVN_ORD_END_DT="20261127")
    once = kis.place_ok(ORD_QTY="8")
    emu.process_day(default="unfilled")
    row = kis.row(seq)
    assert (row["prcs_rslt"], row["tot_ccld_qty"], row["rsvn_ord_ord_dt"]) == (
        "처리",
        "0",
        "20261126",
    )
    assert [r["rsvn_ord_seq"] for r in kis.list_all(PRCS_DVSN_CD="2")] == [seq]
    assert kis.row(once)["prcs_rslt"] == "처리"  # ordinary: done after one day
    assert emu.process_day() == []  # same day again: nothing is due
    emu.clock.advance(86400)  # Wednesday evening → processing day Thursday
    kis.login()  # the 24 h token expired
    first_odno = row["odno"]
    emu.process_day(default="partial")
    row = kis.row(seq)
    assert row["tot_ccld_qty"] == "4"
    assert row["odno"] != first_odno
    emu.clock.advance(86400)  # → Friday, the end date: last attempt
    kis.login()
    emu.process_day(default="unfilled")
    assert [r["rsvn_ord_seq"] for r in kis.list_all(PRCS_DVSN_CD="1")] == [seq, once]
    assert kis.cancel(seq).json()["msg_cd"] == "APBK8011"
