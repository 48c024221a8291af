"""The small calendar interface the manager needs, and a weekends-only default.

The KRX calendar (KIS chk-holiday, cached, with a bundled fallback) is built elsewhere; the
manager only needs three answers, so it codes against :class:`Calendar` and
:func:`default_calendar` wires in ``stock_manager.calendar`` when that module provides a
compatible object. Until then :class:`WeekendCalendar` (Saturday and Sunday closed, plus any
dates passed in) is used, and its source is reported as ``"weekends-only"``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Protocol, runtime_checkable

from stock_manager.adapters.broker.kis import constants as C
from stock_manager.adapters.broker.kis.reservations.models import KST

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
    """Weekdays open, weekends (and ``closed``) closed; window 15:40 → 07:30 (spec 1.5)."""

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
        """Inside 15:40 → 07:30 (closed days: all day), outside 23:40-00:10; next opening."""
        local = now.astimezone(KST)
        t, d = local.time(), local.date()
        (bs, be), opens, closes = (
            C.RESERVATION_BLACKOUT,
            C.RESERVATION_WINDOW_OPEN,
            C.RESERVATION_WINDOW_CLOSE,
        )
        blackout_start, blackout_end = time(*bs), time(*be)
        if t >= blackout_start:
            return False, datetime.combine(d + timedelta(days=1), blackout_end, KST)
        if t < blackout_end:
            return False, datetime.combine(d, blackout_end, KST)
        if self.is_open(d) and time(*closes) <= t < time(*opens):
            return False, datetime.combine(d, time(*opens), KST)
        return True, local


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
    """The KRX calendar when ``stock_manager.calendar`` offers one, else weekends only."""
    try:
        module = importlib.import_module("stock_manager.calendar")
    except ImportError:
        return WeekendCalendar()
    factory = getattr(module, "manager_calendar", None) or getattr(module, "default_calendar", None)
    if callable(factory):
        candidate = factory()
        if isinstance(candidate, Calendar):
            return candidate
    return WeekendCalendar()
