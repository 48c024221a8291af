"""What ``watch`` shows on a terminal: the book folded from events, the live table, the summary."""

from __future__ import annotations

import io

from rich.console import Console

from stock_manager.cli._runtime import State
from stock_manager.cli.watch import _View
from stock_manager.notices import ExecutionEvent
from stock_manager.notices.events import Connected, Role
from stock_manager.notices.watch import WatchBook, krx_symbol


def ev(kind: str, qty: int, price: int, source: str = "ws") -> ExecutionEvent:
    return ExecutionEvent(
        kind=kind,  # type: ignore[arg-type]
        order_no="0000117057",
        original_order_no="",
        symbol="005930",
        side="buy",
        qty=qty,
        price=price,
        order_qty=10,
        time="090001",
        source=source,  # type: ignore[arg-type]
        account="12******01",
        name="삼성전자",
    )


def test_terminal_view_shows_orders_and_the_summary() -> None:
    book = WatchBook()
    buf = io.StringIO()
    st = State()
    st._out = Console(file=buf, width=120, force_terminal=True, no_color=True)
    st._err = Console(file=buf, width=120, no_color=True)
    view = _View(st, book, lines=False)
    with view:
        for e in (
            Role("follower", "file"),
            Role("holder", "file"),
            Connected("ws://x", 1),
            ev("accepted", 10, 70000),
            ev("filled", 4, 69900),
            ev("filled", 6, 70000, "rest"),
        ):
            book.add(e)
            view.show(e)
    view.summary()
    text = buf.getvalue()
    assert "filled: buy 4 x 005930 삼성전자 @ 69,900" in text
    assert "from REST" in text  # the REST fill says so
    assert "this process holds the WebSocket session" in text
    row = book.orders["0000117057"]
    assert (row.filled, row.avg_price, row.state) == (10, 69960, "filled")
    s = book.summary()
    assert (s["fills"], s["filled_qty"], s["rest_fills"], s["takeovers"]) == (2, 10, 1, 1)
    assert "summary: 1 orders, accepted 1, filled 2" in text


def test_symbol_filter_and_validation() -> None:
    assert krx_symbol(" a005930 ") == "005930"
    assert krx_symbol("0009k0") == "0009K0"
    for bad in ("5930", "00593O0", "ＡＢ", ""):
        try:
            krx_symbol(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    book = WatchBook(symbols=frozenset({"000660"}))
    assert not book.wants(ev("filled", 1, 1)) and book.wants(Connected("ws://x", 1))
