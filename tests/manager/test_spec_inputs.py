"""The standing file accepts and refuses what the library does, with its words, at each key.

Issue #18 finding 6: ``price = "7_0000"``, full-width digits and ``"70000.0"`` were booked as
70,000, ``"1,0"`` printed ``[<class 'decimal.ConversionSyntax'>]`` at the header's line,
``qty = "10"`` was refused, and an entry reported only its first problem.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import KISRestClient, KISValidationError
from stock_manager.adapters.broker.kis.reservations import Reservations
from stock_manager.emulator import ServedEmulator
from stock_manager.manager import SpecError, parse_spec

from .week import ORDER_ENDPOINTS

HEAD = '[[reservation]]\nid = "a"\nsymbol = "005930"\nside = "buy"\n'  # lines 1-4


def toml_value(value: Any) -> str:
    """``value`` as a TOML literal that tomllib reads back as the same Python value."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        text = text if not math.isfinite(value) else repr(value)
    elif isinstance(value, int):
        text = str(value)
    else:
        assert isinstance(value, str)
        text = json.dumps(value)  # a JSON string is a TOML basic string (\\uXXXX escapes)
    back = tomllib.loads(f"v = {text}")["v"]
    assert type(back) is type(value)
    assert back == value or (isinstance(value, float) and math.isnan(value))
    return text


def entry(qty: Any = 1, price: Any = 70000, **more: Any) -> str:
    """One entry: qty on line 5, price on line 6, then ``more`` from line 7."""
    lines = [f"qty = {toml_value(qty)}", f"price = {toml_value(price)}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in more.items()]
    return HEAD + "\n".join(lines) + "\n"


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, path="s.toml")
    return info.value.problems


DIGITS = "a price must be written with the digits 0-9 only (e.g. 1000 or 1,000)"


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("7_0000", DIGITS),  # was booked as 70,000 (Decimal("7_0000"))
        ("７００００", DIGITS),  # full-width: was booked as 70,000
        ("١٠٠٠", DIGITS),  # Arabic-Indic digits
        ("1,0", DIGITS),  # was "[<class 'decimal.ConversionSyntax'>]" at the header's line
        ("70,00", DIGITS),  # wrong thousands grouping
        ("70000.0", "KRW prices are whole won"),  # was booked as 70,000
        ("NaN", DIGITS),
        ("Infinity", DIGITS),
        ("", DIGITS),  # was read as "no price"
        (70000.0, "give prices as int, str or Decimal, not float"),  # a TOML float
        (math.nan, "give prices as int, str or Decimal, not float"),
        (math.inf, "give prices as int, str or Decimal, not float"),
        (True, "must be an int, Decimal or string of digits, not bool"),
        (-5, "Input should be greater than or equal to 0"),
        ("-5", DIGITS),
    ],
)
def test_bad_prices_are_refused_at_the_price_line(price: Any, message: str) -> None:
    assert problems(entry(price=price)) == [f"s.toml:6:1: reservation 'a': price: {message}"]


QTY_DIGITS = "a quantity must be written with the digits 0-9 only (e.g. 1000 or 1,000)"


@pytest.mark.parametrize(
    ("qty", "message"),
    [
        ("1_0", QTY_DIGITS),
        ("１０", QTY_DIGITS),
        ("1,0", QTY_DIGITS),
        ("10.0", "must be a whole number of shares"),
        (10.0, "must be an int or a string of digits, not float"),
        (True, "must be an int or a string of digits, not bool"),
        (False, "must be an int or a string of digits, not bool"),
        (-1, "Input should be greater than 0"),
        (0, "Input should be greater than 0"),
        (math.nan, "must be an int or a string of digits, not float"),
    ],
)
def test_bad_quantities_are_refused_at_the_qty_line(qty: Any, message: str) -> None:
    assert problems(entry(qty=qty)) == [f"s.toml:5:1: reservation 'a': qty: {message}"]


@pytest.mark.parametrize(
    ("qty", "price", "expected"),
    [
        ("10", 70000, (10, Decimal(70000))),  # README documents digit strings for qty
        (" 10 ", "70,000", (10, Decimal(70000))),
        ("1,000", "70000", (1000, Decimal(70000))),
        (10, "1,070,000", (10, Decimal(1070000))),
    ],
)
def test_digit_strings_are_accepted_as_the_library_accepts_them(
    qty: Any, price: Any, expected: tuple[int, Decimal]
) -> None:
    (decl,) = parse_spec(entry(qty=qty, price=price)).declarations
    assert (decl.qty, decl.price) == expected


def test_three_bad_fields_give_three_messages_each_at_its_key() -> None:
    text = (
        "[[reservation]]\n"  # 1
        'id = "a"\n'  # 2
        'symbol = "00593"\n'  # 3
        'side = "buy"\n'  # 4
        'qty = "1_0"\n'  # 5
        '    price = "1,0"\n'  # 6 (indented: column 5)
        "days = 0\n"  # 7
        "\n"
        "[[reservation]]\n"  # 9
        'id = "b"\n'  # 10
        'symbol = "000660"\n'  # 11
        'side = "sell"\n'  # 12
        "qty = true\n"  # 13
        'order_type = "market"\n'  # 14
        "price = 70000\n"  # 15: a market order has no price, but qty is already wrong
        'until = "soon"\n'  # 16
        "renew = 1\n"  # 17
        "\n"
        "[[reservation]]\n"  # 19
        'id = "c"\n'  # 20
        'symbol = "000660"\n'  # 21
        'side = "sell"\n'  # 22
        "qty = 1\n"  # 23
        'order_type = "market"\n'  # 24
        "price = 70000\n"  # 25: a rule across fields, blamed on the price
    )
    assert problems(text) == [
        "s.toml:3:1: reservation 'a': symbol: must be a 6-character KRX code like 005930",
        f"s.toml:5:1: reservation 'a': qty: {QTY_DIGITS}",
        f"s.toml:6:5: reservation 'a': price: {DIGITS}",
        "s.toml:7:1: reservation 'a': days must be a whole number of open days from 1 to 30, not 0",
        "s.toml:13:1: reservation 'b': qty: must be an int or a string of digits, not bool",
        "s.toml:16:1: reservation 'b': until: must be a date written YYYY-MM-DD or YYYYMMDD",
        "s.toml:17:1: reservation 'b': renew must be true or false",
        "s.toml:25:1: reservation 'c': a market order is sent with price 0 (KIS rule);"
        " omit the price",
    ]


def test_lines_are_found_past_multi_line_strings_and_arrays() -> None:
    # A scan that took these continuation lines for keys or headers would point elsewhere.
    text = (
        'name = "book"\n'  # 1
        'comment = """\n'  # 2: an unknown top-level key, its value spans lines
        "qty = 5\n"  # 3 (inside the string)
        "[[reservation]]\n"  # 4 (inside the string)
        '"""\n'  # 5
        "[[reservation]]  # the first\n"  # 6
        'id = "a"\n'  # 7
        "tags = [\n"  # 8: unknown key, a multi-line array
        "  [1, 2],\n"  # 9 (looks like a table header)
        '  "]",\n'  # 10
        "]\n"  # 11
        'symbol = "005930"\n'  # 12
        "side = 'buy'\n"  # 13
        "'qty' = '1_0'\n"  # 14: a quoted key
        "price = 70000\n"  # 15
    )
    assert problems(text) == [
        "s.toml:2:1: unknown top-level key 'comment'",
        "s.toml:8:1: reservation 'a': unknown key 'tags' (allowed: balance_type, days, id,"
        " order_type, price, qty, renew, side, symbol, until)",
        f"s.toml:14:1: reservation 'a': qty: {QTY_DIGITS}",
    ]


def test_a_missing_field_points_at_the_entry_header() -> None:
    text = '\n\n  [[reservation]]\nid = "a"\nsymbol = "005930"\nqty = 1\nprice = 1\n'
    assert problems(text) == ["s.toml:3:3: reservation 'a': side: Field required"]


# --- parity: one validator, the same answer from the library and from the file ---------------
# (field, value) pairs; every other term is a valid limit buy of 1 x 005930 at 70,000.
PARITY: list[tuple[str, Any]] = [
    *[("qty", v) for v in (1, 10, "10", " 10 ", "1,000", "1_0", "１０", "1,0", "10.0", "")],
    *[("qty", v) for v in (10.0, True, False, 0, -1, 10**10, math.nan, "abc")],
    *[("price", v) for v in (70000, "70000", "70,000", " 70000 ", "1,070,000", "7_0000")],
    *[("price", v) for v in ("７００００", "1,0", "70,00", "70000.0", "70000.5", "", "NaN")],
    *[("price", v) for v in ("Infinity", "-5", 70000.0, 70000.5, math.inf, math.nan, True)],
    *[("price", v) for v in (0, -5, 10**18)],
    *[("symbol", v) for v in ("005930", "A005930", "0009K0", "5930", "00ﬀ00", 5930, "")],
    *[("side", v) for v in ("buy", "sell", "02", "매수", "hold", 2, True)],
    *[("order_type", v) for v in ("limit", "00", "conditional", "03", "market", 1)],
    *[("balance_type", v) for v in ("10", "cash", "12", "99", 10)],
    *[("days", v) for v in (1, 5, "5", "1_0", "５", 0, -1, True, 1.5, "")],
]

#: What both accept (the test checks it, so that "both refuse everything" cannot pass).
ACCEPTED = {
    *("qty=1", "qty=10", "qty='10'", "qty=' 10 '", "qty='1,000'"),
    *("price=70000", "price='70000'", "price='70,000'", "price=' 70000 '", "price='1,070,000'"),
    *("symbol='005930'", "symbol='A005930'", "symbol='0009K0'"),
    *("side='buy'", "side='sell'", "side='02'", "side='매수'"),
    *("order_type='limit'", "order_type='00'", "order_type='conditional'", "order_type='market'"),
    *("balance_type='10'", "balance_type='cash'", "days=1", "days=5", "days='5'"),
}


@pytest.fixture
def library(emu: ServedEmulator, client: KISRestClient) -> Reservations:
    return Reservations(client, clock=emu.clock.now)


@pytest.fixture
def order_requests(emu: ServedEmulator) -> Callable[[], int]:
    return lambda: sum(emu.requests.count(name=n) for n in ORDER_ENDPOINTS)


@pytest.mark.parametrize(("field", "value"), PARITY, ids=[f"{f}={v!r}" for f, v in PARITY])
def test_the_file_and_the_library_give_the_same_answer(
    library: Reservations, order_requests: Callable[[], int], field: str, value: Any
) -> None:
    terms: dict[str, Any] = {"symbol": "005930", "side": "buy", "qty": 1, "price": 70000}
    terms[field] = value
    if field == "order_type" and value not in ("limit", "00", "conditional"):
        terms["price"] = 0  # market / pre-market / unknown types: price 0, so only it decides
    # The library: what place_reservation would send, validated locally (sends nothing).
    try:
        library.describe_place(**terms)
        library_error = ""
    except KISValidationError as exc:
        library_error = str(exc)
    # The file: the same values, written as TOML.
    text = '[[reservation]]\nid = "p"\n' + "".join(
        f"{k} = {toml_value(v)}\n" for k, v in terms.items()
    )
    try:
        parse_spec(text)
        file_problems: list[str] = []
    except SpecError as exc:
        file_problems = exc.problems
    assert bool(library_error) == bool(file_problems), (library_error, file_problems)
    accepted = not file_problems
    assert accepted == (f"{field}={value!r}" in ACCEPTED), file_problems
    for p in file_problems:  # the library's words: "invalid reservation order: qty: ..."
        said = p.split(": ", 2)[2]
        assert said in library_error, (said, library_error)
    assert order_requests() == 0
