"""주식예약주문 / 정정취소: success paths and every business rule."""

from __future__ import annotations

from typing import Any

import pytest

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from tests.emulator.helpers import FROZEN, RESV, Kis, frozen_config

ROW_FIELDS = {
    "rsvn_ord_seq", "rsvn_ord_ord_dt", "rsvn_ord_rcit_dt", "pdno", "ord_dvsn_cd", "ord_rsvn_qty",
    "tot_ccld_qty", "cncl_ord_dt", "ord_tmd", "ctac_tlno", "rjct_rson2", "odno",
    "rsvn_ord_rcit_tmd", "kor_item_shtn_name", "sll_buy_dvsn_cd", "ord_rsvn_unpr",
    "tot_ccld_amt", "loan_dt", "cncl_rcit_tmd", "prcs_rslt", "ord_dvsn_name",
    "tmnl_mdia_kind_cd", "rsvn_end_dt",
}  # fmt: skip


def test_place_success_envelope(kis: Kis) -> None:
    r = kis.place()
    assert r.status_code == 200
    data = r.json()
    assert data["rt_cd"] == "0"
    assert data["msg_cd"] == "APBK2938"
    assert data["msg1"] == "예약주문이 접수되었습니다."  # POST answers are not padded
    assert set(data["output"]) == {"RSVN_ORD_SEQ"}
    assert data["output"]["RSVN_ORD_SEQ"].isdigit()


def test_place_minimal_body_and_row_fields(kis: Kis) -> None:
    body = kis.place_body()
    for optional in ("LOAN_DT", "RSVN_ORD_END_DT", "LDNG_DT"):
        body.pop(optional)
    r = kis.http.post(RESV, json=body, headers=kis.headers("CTSC0008U"))
    seq = r.json()["output"]["RSVN_ORD_SEQ"]
    row = kis.row(seq)
    assert set(row) == ROW_FIELDS
    assert all(isinstance(v, str) for v in row.values())
    assert row["kor_item_shtn_name"] == "삼성전자"
    assert row["rsvn_ord_rcit_dt"] == "20261124"
    assert row["rsvn_ord_ord_dt"] == "20261125"  # next business day
    assert row["rsvn_ord_rcit_tmd"] == "180000"
    assert row["prcs_rslt"] == "미처리"
    assert row["odno"] == ""
    assert row["ord_rsvn_qty"] == "10"
    assert row["ord_rsvn_unpr"] == "70000"
    assert row["ord_dvsn_name"] == "현금매수"


def test_friday_reservation_goes_to_monday() -> None:
    friday = FROZEN.replace(day=27)
    with run_emulator(frozen_config(clock=lambda: friday)) as emu:
        import httpx

        with httpx.Client(base_url=emu.base_url) as client:
            kis = Kis(client, emu.config)
            kis.login()
            seq = kis.place_ok()
            assert kis.row(seq)["rsvn_ord_ord_dt"] == "20261130"


def test_generic_symbol_name(kis: Kis) -> None:
    # Not in the emulator's listing: a quote set through the admin API lists it.
    kis.http.post("/_emulator/market/quote", json={"symbol": "123450", "price": 10000})
    seq = kis.place_ok(PDNO="123450")
    assert kis.row(seq)["kor_item_shtn_name"] == "종목123450"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"ORD_DVSN_CD": "03"}, "APBK8002"),
        ({"SLL_BUY_DVSN_CD": "03"}, "APBK8003"),
        ({"ORD_DVSN_CD": "01", "ORD_UNPR": "70000"}, "APBK8004"),
        ({"ORD_DVSN_CD": "05", "ORD_UNPR": "100"}, "APBK8004"),
        ({"ORD_DVSN_CD": "00", "ORD_UNPR": "0"}, "APBK8005"),
        ({"ORD_DVSN_CD": "02", "ORD_UNPR": "0"}, "APBK8005"),
        ({"ORD_QTY": "0"}, "APBK8006"),
        ({"ORD_QTY": "-1"}, "APBK8006"),
        ({"ORD_QTY": "abc"}, "APBK8006"),
        ({"PDNO": "5930"}, "APBK8007"),
        ({"PDNO": "0059300"}, "APBK8007"),
        ({"ORD_OBJT_CBLC_DVSN_CD": "99"}, "APBK8015"),
        ({"ORD_OBJT_CBLC_DVSN_CD": "21"}, "APBK8015"),  # buy side must be cash (10)
        ({"RSVN_ORD_END_DT": "20261124"}, "APBK8008"),  # not later than today
        ({"RSVN_ORD_END_DT": "20270110"}, "APBK8008"),  # more than 30 days out
        ({"RSVN_ORD_END_DT": "2026-12-01"}, "OPSQ2002"),  # too long for an 8-char field
        ({"RSVN_ORD_END_DT": "20261345"}, "APBK8008"),  # not a date
        ({"CANO": "99999999"}, "OPSQ2000"),
        ({"ACNT_PRDT_CD": "03"}, "OPSQ2000"),
        ({"CANO": ""}, "OPSQ2000"),
        ({"CANO": "123456789"}, "OPSQ2002"),
        ({"ORD_QTY": ""}, "APBK8001"),
        ({"PDNO": "0" * 13}, "OPSQ2002"),
    ],
)
def test_place_rules(kis: Kis, overrides: dict[str, str], code: str) -> None:
    r = kis.place(**overrides)
    assert r.status_code == 200
    data = r.json()
    assert data["rt_cd"] == "1"
    assert data["msg_cd"] == code
    assert data["msg1"].strip()
    assert kis.list_all() == []


def test_place_valid_variants(kis: Kis) -> None:
    kis.place_ok(ORD_DVSN_CD="01", ORD_UNPR="0")
    kis.place_ok(ORD_DVSN_CD="05", ORD_UNPR="0", SLL_BUY_DVSN_CD="01")
    kis.place_ok(ORD_DVSN_CD="02", SLL_BUY_DVSN_CD="01", ORD_OBJT_CBLC_DVSN_CD="21")
    seq = kis.place_ok(RSVN_ORD_END_DT="20261221")  # a Monday (20261220 is a Sunday)
    assert kis.row(seq)["rsvn_end_dt"] == "20261221"
    assert len(kis.list_all()) == 4


def test_missing_account_key(kis: Kis) -> None:
    body = kis.place_body()
    del body["ACNT_PRDT_CD"]
    r = kis.http.post(RESV, json=body, headers=kis.headers("CTSC0008U"))
    assert r.json()["msg_cd"] == "OPSQ2000"


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "OPSQ9995"), (b"{oops", "OPSQ9997"), (b"[1, 2]", "OPSQ9997")],
)
def test_bad_bodies(kis: Kis, content: bytes, code: str) -> None:
    r = kis.http.post(RESV, content=content, headers=kis.headers("CTSC0008U"))
    assert r.status_code == 500
    assert r.json()["msg_cd"] == code


def test_non_string_value(kis: Kis) -> None:
    body: dict[str, Any] = dict(kis.place_body())
    body["ORD_QTY"] = 5  # numbers are tolerated
    r = kis.http.post(RESV, json=body, headers=kis.headers("CTSC0008U"))
    assert r.json()["rt_cd"] == "0"
    body["ORD_QTY"] = [5]
    r = kis.http.post(RESV, json=body, headers=kis.headers("CTSC0008U"))
    assert r.json()["msg_cd"] == "APBK8020"


def test_period_reservation_limit() -> None:
    with run_emulator(frozen_config(max_period_reservations=2)) as emu:
        import httpx

        with httpx.Client(base_url=emu.base_url) as client:
            kis = Kis(client, emu.config)
            kis.login()
            kis.place_ok(RSVN_ORD_END_DT="20261210")
            kis.place_ok(RSVN_ORD_END_DT="20261210")
            kis.place_ok()  # ordinary reservations are not limited
            r = kis.place(RSVN_ORD_END_DT="20261210")
            assert r.json()["msg_cd"] == "APBK8009"
            # Cancelling one frees a slot.
            seq = kis.list_all()[0]["rsvn_ord_seq"]
            assert kis.cancel(seq).json()["rt_cd"] == "0"
            kis.place_ok(RSVN_ORD_END_DT="20261210")


@pytest.mark.parametrize(("hour", "minute"), [(10, 0), (23, 45), (0, 5), (7, 30), (15, 39)])
def test_entry_window_enforced(hour: int, minute: int) -> None:
    at = FROZEN.replace(hour=hour, minute=minute)
    cfg = frozen_config(clock=lambda: at, enforce_window=True)
    with run_emulator(cfg) as emu:
        import httpx

        with httpx.Client(base_url=emu.base_url) as client:
            kis = Kis(client, emu.config)
            kis.login()
            r = kis.place()
            assert r.json()["msg_cd"] == "KIER3672"
            assert (
                r.json()["msg1"] == "예약주문은 15:40분 이후부터 익영업일 07:30분까지만 가능합니다"
            )
            assert r.headers["X-Emulator-Detail"]


def test_entry_window_open(config: EmulatorConfig) -> None:
    for hour, minute in ((15, 40), (7, 29), (18, 0)):
        at = FROZEN.replace(hour=hour, minute=minute)
        with run_emulator(frozen_config(clock=lambda at=at: at, enforce_window=True)) as emu:
            import httpx

            with httpx.Client(base_url=emu.base_url) as client:
                kis = Kis(client, emu.config)
                kis.login()
                kis.place_ok()


def test_entry_window_on_by_default_and_switchable(emu: ServedEmulator, kis: Kis) -> None:
    emu.clock.advance(-8 * 3600)  # 10:00 on a weekday
    assert kis.place().json()["msg_cd"] == "KIER3672"
    emu.config.enforce_window = False
    kis.place_ok()


def test_cancel(kis: Kis) -> None:
    seq = kis.place_ok()
    r = kis.cancel(seq)
    assert r.status_code == 200
    data = r.json()
    assert data["rt_cd"] == "0"
    assert data["msg_cd"] == "KIOK0430"
    assert data["msg1"].startswith("정상적으로 처리되었습니다")
    assert data["output"] == {"NRML_PRCS_YN": "Y"}
    row = kis.row(seq)
    assert row["cncl_ord_dt"] == "20261124"
    assert row["cncl_rcit_tmd"] == "180000"
    assert row["prcs_rslt"] == "취소"
    # Cancelled rows disappear with CNCL_YN=Y.
    assert kis.list_all(CNCL_YN="Y") == []
    # Twice: rejected.
    assert kis.cancel(seq).json()["msg_cd"] == "APBK8010"
    assert kis.modify(seq).json()["msg_cd"] == "APBK8010"


def test_cancel_with_spec_example_fields(kis: Kis) -> None:
    seq = kis.place_ok()
    row = kis.row(seq)
    r = kis.cancel(seq, RSVN_ORD_ORGNO="00", RSVN_ORD_ORD_DT=row["rsvn_ord_ord_dt"])
    assert r.json()["rt_cd"] == "0"


def test_cancel_rules(kis: Kis) -> None:
    seq = kis.place_ok()
    assert kis.cancel("999999").json()["msg_cd"] == "APBK8012"
    assert kis.cancel("abc").json()["msg_cd"] == "APBK8012"
    assert kis.cancel(seq, RSVN_ORD_ORD_DT="20200101").json()["msg_cd"] == "APBK8012"
    assert kis.cancel(seq, CANO="87654321").json()["msg_cd"] == "OPSQ2000"
    assert kis.cancel("").json()["msg_cd"] == "APBK8001"
    assert kis.cancel("12345678901").json()["msg_cd"] == "OPSQ2002"


def test_modify_replaces_terms_and_keeps_seq(kis: Kis) -> None:
    seq = kis.place_ok()
    r = kis.modify(
        seq,
        PDNO="000660",
        ORD_QTY="3",
        ORD_UNPR="0",
        ORD_DVSN_CD="01",
        SLL_BUY_DVSN_CD="01",
        RSVN_ORD_END_DT="20261201",
        CTAC_TLNO="01011112222",
    )
    data = r.json()
    assert (data["rt_cd"], data["msg_cd"], data["output"]) == (
        "0",
        "KIOK0430",
        {"NRML_PRCS_YN": "Y"},
    )
    rows = kis.list_all()
    assert [row["rsvn_ord_seq"] for row in rows] == [seq]
    row = rows[0]
    assert row["pdno"] == "000660"
    assert row["kor_item_shtn_name"] == "SK하이닉스"
    assert (row["ord_rsvn_qty"], row["ord_rsvn_unpr"], row["ord_dvsn_cd"]) == ("3", "0", "01")
    assert row["sll_buy_dvsn_cd"] == "01"
    assert row["rsvn_end_dt"] == "20261201"
    assert row["ctac_tlno"] == "01011112222"


def test_modify_rules(kis: Kis) -> None:
    seq = kis.place_ok()
    assert kis.modify(seq, ORD_DVSN_CD="03").json()["msg_cd"] == "APBK8002"
    assert kis.modify(seq, ORD_UNPR="0").json()["msg_cd"] == "APBK8005"
    assert kis.modify("424242").json()["msg_cd"] == "APBK8012"
    body = kis.place_body(RSVN_ORD_SEQ=seq)
    del body["PDNO"]
    r = kis.http.post(
        "/uapi/domestic-stock/v1/trading/order-resv-rvsecncl",
        json=body,
        headers=kis.headers("CTSC0013U"),
    )
    assert r.json()["msg_cd"] == "APBK8001"
    # The rejected modifies changed nothing.
    assert kis.row(seq)["ord_rsvn_unpr"] == "70000"


def test_processed_cannot_change(emu: ServedEmulator, kis: Kis) -> None:
    seq = kis.place_ok()
    emu.process_day()
    assert kis.cancel(seq).json()["msg_cd"] == "APBK8011"
    assert kis.modify(seq).json()["msg_cd"] == "APBK8011"


def test_hashkey(kis: Kis) -> None:
    body = kis.place_body()
    r = kis.http.post(
        "/uapi/hashkey",
        json=body,
        headers={"appkey": kis.config.app_key, "appsecret": kis.config.app_secret},
    )
    assert r.status_code == 200
    data = r.json()
    assert data["BODY"] == body
    assert len(data["HASH"]) == 64
    headers = kis.headers("CTSC0008U", hashkey=data["HASH"])
    assert kis.http.post(RESV, json=body, headers=headers).json()["rt_cd"] == "0"
    tampered = dict(body, ORD_QTY="99")
    r = kis.http.post(RESV, json=tampered, headers=headers)
    assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW00131")
    assert len(kis.list_all()) == 1


def test_hashkey_needs_app_credentials(kis: Kis) -> None:
    r = kis.http.post("/uapi/hashkey", json={"A": "1"}, headers={"appkey": kis.config.app_key})
    assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW00104")
    r = kis.http.post("/uapi/hashkey", json={"A": "1"})
    assert r.json()["msg_cd"] == "EGW00102"
