"""Rich renderings of what the library returns: reservations, requests, journal, results.

The reservation listing (``resv list``) is a rich table up to :data:`RICH_TABLE_MAX_ROWS`
rows, and a light layout streamed as the rows arrive past that (:func:`print_reservations`).

Only presentation lives here. Objects are read through attributes of the reservation API's
models (``Reservation``, ``ChangeResult``, ``BulkCancelResult``, ``ReconcileResult``) and the
journal's ``JournalEntry``; ``getattr`` with defaults keeps the tables readable should a field
be missing.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

__all__ = [
    "COLUMNS",
    "EMPTY_CAPTION",
    "RICH_TABLE_MAX_ROWS",
    "STATUS_STYLE",
    "bulk_table",
    "change_table",
    "fmt",
    "journal_table",
    "print_reservations",
    "reconcile_table",
    "request_panel",
    "reservation_cells",
    "reservation_detail",
    "reservations_table",
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


_OUTCOME_STYLE = {
    "ok": "green",
    "rejected": "red",
    "not_sent": "dim",
    "unknown": "bold magenta",
    "pending": "yellow",
    "reconciled_applied": "green",
    "reconciled_not_applied": "cyan",
}
# (attribute, header) of the reservation columns that the before/after view compares.
_TERMS: tuple[tuple[str, str], ...] = (
    ("seq", "seq"),
    ("symbol", "symbol"),
    ("side", "side"),
    ("order_type", "type"),
    ("qty", "qty"),
    ("price", "price"),
    ("end_date", "end date"),
    ("status", "status"),
)


def _field(resv: Any, attr: str) -> str:
    if attr == "order_type":
        return order_type_label(resv)
    return fmt(getattr(resv, attr, None))


def _status(resv: Any) -> Text:
    status = str(getattr(resv, "status", "") or "-")
    return Text(status, style=STATUS_STYLE.get(status, ""))


def reservations_table(reservations: Sequence[Any], title: str = "Reservations") -> Table:
    """One row per reservation."""
    table = Table(title=title, title_justify="left")
    for header, justify in COLUMNS:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for r in reservations:
        *cells, status = reservation_cells(r)
        table.add_row(*map(escape, cells), Text(status, style=STATUS_STYLE.get(status, "")))
    if not reservations:
        table.caption = EMPTY_CAPTION
    return table


#: The name column of the light layout is cut to this many terminal cells (names are Korean,
#: two cells a character, and a few ETF names are long).
LIGHT_NAME_CELLS = 20
# ANSI: yellow (can still act) / green / red / dim, as STATUS_STYLE.
_LIGHT_STYLE = {
    "waiting": "33",
    "active": "33",
    "sent": "32",
    "filled": "32",
    "rejected": "31",
    "cancelled": "2",
}


def print_reservations(
    reservations: Iterable[Any], console: Console, title: str = "Reservations"
) -> int:
    """Print a listing as it arrives; return the number of rows.

    Up to :data:`RICH_TABLE_MAX_ROWS` rows it is the usual rich table. Past that the rows are
    written as they come, in plain aligned columns (same columns, widths taken from the first
    rows, long names cut): a 10,000-row listing then prints in about the time of its
    ``--json``, keeps only a screenful in memory, and ``| less`` shows the first rows at once.
    """
    rows = iter(reservations)
    head = list(itertools.islice(rows, RICH_TABLE_MAX_ROWS + 1))
    if len(head) <= RICH_TABLE_MAX_ROWS:
        console.print(reservations_table(head, title))
        return len(head)
    cells = [_light_cells(r) for r in head]
    widths = [
        max(cell_len(h), *(cell_len(c[i]) for c in cells)) for i, (h, _) in enumerate(COLUMNS)
    ]
    colour = console.color_system is not None and not console.no_color
    write = console.file.write
    write(f"{title} (long listing: plain layout, printed as it arrives)\n")
    write(_light_line([h for h, _ in COLUMNS], widths, colour=False) + "\n")
    write("  ".join("-" * w for w in widths) + "\n")
    count = 0
    for row_cells in itertools.chain(cells, map(_light_cells, rows)):
        write(_light_line(row_cells, widths, colour=colour) + "\n")
        count += 1
    write(f"{count:,} reservations\n")
    console.file.flush()
    return count


def _light_cells(r: Any) -> list[str]:
    cells = reservation_cells(r)
    if cell_len(cells[3]) > LIGHT_NAME_CELLS:
        cells[3] = set_cell_size(cells[3], LIGHT_NAME_CELLS - 1) + "…"
    return cells


def _light_line(cells: Sequence[str], widths: Sequence[int], *, colour: bool) -> str:
    out = []
    for text, width, (_, justify) in zip(cells, widths, COLUMNS, strict=True):
        pad = " " * max(0, width - cell_len(text))
        out.append(pad + text if justify == "right" else text + pad)
    if colour:
        style = _LIGHT_STYLE.get(cells[-1])
        if style:
            out[-1] = f"\x1b[{style}m{out[-1]}\x1b[0m"
    return "  ".join(out).rstrip()


def reservation_detail(resv: Any) -> Table:
    """Every field of one reservation, one per line."""
    table = Table(show_header=False, box=None, title=f"Reservation {fmt(resv.seq)}")
    table.add_column(style="bold")
    table.add_column()
    data = resv.model_dump() if hasattr(resv, "model_dump") else vars(resv)
    for key, value in data.items():
        table.add_row(key, escape(_field(resv, key) if key == "order_type" else fmt(value)))
    table.add_row("status", _status(resv))
    return table


def change_table(before: Any, after: Any | None) -> Table:
    """Before/after of a modified reservation; changed terms are highlighted."""
    table = Table(title="Modified reservation", title_justify="left")
    table.add_column("term", style="bold")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for attr, header in _TERMS:
        old = _field(before, attr)
        new = _field(after, attr) if after is not None else "?"
        changed = after is not None and old != new
        table.add_row(
            header,
            escape(old),
            Text(new, style="bold green") if changed else Text(new, style="dim"),
        )
    return table


def request_panel(described: dict[str, Any], title: str = "DRY RUN") -> Panel:
    """The request ``--dry-run`` would have sent (already masked by the library)."""
    lines = [f"[bold]{escape(str(described.get('method', '')))}[/] "]
    lines[0] += escape(str(described.get("url", "")))
    extra = {k: v for k, v in described.items() if k not in {"method", "url"}}
    lines.append(escape(json.dumps(extra, ensure_ascii=False, indent=2, default=str)))
    return Panel(
        "\n".join(lines),
        title=f"{title} — nothing was sent",
        title_align="left",
        border_style="yellow",
    )


def journal_table(
    entries: Iterable[Any], title: str = "Order journal", empty: str = "the journal is empty"
) -> Table:
    """One row per journal entry, newest first as given; times in KST (the header says so).

    ``empty`` is the caption when there is no entry (e.g. "nothing pending" for a filter).
    """
    table = Table(title=title, title_justify="left")
    for header in ("id", "created (KST)", "intent", "tr_id", "seq", "outcome", "code", "message"):
        table.add_column(header, justify="right" if header == "id" else "left")
    rows = 0
    for e in entries:
        rows += 1
        outcome = str(getattr(e.outcome, "value", e.outcome))
        message = e.msg1 or e.error or e.note
        table.add_row(
            str(e.id),
            fmt(e.created_at),
            escape(e.intent),
            e.tr_id,
            escape(e.reference or "-"),
            Text(outcome, style=_OUTCOME_STYLE.get(outcome, "")),
            e.msg_cd or "-",
            escape(message or "-"),
        )
    if rows == 0:
        table.caption = empty
    return table


def bulk_table(result: Any) -> Table:
    """The per-reservation outcome of a bulk cancel."""
    table = Table(title="Bulk cancel", title_justify="left")
    table.add_column("seq", justify="right")
    table.add_column("result")
    table.add_column("code")
    table.add_column("detail")
    for item in getattr(result, "items", []):
        ok = getattr(item, "ok", False)
        error = getattr(item, "error", None)
        word, style = (
            ("not started", "dim")
            if not getattr(item, "started", True)
            else ("cancelled", "green")
            if ok
            else ("unknown", "yellow")
            if ok is None
            else ("failed", "red")
        )
        table.add_row(
            fmt(getattr(item, "seq", None)),
            Text(word, style=style),
            getattr(item, "msg_cd", "") or "-",
            escape(str(error) if error else "-"),
        )
    table.caption = (
        f"{_count(result, 'succeeded')} cancelled, {_count(result, 'failed')} failed,"
        f" {_count(result, 'unknown')} unknown, {_count(result, 'not_started')} not started"
    )
    return table


def _count(result: Any, attr: str) -> int:
    value = getattr(result, attr, 0)
    return len(value) if isinstance(value, list | tuple) else int(value or 0)


def reconcile_table(results: Sequence[Any]) -> Table:
    """Outcome of reconciling journal entries against the reservation list."""
    table = Table(title="Reconcile", title_justify="left")
    table.add_column("entry", justify="right")
    table.add_column("applied")
    table.add_column("reservation", justify="right")
    table.add_column("detail")
    for res in results:
        applied = getattr(res, "applied", None)
        label, style = (
            ("yes", "green")
            if applied is True
            else ("no", "cyan")
            if applied is False
            else ("unknown", "bold magenta")
        )
        resv = getattr(res, "reservation", None)
        table.add_row(
            str(getattr(res, "entry_id", "?")),
            Text(label, style=style),
            fmt(getattr(resv, "seq", None)) if resv is not None else "-",
            escape(str(getattr(res, "detail", "") or "-")),
        )
    if not results:
        table.caption = "nothing to reconcile"
    return table
