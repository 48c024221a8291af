"""``stock-manager calendar``: KRX open/closed days, each evening's reservation window, the source.

Against a real-mode configuration the days come from KIS 국내휴장일조회 (cached per host for a
day); in paper mode, without credentials or with ``--offline`` from the bundled table. The
calendar library is imported only when this command runs.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._runtime import emit_json, parse_date, state_of

if TYPE_CHECKING:
    from stock_manager.calendar import CalendarDay, KRXCalendar

__all__ = ["calendar"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


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
    """Show KRX open/closed days, each evening's reservation window and where it came from."""
    from stock_manager.calendar import today_kst

    st = state_of(ctx, json=json_)
    start = parse_date(from_, "--from") or today_kst()
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
    for col in ("date", "day", "market", "session", "reservation window that evening", "source"):
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
    from stock_manager.calendar import (
        KRXCalendar,
        bundled_calendar,
        cache_path_for,
        calendar_for,
    )

    try:
        config = st.config()
    except KISError:
        return bundled_calendar(), "bundled table: no credentials configured"
    if config.is_paper:
        return bundled_calendar(), "bundled table: KIS has no holiday API in paper mode"
    if offline:
        path = cache_path_for(config.token_cache_dir, config.effective_base_url)
        return KRXCalendar(cache_path=path), "offline: cached KIS answers, else bundled table"
    from stock_manager.adapters.broker.kis import KISRestClient

    client = KISRestClient(config)
    try:
        cal = calendar_for(client)
        cal.day(date.today())  # load/refresh while the client is open
    finally:
        client.close()
    return cal, f"KIS 국내휴장일조회 via {config.effective_base_url} (cached a day)"


def _row(cal: KRXCalendar, info: CalendarDay) -> dict[str, Any]:
    session = f"{info.open:%H:%M}-{info.close:%H:%M}" if info.open and info.close else "-"
    window = "-"
    if info.status == "open":
        nxt = cal.next_open_day(info.day)
        tomorrow = info.day + timedelta(days=1)
        window = (
            f"{cal.evening_open(info.day):%H:%M}-23:40, 00:10-{cal.morning_close(tomorrow):%H:%M}"
            f" → sent {nxt.day}" + ("" if nxt.status == "open" else " (unknown)")
        )
    return {
        "date": info.day.isoformat(),
        "weekday": _WEEKDAYS[info.day.weekday()],
        "status": info.status,
        "note": info.note,
        "session": session,
        "window": window,
        "source": info.source,
    }
