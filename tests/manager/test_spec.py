"""The declaration file: validated as a whole, line-numbered; end dates on open days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from stock_manager.manager import SpecError, WeekendCalendar, desired_end, parse_spec
from stock_manager.manager.spec import Declaration

from .conftest import at

GOOD = """
name = "book"

[[reservation]]
id = "samsung-dip"
symbol = "005930"
side = "buy"
qty = 10
price = 69000
until = 2026-12-31
renew = true

[[reservation]]
id = "mkt"
symbol = "000660"
side = "sell"
qty = 1
order_type = "market"
days = 3
"""


def test_good_file() -> None:
    spec = parse_spec(GOOD)
    assert spec.name == "book"
    dip, mkt = spec.declarations
    assert (dip.id, dip.qty, dip.price, dip.until, dip.renew) == (
        "samsung-dip",
        10,
        Decimal(69000),
        date(2026, 12, 31),
        True,
    )
    assert (mkt.order_type.value, mkt.price, mkt.days, dip.line, mkt.line) == (
        "01",
        Decimal(0),
        3,
        4,
        13,
    )
    assert dip.spec_hash != parse_spec(GOOD.replace("69000", "68000")).declarations[0].spec_hash


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[[reservation]]\nid = 'a'\nsymbol = '005930'\nside = 'buy'\nqty = 1\nprice = 1.5\n",
            "<spec>:6:1: reservation 'a': price: give prices as int, str or Decimal, not float",
        ),
        (
            "[[reservation]]\nid = 'a'\nsymbol = '005930'\nside = 'buy'\nqty = 1\nprice = 1\n"
            "days = 31\n",
            "<spec>:7:1: reservation 'a':"
            " days must be a whole number of open days from 1 to 30, not 31",
        ),
        (
            "[[reservation]]\nid = 'a'\nsymbol = '005930'\nside = 'buy'\nqty = 1\nprice = 1\n"
            "until = 'soon'\n",
            "<spec>:7:1: reservation 'a': until: must be a date written YYYY-MM-DD or YYYYMMDD",
        ),
        (
            "[[reservation]]\nid = 'a'\nsymbol = '005930'\nside = 'buy'\nqty = 0\nprice = 1\n",
            "<spec>:5:1: reservation 'a': qty: Input should be greater than 0",
        ),
        (
            "[[reservation]]\nid = 'a'\nsymbol = '005930'\nside = 'buy'\nqty = 1\n",
            "<spec>:1:1: reservation 'a': a limit order needs a price above 0",
        ),
        ("[[reservation]]\nid = 'a b'\n", "<spec>:2:1: reservation 'a b': id is required"),
        (
            "[[reservation]]\nid = 'a'\nsymbol = '005930'\n",
            "<spec>:1:1: reservation 'a': side: Field required",
        ),
        ("colour = 1\n", "<spec>:1:1: unknown top-level key 'colour'"),
        ("[[reservation]\n", "not valid TOML"),
    ],
)
def test_bad_files(text: str, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert any(p.startswith(expected) or expected in p for p in info.value.problems), (
        info.value.problems
    )


def test_every_problem_is_reported_at_once() -> None:
    text = (
        "[[reservation]]\nid = 'a'\nsymbol = 'x'\nside = 'buy'\nqty = 1\nprice = 1\n"
        "[[reservation]]\nid = 'b'\nsymbol = '005930'\nside = 'up'\nqty = 1\nprice = 1\n"
    )
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert [(d.line, d.entry) for d in info.value.details] == [
        (3, "reservation 'a'"),
        (10, "reservation 'b'"),
    ]


def _decl(**kw: object) -> Declaration:
    base = parse_spec(GOOD).declarations[0]
    values = {**base.__dict__, **kw}
    return Declaration(**values)


def test_end_dates_land_on_open_days() -> None:
    cal = WeekendCalendar(closed=[date(2026, 12, 25)])
    evening = at(7, 16)  # Monday evening: orders go out Tuesday the 8th
    assert desired_end(_decl(until=None, days=None), cal, evening) is None  # one-day
    assert desired_end(_decl(until=None, days=1), cal, evening) is None
    assert desired_end(_decl(until=None, days=5), cal, evening) == date(2026, 12, 14)
    # until on a Sunday snaps back to Friday; on the Christmas closure back to the 24th
    assert desired_end(_decl(until=date(2026, 12, 13), days=None), cal, evening) == date(
        2026, 12, 11
    )
    assert desired_end(_decl(until=date(2026, 12, 25), days=None), cal, evening) == date(
        2026, 12, 24
    )
    # far away: capped at 30 days from today, snapped to an open day (Jan 6 2027 is open)
    assert desired_end(_decl(until=date(2027, 3, 1), days=None), cal, evening) == date(2027, 1, 6)
    # until before the order day: one-day
    assert desired_end(_decl(until=date(2026, 12, 8), days=None), cal, evening) is None
