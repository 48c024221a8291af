"""Property tests of the request models: any input either becomes exactly the number the
caller wrote, or a :class:`KISValidationError` naming the field — never a traceback of another
kind, never a request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stock_manager.adapters.broker.kis import KISRestClient, KISValidationError
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter
from stock_manager.adapters.broker.kis.reservations import Reservations
from stock_manager.adapters.broker.kis.reservations.models import OrderChanges, OrderTerms
from stock_manager.emulator import EmulatorConfig, create_app
from stock_manager.emulator.krx_calendar import start_inside_window
from stock_manager.journal import OrderJournal

from ._matrix import Loop, SyncASGITransport, _config

TODAY = date(2026, 11, 24)
_PLAIN = re.compile(r"[0-9]+", re.ASCII)
_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+", re.ASCII)

# Text that looks like a number to someone: digits of several scripts, separators, signs.
number_text = st.text(alphabet="0123456789,_ .+-eE١٠１０\t", max_size=10)
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.just(Decimal("sNaN")),
    number_text,
    st.from_regex(r"[0-9]{1,3}(,[0-9]{3}){0,3}", fullmatch=True),
    st.dates(),
    st.lists(st.integers(), max_size=2),
)


def meant(value: Any) -> Decimal | None:
    """The number a user unambiguously wrote, or None when there is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip(" \t")
        if _PLAIN.fullmatch(text) or _GROUPED.fullmatch(text):
            return Decimal(text.replace(",", ""))
        return None
    return None


def _check(field: str, value: Any, build: Any) -> None:
    try:
        terms = build()
    except KISValidationError as exc:
        message = str(exc)
        terms = None
    if terms is None:
        assert field in message  # the error names the field
        return
    got = getattr(terms, field)
    if field == "qty":
        assert meant(value) == Decimal(got), f"{value!r} became {got!r}"
    elif isinstance(value, Decimal):
        assert value.is_finite() and value == got
    else:
        assert meant(value) == got, f"{value!r} became {got!r}"


@given(qty=anything)
def test_qty_is_what_was_written_or_refused(qty: Any) -> None:
    base = {"symbol": "005930", "price": 70000, "side": "buy", "today": TODAY}
    _check("qty", qty, lambda: OrderTerms.build("order", qty=qty, **base))
    _check("qty", qty, lambda: OrderChanges.build("modification", qty=qty, today=TODAY))


@given(price=anything)
def test_price_is_what_was_written_or_refused(price: Any) -> None:
    base = {"symbol": "005930", "qty": 1, "side": "buy", "today": TODAY}
    _check("price", price, lambda: OrderTerms.build("order", price=price, **base))
    _check("price", price, lambda: OrderChanges.build("modification", price=price, today=TODAY))


@given(
    symbol=st.one_of(st.text(max_size=8), st.integers(), st.none()),
    end=st.one_of(st.none(), st.integers(-40, 40), anything),
)
def test_symbol_and_end_date_never_escape_as_other_errors(symbol: Any, end: Any) -> None:
    end_date = TODAY + timedelta(days=end) if isinstance(end, int) and -40 <= end <= 40 else end
    try:
        terms = OrderTerms.build(
            "order", symbol=symbol, qty=1, price=1, side="buy", end_date=end_date, today=TODAY
        )
    except KISValidationError:
        return
    assert isinstance(symbol, str) and symbol.isascii()
    assert re.fullmatch(r"[0-9][0-9A-Z]{4}[0-9]", terms.symbol)
    assert terms.symbol in symbol.upper()


# --- through the API: an invalid order sends nothing -------------------------------------------
@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Reservations, Any]]:
    tmp = tmp_path_factory.mktemp("props")
    config = EmulatorConfig.demo(seed=9, rate_limit_per_s=None, start_at=start_inside_window())
    emu = create_app(config)
    loop = Loop()
    journal = OrderJournal(tmp / "journal.sqlite3")
    client = KISRestClient(
        _config(emu, tmp, "http://emulator.local", 1.0),
        transport=SyncASGITransport(emu.app, loop),
        limiter=RateLimiter(1e9, margin=0),
        journal=journal,
    )
    yield Reservations(client, window_policy="ignore"), emu
    client.close()
    journal.close()
    loop.close()
    emu.close()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(qty=anything, price=anything)
def test_invalid_order_sends_no_request(
    api: tuple[Reservations, Any], qty: Any, price: Any
) -> None:
    resv, emu = api
    before = emu.requests.count(name="order-resv")
    try:
        receipt = resv.place_reservation("005930", qty, price, side="buy")
    except KISValidationError:
        assert emu.requests.count(name="order-resv") == before
        return
    assert emu.requests.count(name="order-resv") == before + 1
    row = resv.get_reservation(receipt.seq)
    assert Decimal(row.qty) == meant(qty)
    assert row.price == (price if isinstance(price, Decimal) else meant(price))
