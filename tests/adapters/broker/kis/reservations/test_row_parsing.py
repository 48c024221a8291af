"""``Reservation.from_row``: the one-pass parser accepts what KIS may send, as before."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from stock_manager.adapters.broker.kis.reservations.models import Reservation, Side
from stock_manager.adapters.broker.kis.response import loads_ci


def test_a_kis_page_row_through_the_decoder() -> None:
    body = loads_ci(
        '{"output": [{"rsvn_ord_seq": "39607", "rsvn_ord_ord_dt": "20261126",'
        ' "rsvn_ord_rcit_dt": "20261125", "pdno": "005930", "ord_dvsn_cd": "00",'
        ' "ord_rsvn_qty": "12", "tot_ccld_qty": "0", "cncl_ord_dt": "", "ord_tmd": "",'
        ' "ctac_tlno": "0", "rjct_rson2": "", "odno": "", "rsvn_ord_rcit_tmd": "183454",'
        ' "kor_item_shtn_name": "삼성전자  ", "sll_buy_dvsn_cd": "02",'
        ' "ord_rsvn_unpr": "70000", "tot_ccld_amt": "0", "loan_dt": "", "cncl_rcit_tmd": "",'
        ' "prcs_rslt": "미처리", "ord_dvsn_name": "현금매수", "rsvn_end_dt": ""}]}'
    )
    row = Reservation.from_row(body["OUTPUT"][0])
    assert row == Reservation(
        seq="39607",
        order_date=date(2026, 11, 26),
        receipt_date=date(2026, 11, 25),
        receipt_time="183454",
        symbol="005930",
        name="삼성전자",
        side=Side.BUY,
        order_type="00",
        order_type_name="현금매수",
        qty=12,
        price=Decimal(70000),
        result="미처리",
    )
    assert row.status == "waiting"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"rsvn_ord_seq": ""}, {"seq": ""}),  # a blank seq stays blank
        ({"RSVN_ORD_SEQ": " 7 ", "ORD_RSVN_QTY": "1_000"}, {"seq": "7", "qty": 1000}),
        ({"Rsvn_Ord_Seq": "8", "Pdno": "000660"}, {"seq": "8", "symbol": "000660"}),
        ({"rsvn_ord_seq": "9", "ord_rsvn_unpr": " 6,000 "}, {"price": Decimal(6000)}),
        ({"rsvn_ord_seq": "9", "ord_rsvn_qty": 3, "tot_ccld_amt": 0}, {"qty": 3}),
        ({"rsvn_ord_seq": "9", "rsvn_end_dt": "00000000"}, {"end_date": None}),
        ({"rsvn_ord_seq": "9", "sll_buy_dvsn_cd": " "}, {"side": None}),
        ({"rsvn_ord_seq": "9", "cncl_ord_dt": "20260102"}, {"cancelled": True}),
        ({"rsvn_ord_seq": "9", "cncl_rcit_tmd": "101010"}, {"cancelled": True}),
        ({"rsvn_ord_seq": "9", "cncl_rcit_tmd": "   "}, {"cancelled": False}),
    ],
)
def test_tolerant_cases(raw: dict[str, object], expected: dict[str, object]) -> None:
    row = Reservation.from_row(raw)
    for field, value in expected.items():
        assert getattr(row, field) == value


def test_dates_parse_the_same_every_time() -> None:
    """The date memo returns what a fresh parse does, and never hides a bad date."""
    first = Reservation.from_row({"rsvn_ord_seq": "1", "rsvn_ord_ord_dt": "20260228"})
    again = Reservation.from_row({"rsvn_ord_seq": "2", "rsvn_ord_ord_dt": "20260228"})
    assert first.order_date == again.order_date == date(2026, 2, 28)
    for _ in range(2):
        with pytest.raises(ValueError, match="day is out of range"):
            Reservation.from_row({"rsvn_ord_seq": "3", "rsvn_ord_ord_dt": "20260230"})
    with pytest.raises(ValueError, match="does not match format"):
        Reservation.from_row({"rsvn_ord_seq": "3", "rsvn_ord_ord_dt": "2026-02"})


def test_a_missing_seq_or_a_bad_number_is_still_an_error() -> None:
    with pytest.raises(ValidationError):
        Reservation.from_row({"pdno": "005930"})
    with pytest.raises(ValidationError):
        Reservation.from_row({"rsvn_ord_seq": "1", "ord_rsvn_qty": "ten"})
    with pytest.raises(ValidationError):
        Reservation.from_row({"rsvn_ord_seq": "1", "rsvn_ord_ord_dt": ["20260101"]})


def test_keys_are_remembered_within_a_bound() -> None:
    """Unread and odd-case keys are remembered by their exact spelling, but not without end."""
    from stock_manager.adapters.broker.kis.reservations import models

    odd = {"Rsvn_Ord_Seq": "7", "Ord_Rsvn_Qty": "3", "Some_Unknown": "x"}
    for _ in range(2):  # the second time from the remembered plans
        row = Reservation.from_row(odd)
        assert (row.seq, row.qty) == ("7", 3)
    assert models._ROW_PLAN["Rsvn_Ord_Seq"] == ("seq", None)
    assert models._ROW_PLAN["Some_Unknown"] is None
    invented = {f"junk_{i}": "1" for i in range(2 * models._ROW_PLAN_MAX)}
    assert Reservation.from_row({"rsvn_ord_seq": "8", **invented}).seq == "8"
    assert len(models._ROW_PLAN) <= models._ROW_PLAN_MAX
