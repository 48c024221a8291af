"""Emulator market data (admin-set quotes, holdings, cash) and processing-day rejections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stock_manager.emulator import ServedEmulator, run_emulator
from stock_manager.emulator.market import REASONS, next_band, tick_size
from tests.emulator.helpers import Kis, frozen_config

Q = "/uapi/domestic-stock/v1/quotations/inquire-price"
T = "/uapi/domestic-stock/v1/trading"


def admin(kis: Kis, path: str, **body: Any) -> Any:
    r = kis.http.post(f"/_emulator/market/{path}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def get(kis: Kis, path: str, tr_id: str, **params: str) -> dict[str, Any]:
    r = kis.http.get(path, params=params, headers=kis.headers(tr_id))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def account(kis: Kis) -> dict[str, str]:
    return {"CANO": kis.cano, "ACNT_PRDT_CD": kis.prdt}


def test_inquire_price_serves_the_set_quote(kis: Kis) -> None:
    admin(kis, "quote", symbol="005930", price=71000)
    out = get(kis, Q, "FHKST01010100", FID_COND_MRKT_DIV_CODE="J", FID_INPUT_ISCD="005930")
    assert out["rt_cd"] == "0"
    o = out["output"]
    assert (o["stck_prpr"], o["aspr_unit"]) == ("71000", "100")
    assert (o["stck_llam"], o["stck_mxpr"]) == ("49700", "92300")
    bad = kis.http.get(
        Q,
        params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
        headers=kis.headers("TTTC8434R"),
    )
    assert bad.json()["msg_cd"] == "OPSQ0002"  # a TR_ID of another path


def test_buying_power_and_sellable(kis: Kis) -> None:
    admin(kis, "quote", symbol="005930", price=71000)
    admin(kis, "cash", cash=1_000_000)
    admin(kis, "holding", symbol="005930", qty=7, avg_price=65000)
    psbl = get(
        kis,
        f"{T}/inquire-psbl-order",
        "TTTC8908R",
        **account(kis),
        PDNO="005930",
        ORD_UNPR="71000",
        ORD_DVSN="00",
        CMA_EVLU_AMT_ICLD_YN="N",
        OVRS_ICLD_YN="N",
    )["output"]
    assert (psbl["ord_psbl_cash"], psbl["max_buy_qty"]) == ("1000000", "14")
    sell = get(kis, f"{T}/inquire-psbl-sell", "TTTC8408R", **account(kis), PDNO="005930")
    assert sell["output1"]["ord_psbl_qty"] == "7"
    bal = get(
        kis,
        f"{T}/inquire-balance",
        "TTTC8434R",
        **account(kis),
        AFHR_FLPR_YN="N",
        INQR_DVSN="02",
        UNPR_DVSN="01",
        FUND_STTL_ICLD_YN="N",
        FNCG_AMT_AUTO_RDPT_YN="N",
        PRCS_DVSN="00",
    )
    assert [(r["pdno"], r["hldg_qty"], r["ord_psbl_qty"]) for r in bal["output1"]] == [
        ("005930", "7", "7")
    ]
    assert bal["output2"][0]["dnca_tot_amt"] == "1000000"


def test_other_accounts_are_refused(kis: Kis) -> None:
    r = kis.http.get(
        f"{T}/inquire-psbl-sell",
        params={"CANO": "99999999", "ACNT_PRDT_CD": "01", "PDNO": "1"},
        headers=kis.headers("TTTC8408R"),
    )
    assert r.json()["msg_cd"] == "OPSQ2000"


@pytest.fixture
def paper() -> Iterator[tuple[ServedEmulator, Kis]]:
    with (
        run_emulator(frozen_config(mode="paper")) as served,
        httpx.Client(base_url=served.base_url, timeout=5) as http,
    ):
        helper = Kis(http, served.config)
        helper.login()
        yield served, helper


def test_sellable_query_is_real_only(paper: tuple[ServedEmulator, Kis]) -> None:
    _, kis = paper
    r = kis.http.get(
        f"{T}/inquire-psbl-sell",
        params={**account(kis), "PDNO": "005930"},
        headers=kis.headers("TTTC8408R"),
    )
    assert r.json()["msg_cd"] == "EGW02006"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"ORD_UNPR": "71050"}, REASONS["tick"]),
        ({"ORD_UNPR": "95000"}, REASONS["band"]),
        ({"ORD_QTY": "20"}, REASONS["funds"]),  # 20 x 71,000 > 1,000,000
        ({"SLL_BUY_DVSN_CD": "01", "ORD_QTY": "8"}, REASONS["holdings"]),  # holds 7
    ],
)
def test_processing_day_rejects_what_kis_would(
    kis: Kis, emu: ServedEmulator, body: dict[str, str], reason: str
) -> None:
    admin(kis, "quote", symbol="005930", price=71000)
    admin(kis, "cash", cash=1_000_000)
    admin(kis, "holding", symbol="005930", qty=7)
    values = {"ORD_QTY": "1", "ORD_UNPR": "71000", **body}
    seq = kis.place_ok(**values)
    good = kis.place_ok(ORD_QTY="1", ORD_UNPR="71000")
    results = {r["seq"]: r for r in kis.http.post("/_emulator/process-day", json={}).json()}
    assert results[seq]["outcome"] == "rejected" and results[seq]["reason"] == reason
    assert results[good]["outcome"] == "filled"
    rows = {r["rsvn_ord_seq"]: r for r in kis.list_all()}
    assert rows[seq]["prcs_rslt"] == "거부" and rows[seq]["rjct_rson2"].strip() == reason


def test_no_market_data_keeps_the_old_behaviour(kis: Kis) -> None:
    assert kis.http.delete("/_emulator/market").json() == {"cleared": True}  # seeded data too
    seq = kis.place_ok(ORD_UNPR="71050")  # off tick, but there is no quote: not judged
    results = {r["seq"]: r for r in kis.http.post("/_emulator/process-day", json={}).json()}
    assert results[seq]["outcome"] == "filled"


def test_admin_snapshot_and_clear(kis: Kis) -> None:
    admin(kis, "quote", symbol="005930", price=71000)
    snap = kis.http.get("/_emulator/market").json()
    assert snap["quotes"]["005930"]["upper"] == 92300
    assert kis.http.delete("/_emulator/market").json() == {"cleared": True}
    assert kis.http.get("/_emulator/market").json()["quotes"] == {}


def test_emulator_rules_match_krx() -> None:
    assert [tick_size(p) for p in (1999, 2000, 5000, 20000, 50000, 200000, 500000)] == [
        1,
        5,
        10,
        50,
        100,
        500,
        1000,
    ]
    assert next_band(71000) == (49700, 92300)


def test_chk_holiday_answers_24_days_with_opnd_yn(kis: Kis) -> None:
    r = kis.http.post("/_emulator/calendar", json={"closed": ["2026-12-02"]})
    assert r.status_code == 200, r.text
    r = kis.http.get(
        "/uapi/domestic-stock/v1/quotations/chk-holiday",
        params={"BASS_DT": "20261220", "CTX_AREA_NK": "", "CTX_AREA_FK": ""},
        headers=kis.headers("CTCA0903R"),
    )
    rows = {row["bass_dt"]: row for row in r.json()["output"]}
    assert len(rows) == 24 and min(rows) == "20261220" and max(rows) == "20270112"
    assert rows["20261231"]["opnd_yn"] == "N"  # year-end closing day
    assert rows["20261230"]["opnd_yn"] == "Y"
    assert rows["20261220"]["wday_dvsn_cd"] == "01"  # Sunday
    early = kis.http.get(
        "/uapi/domestic-stock/v1/quotations/chk-holiday",
        params={"BASS_DT": "20261201", "CTX_AREA_NK": "", "CTX_AREA_FK": ""},
        headers=kis.headers("CTCA0903R"),
    ).json()["output"]
    assert [x["opnd_yn"] for x in early if x["bass_dt"] == "20261202"] == ["N"]


def test_chk_holiday_is_real_only(paper: tuple[ServedEmulator, Kis]) -> None:
    _, kis = paper
    r = kis.http.get(
        "/uapi/domestic-stock/v1/quotations/chk-holiday",
        params={"BASS_DT": "20261201", "CTX_AREA_NK": "", "CTX_AREA_FK": ""},
        headers=kis.headers("CTCA0903R"),
    )
    assert r.json()["msg_cd"] == "EGW02006"


# --- issue #22 items 21-24: the emulator as a market ------------------------------------------
BALANCE = {
    "AFHR_FLPR_YN": "N",
    "INQR_DVSN": "02",
    "UNPR_DVSN": "01",
    "FUND_STTL_ICLD_YN": "N",
    "FNCG_AMT_AUTO_RDPT_YN": "N",
    "PRCS_DVSN": "00",
}


def quote(kis: Kis, symbol: str) -> dict[str, Any]:
    r = kis.http.get(
        Q,
        params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol},
        headers=kis.headers("FHKST01010100"),
    )
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def holdings_and_cash(kis: Kis) -> tuple[dict[str, tuple[int, int]], int]:
    bal = get(kis, f"{T}/inquire-balance", "TTTC8434R", **account(kis), **BALANCE)
    rows = {r["pdno"]: (int(r["hldg_qty"]), int(r["pchs_avg_pric"])) for r in bal["output1"]}
    return rows, int(bal["output2"][0]["dnca_tot_amt"])


def test_listed_codes_have_seeded_quotes_and_unknown_codes_are_refused(kis: Kis) -> None:
    samsung = quote(kis, "005930")["output"]
    assert (samsung["stck_prpr"], samsung["stck_llam"], samsung["stck_mxpr"]) == (
        "71000",
        "49700",
        "92300",
    )
    assert quote(kis, "069500")["output"]["aspr_unit"] == "5"  # an ETF
    unknown = quote(kis, "999999")
    assert (unknown["rt_cd"], unknown["msg_cd"]) == ("1", "APBK8023")
    assert "output" not in unknown  # no invented 10,000-won quote
    refused = kis.place(PDNO="999999").json()
    assert (refused["rt_cd"], refused["msg_cd"]) == ("1", "APBK8023")
    seq = kis.place_ok(PDNO="005930")
    modified = kis.modify(seq, PDNO="999999").json()
    assert modified["msg_cd"] == "APBK8023"
    # A quote set through the admin API lists the code.
    admin(kis, "quote", symbol="999999", price=12000)
    assert quote(kis, "999999")["output"]["stck_prpr"] == "12000"
    kis.place_ok(PDNO="999999", ORD_UNPR="12000")


def test_any_symbol_accepts_unknown_codes_but_invents_no_quote() -> None:
    with (
        run_emulator(frozen_config(any_symbol=True)) as served,
        httpx.Client(base_url=served.base_url, timeout=5) as http,
    ):
        kis = Kis(http, served.config)
        kis.login()
        kis.place_ok(PDNO="999999", ORD_UNPR="12000")
        none = quote(kis, "999999")
        assert (none["rt_cd"], none["msg_cd"]) == ("1", "EMU00404")


def test_fills_move_holdings_and_cash_and_a_sell_after_a_buy_passes(kis: Kis) -> None:
    held, cash = holdings_and_cash(kis)
    assert held == {} and cash == 100_000_000  # the seeded starting cash
    buy = kis.place_ok(ORD_QTY="10", ORD_UNPR="70000")
    kis.http.post("/_emulator/process-day", json={})
    held, cash = holdings_and_cash(kis)
    assert held == {"005930": (10, 70000)}
    assert cash == 100_000_000 - 700_000
    sellable = get(kis, f"{T}/inquire-psbl-sell", "TTTC8408R", **account(kis), PDNO="005930")
    assert sellable["output1"]["ord_psbl_qty"] == "10"
    sell = kis.place_ok(SLL_BUY_DVSN_CD="01", ORD_QTY="4", ORD_UNPR="71000")
    results = {r["seq"]: r for r in kis.http.post("/_emulator/process-day", json={}).json()}
    assert buy not in results and results[sell]["outcome"] == "filled"
    held, cash = holdings_and_cash(kis)
    assert held == {"005930": (6, 70000)}
    assert cash == 100_000_000 - 700_000 + 4 * 71000
    # Intraday fills of an open order (admin orders/fill) move them too.
    open_buy = kis.place_ok(PDNO="000660", ORD_QTY="5", ORD_UNPR="180000")
    days = {
        r["seq"]: r
        for r in kis.http.post("/_emulator/process-day", json={"default": "unfilled"}).json()
    }
    r = kis.http.post("/_emulator/orders/fill", json={"odno": days[open_buy]["odno"], "qty": 2})
    assert r.status_code == 200, r.text
    held, _ = holdings_and_cash(kis)
    assert held["000660"] == (2, 180000)


def test_a_rejected_sell_gives_the_quantity_reason(kis: Kis) -> None:
    not_held = kis.place_ok(SLL_BUY_DVSN_CD="01", ORD_QTY="3", ORD_UNPR="71000")
    told = kis.place_ok(PDNO="000660", SLL_BUY_DVSN_CD="01", ORD_QTY="1", ORD_UNPR="180000")
    admin(kis, "holding", symbol="000660", qty=5)
    results = {
        r["seq"]: r
        for r in kis.http.post(
            "/_emulator/process-day", json={"outcomes": {told: "rejected"}}
        ).json()
    }
    assert results[not_held]["reason"] == REASONS["holdings"]
    rows = {r["rsvn_ord_seq"]: r for r in kis.list_all()}
    for seq in (not_held, told):
        assert rows[seq]["prcs_rslt"] == "거부"
        assert rows[seq]["rjct_rson2"].strip() == REASONS["holdings"], rows[seq]
        assert REASONS["funds"] not in rows[seq]["rjct_rson2"]
