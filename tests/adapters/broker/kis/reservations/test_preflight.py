"""Pre-flight: each check against the emulator; processing-day rejections caught before sending."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from stock_manager.adapters.broker.kis import KISRestClient
from stock_manager.adapters.broker.kis.reservations import OrderTerms, Reservations
from stock_manager.adapters.broker.kis.reservations.preflight import (
    Preflight,
    PreflightRefusedError,
    next_band,
    tick_size,
)
from stock_manager.calendar import KST
from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator

from .conftest import make_config

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=KST)  # Wednesday evening: order date Thursday


@pytest.fixture
def emu() -> Iterator[ServedEmulator]:
    config = EmulatorConfig.demo(seed=7, rate_limit_per_s=None, clock=lambda: NOW)
    with run_emulator(config) as e:
        yield e


@pytest.fixture
def admin(emu: ServedEmulator) -> Iterator[Any]:
    """POST to the emulator's admin API."""
    with httpx.Client(base_url=emu.base_url, timeout=5) as http:

        def post(path: str, **body: Any) -> Any:
            r = http.post(f"/_emulator/market/{path}", json=body)
            assert r.status_code == 200, r.text
            return r.json()

        yield post


@pytest.fixture
def resv(emu: ServedEmulator, tmp_path: Path) -> Iterator[Reservations]:
    with KISRestClient(make_config(emu, tmp_path)) as c:
        yield Reservations(c, clock=lambda: NOW)


def terms(**kw: Any) -> OrderTerms:
    values: dict[str, Any] = {"symbol": "005930", "qty": 1, "price": 71000, "side": "buy"}
    values.update(kw)
    return OrderTerms.build("test", **values)


def by_check(report: Any) -> dict[str, Any]:
    return {f.check: f for f in report.findings}


# --- offline tables ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (1_999, 1),
        (2_000, 5),
        (4_995, 5),
        (5_000, 10),
        (19_990, 10),
        (20_000, 50),
        (49_950, 50),
        (50_000, 100),
        (199_900, 100),
        (200_000, 500),
        (499_500, 500),
        (500_000, 1_000),
    ],
)
def test_tick_table_since_2023_01_25(price: int, tick: int) -> None:
    assert tick_size(price) == tick
    assert tick_size(price, etf=True) == 5


def test_band_is_thirty_percent_on_ticks() -> None:
    assert next_band(71_000) == (49_700, 92_300)
    assert next_band(10_000) == (7_000, 13_000)
    lower, upper = next_band(181_500)  # width 54,400 (tick 100); upper 235,900 -> 235,500
    assert upper == 235_500 and upper % tick_size(upper) == 0
    assert lower == 127_100 and lower % tick_size(lower) == 0


# --- each check against the emulator --------------------------------------------------------------
def test_tick_check(resv: Reservations, admin: Any) -> None:
    admin("quote", symbol="005930", price=71000)
    report = resv.preflight(terms(price=71050))
    tick = by_check(report)["tick"]
    assert not tick.ok and tick.severity == "warning"
    assert tick.numbers["tick"] == 100 and tick.numbers["aspr_unit"] == 100
    assert "71,000 / 71,100" in tick.message
    assert by_check(resv.preflight(terms(price=71100)))["tick"].ok


def test_etf_tick_from_aspr_unit(resv: Reservations, admin: Any) -> None:
    admin("quote", symbol="069500", price=35000, etf=True)
    ok = by_check(resv.preflight(terms(symbol="069500", price=35005)))["tick"]
    assert ok.ok and ok.numbers["tick"] == 5  # the stock table would say 50


def test_band_check(resv: Reservations, admin: Any) -> None:
    admin("quote", symbol="005930", price=71000)
    band = by_check(resv.preflight(terms(price=95000)))["band"]
    assert not band.ok
    assert (band.numbers["lower"], band.numbers["upper"]) == (49_700, 92_300)
    assert "49,700-92,300" in band.message
    assert by_check(resv.preflight(terms(price=92300)))["band"].ok


def test_sellable_check_counts_pending_sells(resv: Reservations, admin: Any) -> None:
    admin("quote", symbol="005930", price=71000)
    admin("holding", symbol="005930", qty=12)
    assert by_check(resv.preflight(terms(side="sell", qty=10)))["sellable"].ok
    resv.place_reservation("005930", 3, 71000, side="sell")
    sell = by_check(resv.preflight(terms(side="sell", qty=10)))["sellable"]
    assert not sell.ok
    assert sell.numbers == {"qty": 10, "sellable": 12, "pending_sell_qty": 3}
    assert "3 of them already reserved" in sell.message


def test_buying_power_counts_pending_buys(resv: Reservations, admin: Any) -> None:
    admin("quote", symbol="005930", price=71000)
    admin("cash", cash=1_000_000)
    assert by_check(resv.preflight(terms(qty=10)))["buying-power"].ok
    resv.place_reservation("000660", 2, 180000, side="buy")  # 360,000 won reserved
    buy = by_check(resv.preflight(terms(qty=10)))["buying-power"]
    assert not buy.ok
    assert buy.numbers["amount"] == 710_000 and buy.numbers["pending_buy_amount"] == 360_000
    assert buy.numbers["ord_psbl_cash"] == 1_000_000 and buy.numbers["max_buy_qty"] == 14


def test_market_buy_is_priced_at_the_upper_limit(resv: Reservations, admin: Any) -> None:
    admin("quote", symbol="005930", price=71000)
    admin("cash", cash=1_000_000)
    buy = by_check(resv.preflight(terms(qty=11, price=0, order_type="market")))["buying-power"]
    assert buy.numbers["unit_price"] == 92_300 and not buy.ok  # 11 x 92,300 > 1,000,000


def test_strict_refuses_with_the_numbers_and_sends_nothing(
    resv: Reservations, admin: Any, emu: ServedEmulator
) -> None:
    admin("quote", symbol="005930", price=71000)
    with pytest.raises(PreflightRefusedError, match="tick") as info:
        resv.place_reservation("005930", 1, 71050, strict=True)
    assert info.value.report.refused
    assert info.value.reached_server is False
    assert emu.requests.count(name="order-resv") == 0


def test_checks_share_the_client_rate_budget(resv: Reservations, admin: Any) -> None:
    admin("quote", symbol="005930", price=71000)
    admin("cash", cash=1_000_000)
    before = resv.client.limiter  # the same limiter object serves the checks and the orders
    Preflight(resv.client).check(terms())
    assert resv.client.limiter is before


# --- end to end: what the processing day rejects is caught before sending -------------------------
def test_processing_day_rejection_is_caught_before_sending(
    resv: Reservations, admin: Any, emu: ServedEmulator
) -> None:
    admin("quote", symbol="005930", price=71000)
    admin("cash", cash=500_000)
    admin("holding", symbol="005930", qty=5)
    # Without the check KIS accepts all three tonight ...
    off_tick = resv.place_reservation("005930", 1, 71050).seq
    too_big = resv.place_reservation("005930", 10, 71000).seq
    too_many = resv.place_reservation("005930", 6, 71000, side="sell").seq
    # ... and rejects them tomorrow morning, telling no one.
    results = {r["seq"]: r for r in emu.process_day()}
    rows = {r.seq: r for r in resv.list_reservations(include_cancelled=True)}
    for seq, word in (
        (off_tick, "호가단위"),
        (too_big, "주문가능금액"),
        (too_many, "주문가능수량"),
    ):
        assert results[seq]["outcome"] == "rejected"
        assert rows[seq].result == "거부" and word in rows[seq].reject_reason
    # With the pre-flight each is caught before anything is sent.
    before = emu.requests.count(name="order-resv")
    for qty, price, side, check in (
        (1, 71050, "buy", "tick"),
        (10, 71000, "buy", "buying-power"),
        (6, 71000, "sell", "sellable"),
    ):
        with pytest.raises(PreflightRefusedError, match=check):
            resv.place_reservation("005930", qty, price, side=side, strict=True)
    assert emu.requests.count(name="order-resv") == before


def test_warning_mode_places_and_reports(resv: Reservations, admin: Any) -> None:
    admin("quote", symbol="005930", price=71000)
    receipt = resv.place_reservation("005930", 1, 71050, check=True)
    assert receipt.seq
    assert any(w.startswith("tick:") for w in receipt.warnings)
    assert any(f.check == "tick" and not f.ok for f in receipt.findings)


def test_modify_check_excludes_the_reservation_itself(resv: Reservations, admin: Any) -> None:
    admin("quote", symbol="005930", price=71000)
    admin("holding", symbol="005930", qty=10)
    seq = resv.place_reservation("005930", 10, 71000, side="sell").seq
    result = resv.modify_reservation(seq, price=71100, strict=True)  # 10 of 10: still fine
    assert result.ok
    with pytest.raises(PreflightRefusedError, match="band"):
        resv.modify_reservation(seq, price=99000, strict=True)


def test_async_preflight_shares_the_decisions(
    emu: ServedEmulator, admin: Any, tmp_path: Path
) -> None:
    import asyncio

    from stock_manager.adapters.broker.kis import AsyncKISRestClient
    from stock_manager.adapters.broker.kis.reservations import AsyncReservations

    admin("quote", symbol="005930", price=71000)
    admin("cash", cash=100_000)

    async def go() -> tuple[Any, Any]:
        async with AsyncKISRestClient(make_config(emu, tmp_path)) as client:
            r = AsyncReservations(client, clock=lambda: NOW)
            report = await r.preflight(terms(qty=2))
            with pytest.raises(PreflightRefusedError, match="buying-power"):
                await r.place_reservation("005930", 2, 71000, strict=True)
            receipt = await r.place_reservation("005930", 1, 71000, check=True)
            with pytest.raises(PreflightRefusedError, match="band"):
                await r.modify_reservation(receipt.seq, price=99000, strict=True)
            return report, receipt

    report, receipt = asyncio.run(go())
    buy = by_check(report)["buying-power"]
    assert not buy.ok and buy.numbers["amount"] == 142_000
    assert receipt.seq and receipt.order_date is not None
    assert emu.requests.count(name="order-resv") == 1
