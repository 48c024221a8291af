"""The reservation listing's text, without rich: columns, cell formatting, the box table.

``stock-manager resv list`` is the command run most often, so its output path imports
nothing heavy: the cells are formatted here, a short listing on a plain terminal or pipe is
drawn by :mod:`._table` (byte for byte what rich prints), and rich (:mod:`._render`, which
reads the columns from here) is imported only when it must draw. Who draws is decided by
:func:`._fast.print_reservations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import _table

__all__ = [
    "COLUMNS",
    "EMPTY_CAPTION",
    "RICH_TABLE_MAX_ROWS",
    "STATUS_STYLE",
    "box_table",
    "fmt",
    "order_type_label",
    "reservation_cells",
]

#: Listings up to this many rows get the table; longer ones the light, streamed layout.
#: rich lays a table out cell by cell (~0.6 ms a row) and only once every row is in memory.
RICH_TABLE_MAX_ROWS = 200

# (header, justify) of the reservation listing, shared by every layout.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("seq", "right"),
    ("order date", "left"),
    ("symbol", "left"),
    ("name", "left"),
    ("side", "left"),
    ("type", "left"),
    ("qty", "right"),
    ("price", "right"),
    ("filled", "right"),
    ("end date", "left"),
    ("status", "left"),
)
#: Shown under an empty listing.
EMPTY_CAPTION = "no reservations match"
#: Style of the status cell (rich style names).
STATUS_STYLE = {
    "waiting": "yellow",
    "active": "yellow",
    "sent": "green",
    "filled": "green",
    "rejected": "red",
    "cancelled": "dim",
}


#: The one time zone of human output (KIS's, the reservation window's); headers say "KST".
KST = timezone(timedelta(hours=9), "KST")


def fmt(value: Any) -> str:
    """Human text of one field: thousands separators, ISO dates, enum names, '-' for empty.

    A moment is shown in KST (the zone of everything else on screen), not the machine's zone.
    """
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal | int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    name = getattr(value, "name", None)
    if name is not None and hasattr(value, "value"):  # Side.BUY -> "buy"
        return str(name).lower()
    return str(value)


def order_type_label(resv: Any) -> str:
    """``limit (00)``: the English label of the code (KIS's 주문구분명 names the cash side)."""
    from stock_manager.adapters.broker.kis.reservations import OrderType

    code = str(getattr(resv, "order_type", "") or "")
    try:
        return f"{OrderType(code).label} ({code})"
    except ValueError:
        return code or "-"


def reservation_cells(r: Any) -> list[str]:
    """The texts of one listing row, in :data:`COLUMNS` order (plain text, no markup)."""
    return [
        fmt(getattr(r, "seq", None)),
        fmt(getattr(r, "order_date", None)),
        fmt(getattr(r, "symbol", None)),
        fmt(getattr(r, "name", None)),
        fmt(getattr(r, "side", None)),
        order_type_label(r),
        fmt(getattr(r, "qty", None)),
        fmt(getattr(r, "price", None)),
        fmt(getattr(r, "filled_qty", None)),
        fmt(getattr(r, "end_date", None)),
        str(getattr(r, "status", "") or "-"),
    ]


def box_table(rows: Sequence[Any], term: _table.Terminal, title: str) -> str | None:
    """rich's table of ``rows`` as :mod:`._table` draws it for ``term``, or ``None``."""
    from . import _table

    cells = [reservation_cells(r) for r in rows]
    return _table.render(
        COLUMNS,
        cells,
        [STATUS_STYLE.get(c[-1], "") for c in cells],
        term,
        title=title,
        caption=None if rows else EMPTY_CAPTION,
    )
