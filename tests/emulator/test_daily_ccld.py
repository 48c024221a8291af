"""주식일별주문체결조회 (inquire-daily-ccld) and intraday fills, spoken to as the spec says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from stock_manager.emulator import ServedEmulator
from stock_manager.emulator.state import Order
from tests.emulator.helpers import FROZEN, ORDER_RVSECNCL, TRADING, Kis

DAILY = f"{TRADING}/inquire-daily-ccld"


def daily_params(kis: Kis, day: str, **overrides: str) -> dict[str, str]:
    params = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.prdt,
        "INQR_STRT_DT": day,
        "INQR_END_DT": day,
        "SLL_BUY_DVSN_CD": "00",
        "PDNO": "",
        "ORD_GNO_BRNO": "",
        "ODNO": "",
        "CCLD_DVSN": "00",
        "INQR_DVSN": "01",
        "INQR_DVSN_1": "",
        "INQR_DVSN_3": "00",
        "EXCG_ID_DVSN_CD": "KRX",
        "CTX_AREA_FK100": "",
        "CTX_AREA_NK100": "",
    }
    params.update(overrides)
    return params


def daily(kis: Kis, day: str, tr_id: str = "TTTC0081R", **overrides: str) -> list[dict[str, Any]]:
    """Every output1 row of ``day``, following tr_cont; each page's body is checked."""
    rows: list[dict[str, Any]] = []
    params = daily_params(kis, day, **overrides)
    tr_cont = ""
    for _ in range(10):
        r = kis.http.get(DAILY, params=params, headers=kis.headers(tr_id, tr_cont=tr_cont))
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["rt_cd"] == "0", data
        assert set(data["output2"]) >= {"tot_ord_qty", "tot_ccld_qty", "tot_ccld_amt"}
        rows += data["output1"]
        if r.headers["tr_cont"] in ("D", "E"):
            return rows
        params["CTX_AREA_FK100"] = data["ctx_area_fk100"]
        params["CTX_AREA_NK100"] = data["ctx_area_nk100"]
        tr_cont = "N"
    raise AssertionError("paging did not end")


def test_processing_day_orders_and_fills(emu: ServedEmulator, kis: Kis) -> None:
    full = kis.place_ok(PDNO="005930", ORD_QTY="10", ORD_UNPR="70000")
    part = kis.place_ok(PDNO="000660", ORD_QTY="9", ORD_UNPR="180000")
    none = kis.place_ok(PDNO="035420", ORD_QTY="3", ORD_UNPR="190000")
    rej = kis.place_ok(PDNO="005380", ORD_QTY="1", ORD_UNPR="240000")
    emu.clock.freeze(FROZEN + timedelta(hours=12))  # Wednesday 06:00: processing day = today
    emu.process_day({full: "filled", part: "partial", none: "unfilled", rej: "rejected"})
    rows = {r["pdno"]: r for r in daily(kis, "20261125")}
    assert set(rows) == {"005930", "000660", "035420"}  # the rejected one never became an order
    assert (rows["005930"]["tot_ccld_qty"], rows["005930"]["rmn_qty"]) == ("10", "0")
    assert rows["005930"]["avg_prvs"] == "70000"
    assert (rows["000660"]["tot_ccld_qty"], rows["000660"]["rmn_qty"]) == ("4", "5")
    assert (rows["035420"]["tot_ccld_qty"], rows["035420"]["rmn_qty"]) == ("0", "3")
    assert all(r["ord_dt"] == "20261125" for r in rows.values())
    assert daily(kis, "20261124") == []

    # Intraday fill through the admin API, then cancel the rest: a cancel row of its own.
    odno = rows["035420"]["odno"]
    filled = kis.http.post("/_emulator/orders/fill", json={"odno": odno, "qty": 1})
    assert filled.status_code == 200, filled.text
    body = {
        "CANO": kis.cano,
        "ACNT_PRDT_CD": kis.prdt,
        "KRX_FWDG_ORD_ORGNO": rows["035420"]["ord_gno_brno"],
        "ORGN_ODNO": odno,
        "ORD_DVSN": "00",
        "RVSE_CNCL_DVSN_CD": "02",
        "ORD_QTY": "0",
        "ORD_UNPR": "0",
        "QTY_ALL_ORD_YN": "Y",
    }
    r = kis.http.post(ORDER_RVSECNCL, json=body, headers=kis.headers("TTTC0013U"))
    assert r.json()["rt_cd"] == "0", r.text
    after = daily(kis, "20261125", PDNO="035420")
    original = next(x for x in after if x["odno"] == odno)
    cancel = next(x for x in after if x["orgn_odno"] == odno)
    assert (original["tot_ccld_qty"], original["rmn_qty"], original["cnc_cfrm_qty"]) == (
        "1",
        "0",
        "2",
    )
    assert (cancel["cncl_yn"], cancel["ord_qty"]) == ("Y", "2")
    # The reservation list shows the intraday fill too.
    resv = kis.list_all(RSVN_ORD_SEQ=none)
    assert resv[0]["tot_ccld_qty"] == "1"
    # Filters: only filled orders; only unfilled (open) ones.
    assert {x["pdno"] for x in daily(kis, "20261125", CCLD_DVSN="01")} == {
        "005930",
        "000660",
        "035420",
    }
    assert {x["pdno"] for x in daily(kis, "20261125", CCLD_DVSN="02")} == {"000660"}


def test_paging_and_old_tr_id(emu: ServedEmulator, kis: Kis) -> None:
    # 105 orders straight into the state (placing them would meet the rate limit).
    for i in range(105):
        emu.state.save_order(
            Order(
                odno=emu.state.next_odno(),
                account=emu.config.account,
                pdno="005930",
                qty=i + 1,
                unpr=70000,
                sll_buy="02",
                ord_dvsn="00",
                ord_tmd="083000",
                psbl_qty=i + 1,
                ord_dt="20261125",
            )
        )
    first = kis.http.get(
        DAILY, params=daily_params(kis, "20261125"), headers=kis.headers("TTTC0081R")
    )
    assert first.headers["tr_cont"] == "F"
    assert len(first.json()["output1"]) == 100
    rows = daily(kis, "20261125")
    assert len(rows) == 105
    assert len({r["odno"] for r in rows}) == 105
    assert rows == sorted(rows, key=lambda r: r["odno"])  # INQR_DVSN 01: oldest first
    # CTSC9215R (older than three months) reads the same rows.
    assert len(daily(kis, "20261125", tr_id="CTSC9215R")) == 105


def test_bad_date_and_wrong_tr_id(kis: Kis) -> None:
    r = kis.http.get(
        DAILY, params=daily_params(kis, "2026-11-25"), headers=kis.headers("TTTC0081R")
    )
    assert r.json()["rt_cd"] == "1"
    r = kis.http.get(DAILY, params=daily_params(kis, "20261125"), headers=kis.headers("CTSC0004R"))
    assert r.json()["rt_cd"] == "1" or r.status_code >= 400
    assert isinstance(r, httpx.Response)
