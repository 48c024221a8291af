"""Every validation rule fires before the network, and paper mode sends nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import (
    KISConfigError,
    KISRestClient,
    KISValidationError,
    PaperTradingNotSupportedError,
)
from stock_manager.adapters.broker.kis.reservations import Reservation, Reservations, check_window
from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.emulator.server import ServedEmulator

from .conftest import evening, make_config

TODAY = evening().date()

BAD_PLACE: list[tuple[dict[str, Any], str]] = [
    ({"symbol": "5930"}, "6-character KRX code"),
    ({"symbol": "00593O"}, "6-character KRX code"),
    ({"qty": 0}, "greater than 0"),
    ({"qty": -3}, "greater than 0"),
    ({"qty": "1.5"}, "whole number"),
    ({"price": 0}, "needs a price above 0"),
    ({"price": 70000.5}, "not float"),
    ({"price": "70000.5"}, "whole won"),
    ({"order_type": "03"}, "order type must be limit"),
    ({"order_type": "market", "price": 70000}, "price 0"),
    ({"order_type": "pre-market", "price": 1}, "price 0"),
    ({"side": "hold"}, "side must be buy or sell"),
    ({"end_date": TODAY}, "after today"),
    ({"end_date": TODAY - timedelta(days=1)}, "after today"),
    # 30 days count from the next business day; the default policy snaps, "refuse" refuses.
    ({"end_date": TODAY + timedelta(days=45), "end_date_policy": "refuse"}, "30 days"),
    ({"balance_type": "21"}, "cash"),
]


@pytest.mark.parametrize(("change", "message"), BAD_PLACE)
def test_bad_place_is_refused_before_the_network(
    resv: Reservations, count: Callable[..., int], change: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"symbol": "005930", "qty": 1, "price": 70000, "side": "buy"}
    args.update(change)
    with pytest.raises(KISValidationError, match=message):
        resv.place_reservation(**args)
    assert count() == 0


def test_valid_edge_values_are_accepted(resv: Reservations) -> None:
    # The latest end date: 30 days out, moved back to an open day (KIS refuses closed days).
    from stock_manager.emulator.krx_calendar import KrxCalendar

    end = TODAY + timedelta(days=30)
    while not KrxCalendar().is_open(end):
        end -= timedelta(days=1)
    resv.place_reservation("005930", 1, 70000, end_date=end)
    resv.place_reservation("0009K0", 1, "1,000", side="sell")  # alphanumeric KRX code
    resv.place_reservation("A005930", 1, 70000)  # HTS-style "A" prefix stripped


def test_bad_seq_and_dates(resv: Reservations, count: Callable[..., int]) -> None:
    with pytest.raises(KISValidationError, match="1-10 digits"):
        resv.cancel_reservation("12a")
    with pytest.raises(KISValidationError, match="after end"):
        list(resv.list_reservations(date(2026, 2, 1), date(2026, 1, 1)))
    seq = resv.place_reservation("005930", 1, 70000).seq
    with pytest.raises(KISValidationError, match="nothing to modify"):
        resv.modify_reservation(seq)
    assert count("order-resv-rvsecncl") == 0


def test_modify_of_loan_reservation_needs_balance_type(resv: Reservations) -> None:
    row = Reservation(seq="1", symbol="005930", qty=1, price=1, loan_date=date(2026, 1, 2))
    with pytest.raises(KISValidationError, match="balance_type"):
        resv._rules.plan_modify(row, {"price": 2})


@pytest.mark.parametrize(
    ("hhmm", "ok"),
    [
        ("15:39", False),
        ("15:40", True),
        ("23:39", True),
        ("23:40", False),
        ("00:05", False),
        ("00:10", True),
        ("07:29", True),
        ("07:30", False),
        ("12:00", False),
    ],
)
def test_reservation_window(hhmm: str, ok: bool) -> None:
    h, m = map(int, hhmm.split(":"))
    now = datetime(2026, 11, 25, h, m, tzinfo=KST)
    assert (check_window(now) is None) is ok


def test_window_policies(client: KISRestClient, count: Callable[..., int]) -> None:
    # Noon of a fixed open day (a Wednesday): outside the window whatever today is. (Today's
    # noon was a weekend's or an unknown day's under a shifted clock: inside, or "cannot tell".)
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=KST)
    with pytest.raises(KISValidationError, match="15:40 to 07:30"):
        Reservations(client, window_policy="refuse", clock=lambda: noon).place_reservation(
            "005930", 1, 70000
        )
    assert count() == 0
    receipt = Reservations(client, window_policy="warn", clock=lambda: noon).place_reservation(
        "005930", 1, 70000
    )
    assert receipt.warnings and "15:40" in receipt.warnings[0]
    quiet = Reservations(client, window_policy="ignore", clock=lambda: noon)
    assert quiet.place_reservation("005930", 1, 70000).warnings == ()


def test_missing_account_is_a_config_error(emu: ServedEmulator, tmp_path: Path) -> None:
    cfg = make_config(emu, tmp_path, kis_account_no=None)
    with KISRestClient(cfg) as c, pytest.raises(KISConfigError, match="KIS_ACCOUNT_NO"):
        Reservations(c, clock=evening).place_reservation("005930", 1, 70000)
    assert emu.requests.filter() == []


def test_paper_mode_refuses_everything_with_zero_requests(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    cfg = make_config(emu, tmp_path, mode="paper")
    with KISRestClient(cfg) as c:
        r = Reservations(c, clock=evening)
        calls: list[Callable[[], object]] = [
            lambda: r.place_reservation("005930", 1, 70000),
            lambda: list(r.list_reservations()),
            lambda: r.get_reservation("1"),
            lambda: r.cancel_reservation("1"),
            lambda: r.modify_reservation("1", price=1),
            lambda: r.cancel_reservations(symbol="005930"),
            lambda: r.describe_cancel("1"),
        ]
        for call in calls:
            with pytest.raises(PaperTradingNotSupportedError, match="emulator"):
                call()
    assert emu.requests.filter() == []  # not even a token request


def test_describe_sends_nothing(resv: Reservations, client: KISRestClient) -> None:
    shown = resv.describe_place("005930", 3, 70000, "sell")
    assert shown["method"] == "POST" and shown["tr_id"] == "CTSC0008U"
    assert shown["body"]["ORD_QTY"] == "3" and shown["body"]["SLL_BUY_DVSN_CD"] == "01"
    assert client.config.cano not in str(shown)
    assert client.config.kis_app_secret.get_secret_value() not in str(shown)
    assert resv.describe_cancel("12")["tr_id"] == "CTSC0009U"
    assert resv.describe_modify("12", price=1000)["body"]["ORD_UNPR"] == "1000"
    assert client.send_count == 0 and client.tokens.issued_count == 0


def test_row_parsing_is_tolerant() -> None:
    row = Reservation.from_row(
        {
            "RSVN_ORD_SEQ": "42401",
            "rsvn_ord_ord_dt": "20220523",
            "PDNO": "005940",
            "ord_rsvn_qty": "1",
            "ORD_RSVN_UNPR": "6,000",
            "tot_ccld_qty": "",
            "cncl_ord_dt": "",
            "rsvn_end_dt": "        ",
            "sll_buy_dvsn_cd": "02",
            "unknown_future_field": "x",
        }
    )
    assert row.seq == "42401" and row.order_date == date(2022, 5, 23)
    assert row.price == 6000 and row.filled_qty == 0 and row.end_date is None
    assert row.status == "waiting"


# --- finding 4: inputs no user meant are refused, before any request ----------------------------
NOT_MEANT: list[tuple[dict[str, Any], str]] = [
    ({"qty": True}, "qty"),  # bool is an int in Python: it booked 1 share
    ({"qty": False}, "qty"),
    ({"qty": "1,0"}, "qty"),  # read as 10
    ({"qty": "1_0"}, "qty"),  # int("1_0") == 10
    ({"qty": "１０"}, "qty"),  # full-width digits
    ({"qty": "١٠"}, "qty"),  # Arabic-Indic digits
    ({"qty": Decimal(10)}, "qty"),
    ({"qty": 10.0}, "qty"),
    ({"price": True}, "price"),
    ({"price": "7_0000"}, "price"),
    ({"price": "７００００"}, "price"),
    ({"price": "70,00"}, "price"),
    ({"price": Decimal("Infinity")}, "price"),  # escaped as a raw OverflowError
    ({"price": Decimal("sNaN")}, "price"),  # escaped as a raw InvalidOperation
    ({"price": Decimal("NaN")}, "price"),
    ({"price": Decimal("-Infinity")}, "price"),
    ({"symbol": "00ﬀ00"}, "symbol"),  # "ﬀ".upper() == "FF"
    ({"end_date": 1767225600}, "end_date"),  # pydantic would read a Unix timestamp
]


@pytest.mark.parametrize(("change", "field"), NOT_MEANT)
def test_inputs_no_user_meant_are_refused_naming_the_field(
    resv: Reservations, count: Callable[..., int], change: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"symbol": "005930", "qty": 1, "price": 70000, "side": "buy"}
    args.update(change)
    with pytest.raises(KISValidationError, match=field):
        resv.place_reservation(**args)
    assert count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"qty": True},
        {"qty": "1_0"},
        {"price": Decimal("Infinity")},
        {"price": Decimal("sNaN")},
        {"price": 70000.5},
        {},
        {"end_date": TODAY},
    ],
)
def test_modify_validates_its_changes_before_listing(
    resv: Reservations, count: Callable[..., int], change: dict[str, Any]
) -> None:
    # Before: the list GET went out first (186 GETs for modifies that were then refused).
    with pytest.raises(KISValidationError):
        resv.modify_reservation("39607", **change)
    assert count() == 0
    with pytest.raises(KISValidationError):
        resv.describe_modify("39607", **change)
    assert count() == 0


def test_plain_and_grouped_ascii_digits_are_accepted(resv: Reservations) -> None:
    seq = resv.place_reservation("005930", " 12 ", "70,000").seq
    row = resv.get_reservation(seq)
    assert (row.qty, row.price) == (12, Decimal(70000))
    resv.modify_reservation(seq, qty="1,200", price=Decimal("71000.00"))
    row = resv.get_reservation(seq)
    assert (row.qty, row.price) == (1200, Decimal(71000))
