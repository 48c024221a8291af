"""``stock-manager calendar``: KRX open/closed days, the hours reservations are taken, the source.

The hours follow KIS's rule (15:40 until 07:30 of the next business day, never 23:40-00:10):
an open day takes reservations 00:10 to its morning close (sent that day) and from its
evening open to 23:40 (sent the next open day); a weekend or holiday takes them 00:10-23:40,
all sent on the next open day.

Against a real-mode configuration the days come from KIS 국내휴장일조회 (cached per host for a
day); in paper mode, without credentials or with ``--offline`` from the bundled table. The
calendar library is imported only when this command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import _meta
from ._runtime import emit_json, parse_date, state_of
from ._typer import Typer

if TYPE_CHECKING:
    from stock_manager.calendar import CalendarDay, KRXCalendar

__all__ = ["app", "calendar"]

app = Typer()

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@app.command("calendar", help=_meta.COMMAND_HELP["calendar"])
def calendar(
    ctx: typer.Context,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="YYYY-MM-DD",
            help="First day (default: today, KST).",
            show_default=False,
        ),
    ] = None,
    days: Annotated[int, typer.Option("--days", "-n", min=1, max=400, help="How many days.")] = 14,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not ask KIS; use the cache and bundled table.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Show KRX open/closed days, the hours reservations are taken and where it came from."""
    st = state_of(ctx, json=json_)
    start = parse_date(from_, "--from") or st.clock.today()
    cal, origin = _calendar(st, offline)
    rows = [_row(cal, info) for info in cal.days(start, days)]
    sources = sorted({r["source"] for r in rows})
    summary = {
        "origin": origin,
        "sources": sources,
        "kis_error": getattr(cal, "last_error", ""),
        "days": rows,
    }
    if st.json:
        emit_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"KRX calendar from {start} ({origin})", title_justify="left")
    for col in ("date", "day", "market", "session", "reservations taken (KST) → sent", "source"):
        table.add_column(col)
    for r in rows:
        style = "" if r["status"] == "open" else ("dim" if r["status"] == "closed" else "yellow")
        table.add_row(
            r["date"],
            r["weekday"],
            r["status"] + (f" ({r['note']})" if r["note"] else ""),
            r["session"],
            r["window"],
            r["source"],
            style=style,
        )
    st.out.print(table)
    if summary["kis_error"]:
        st.warn(f"KIS chk-holiday failed: {summary['kis_error']}")


def _calendar(st: Any, offline: bool) -> tuple[KRXCalendar, str]:
    """The calendar to show and a phrase saying where its answers come from."""
    from stock_manager.adapters.broker.kis import KISError
    from stock_manager.calendar import KRXCalendar, cache_path_for, calendar_for

    try:
        config = st.config()
    except KISError:
        return KRXCalendar(clock=st.clock), "bundled table: no credentials configured"
    if config.is_paper:
        return KRXCalendar(clock=st.clock), "bundled table: KIS has no holiday API in paper mode"
    if offline:
        path = cache_path_for(config.token_cache_dir, config.effective_base_url)
        return (
            KRXCalendar(cache_path=path, clock=st.clock),
            "offline: cached KIS answers, else bundled table",
        )
    from stock_manager.adapters.broker.kis import KISRestClient

    client = KISRestClient(config)
    try:
        cal = calendar_for(client, clock=st.clock)
        cal.day(st.clock.today())  # load/refresh while the client is open
    finally:
        client.close()
    return cal, f"KIS 국내휴장일조회 via {config.effective_base_url} (cached a day)"


def _row(cal: KRXCalendar, info: CalendarDay) -> dict[str, Any]:
    session = f"{info.open:%H:%M}-{info.close:%H:%M}" if info.open and info.close else "-"
    entry = _entry(cal, info)
    window = ", ".join(
        f"{e['from']}-{e['to']} → " + (e["sent"] or "?") + ("" if e["known"] else " (unknown)")
        for e in entry
    )
    if info.status == "unknown":
        window += f"; {_hm(cal.morning_close(info.day))}-{_hm(cal.evening_open(info.day))}: unknown"
    return {
        "date": info.day.isoformat(),
        "weekday": _WEEKDAYS[info.day.weekday()],
        "status": info.status,
        "note": info.note,
        "session": session,
        "window": window,
        "entry": entry,
        "source": info.source,
    }


def _entry(cal: KRXCalendar, info: CalendarDay) -> list[dict[str, Any]]:
    """The stretches of ``info``'s day when reservations are taken, each with its order date.

    Asked of the calendar's window itself (one rule), at the start of each stretch.
    """
    from datetime import datetime

    from stock_manager.calendar import KST
    from stock_manager.calendar.core import BLACKOUT_END, BLACKOUT_START

    d = info.day
    starts = [BLACKOUT_END]
    if info.status != "closed":  # open or unknown: the session stretch may split the day
        starts.append(cal.evening_open(d))
    out: list[dict[str, Any]] = []
    for start in starts:
        w = cal.window(datetime.combine(d, start, KST))
        if not w.inside or w.closes_at is None:
            continue
        order = w.order_date
        out.append(
            {
                "from": _hm(start),
                "to": _hm(w.closes_at.time()) if w.closes_at.date() == d else _hm(BLACKOUT_START),
                "sent": order.day.isoformat() if order else "",
                "known": order is not None and order.status == "open",
            }
        )
    return out


def _hm(t: Any) -> str:
    return str(t.strftime("%H:%M"))
