"""The small calendar interface the manager needs, and a simple stand-in for tests.

The KRX calendar (KIS chk-holiday, cached, with a bundled fallback) lives in
:mod:`stock_manager.calendar`; the manager only needs three answers, so it codes against
:class:`Calendar`, and :func:`default_calendar` returns that module's
:func:`~stock_manager.calendar.manager_calendar`. :class:`WeekendCalendar` (no trading on
Saturday and Sunday, plus any dates passed in; source ``"weekends-only"``) is a stand-in for
tests. Both answer the entry window with the
one rule, :func:`stock_manager.calendar.core.entry_window`: weekends and holidays are *inside*
the window (KIS: 15:40 until 07:30 of the next business day), only an open day's 07:30-15:40 and
the nightly 23:40-00:10 blackout are outside.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Protocol, runtime_checkable

from stock_manager.adapters.broker.kis import constants as C
from stock_manager.calendar import manager_calendar
from stock_manager.calendar.core import KST, Status, entry_window

__all__ = ["Calendar", "WeekendCalendar", "default_calendar", "nth_open_day", "window_status"]


@runtime_checkable
class Calendar(Protocol):
    """What the manager asks a business-day calendar."""

    def is_open(self, day: date) -> bool:
        """Whether KRX trades on ``day``."""
        ...

    def next_open_day(self, day: date) -> date:
        """The first open day strictly after ``day``."""
        ...

    def window(self, now: datetime) -> tuple[bool, datetime]:
        """(inside the reservation entry window now?, when the next window opens)."""
        ...


class WeekendCalendar:
    """No trading on weekends and ``closed`` dates; the entry window of :func:`entry_window`."""

    source = "weekends-only"

    def __init__(self, closed: Iterable[date] = ()) -> None:
        self.closed = frozenset(closed)

    def is_open(self, day: date) -> bool:
        """Monday to Friday, except the dates given as closed."""
        return day.weekday() < 5 and day not in self.closed

    def next_open_day(self, day: date) -> date:
        """The next open day after ``day``."""
        d = day + timedelta(days=1)
        while not self.is_open(d):
            d += timedelta(days=1)
        return d

    def window(self, now: datetime) -> tuple[bool, datetime]:
        """(inside the entry window?, start of the current or next segment) — one rule for all.

        Weekends and closed dates are inside but for the 23:40-00:10 blackout; an open day is
        outside from 07:30 to 15:40.
        """
        status: Status = "open" if self.is_open(now.astimezone(KST).date()) else "closed"
        w = entry_window(
            now, status, time(*C.RESERVATION_WINDOW_CLOSE), time(*C.RESERVATION_WINDOW_OPEN)
        )
        assert w.opens_at is not None  # known status: always a segment start
        return w.inside is True, w.opens_at


def nth_open_day(calendar: Calendar, day: date, n: int) -> date:
    """The ``n``-th open day after ``day`` (``n`` >= 1)."""
    d = day
    for _ in range(n):
        d = calendar.next_open_day(d)
    return d


def window_status(calendar: Calendar, now: datetime) -> tuple[bool, datetime]:
    """:meth:`Calendar.window`, kept as a function so adapters can wrap other calendars."""
    return calendar.window(now)


def default_calendar() -> Calendar:
    """The KRX calendar (:func:`stock_manager.calendar.manager_calendar`, bundled table)."""
    return manager_calendar()
