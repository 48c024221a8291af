"""The emulator's own KRX calendar and the reservation entry window built on it.

The emulator keeps its own calendar (it must not import the client's): a bundled list of KRX
closed days, the late-session days (the market opens one hour later), and whatever a test or
the operator declares through :class:`EmulatorConfig` (``closed_days``/``late_days``), the
admin API (``POST /_emulator/calendar``) or ``emulator serve --closed-days/--late-days``.

Rules (kis-spec.md §1.5 and public reports; choices marked):

* Open day: Monday-Friday and not a closed day.
* Late day: the first open day of a year and the 수능 (CSAT) days below, plus declared ones.
  On a late day the session starts and ends one hour later, and so does the reservation
  window: it closes at 08:30 (not 07:30) that morning and reopens at 16:40 (not 15:40) that
  afternoon. KIS's KIER3672 message seen on the 2025-11-13 수능 day named exactly
  "16:40 ... 익영업일 08:30" (prism-insight #79); shifting both ends on every late day is the
  emulator's reading of that one report.
* Entry window: reservations are accepted from the afternoon start of an open day until the
  morning end of the next open day (weekends and holidays lie inside the window), except the
  23:40-00:10 system blackout. On an open day they are refused between the morning end and the
  afternoon start.
* Order date (``rsvn_ord_ord_dt``): the same day when received on an open day before its
  morning end, otherwise the next open day.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone

# KRX closed weekdays (holidays, substitute holidays, election days, the year-end closing day).
# Source: the public-holiday calendar of the Republic of Korea and KRX's annual notices; the
# 2027 entries follow the announced lunar dates and the substitute-holiday law (may change -
# declare corrections with --closed-days).
BUNDLED_CLOSED: frozenset[date] = frozenset(
    date.fromisoformat(d)
    for d in (
        # 2025
        "2025-01-01", "2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-03-03",
        "2025-05-01", "2025-05-05", "2025-05-06", "2025-06-03", "2025-06-06", "2025-08-15",
        "2025-10-03", "2025-10-06", "2025-10-07", "2025-10-08", "2025-10-09", "2025-12-25",
        "2025-12-31",
        # 2026
        "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-03-02", "2026-05-01",
        "2026-05-05", "2026-05-25", "2026-06-03", "2026-08-17", "2026-09-24", "2026-09-25",
        "2026-09-28", "2026-10-05", "2026-10-09", "2026-12-25", "2026-12-31",
        # 2027
        "2027-01-01", "2027-02-08", "2027-02-09", "2027-03-01", "2027-05-05", "2027-05-13",
        "2027-08-16", "2027-09-14", "2027-09-15", "2027-09-16", "2027-10-04", "2027-10-11",
        "2027-12-27", "2027-12-31",
    )
)  # fmt: skip
# Year-end closing days are banking days (bzdy_yn "Y") although the market is shut.
YEAR_END_CLOSING = frozenset(d for d in BUNDLED_CLOSED if (d.month, d.day) == (12, 31))
# 수능 (CSAT) days: KRX opens 10:00 and closes 16:30.
BUNDLED_LATE: frozenset[date] = frozenset(
    date.fromisoformat(d) for d in ("2024-11-14", "2025-11-13", "2026-11-19", "2027-11-18")
)

KST = timezone(timedelta(hours=9), "KST")
BLACKOUT_START = time(23, 40)
BLACKOUT_END = time(0, 10)
WINDOW_START = time(15, 40)
WINDOW_END = time(7, 30)
LATE_SHIFT = timedelta(hours=1)
REOPEN_AFTER_BLACKOUT = time(0, 15)
# How many days one chk-holiday answer covers (the spec example returns 24).
HOLIDAY_PAGE_DAYS = 24


def _shift(t: time, by: timedelta) -> time:
    return (datetime.combine(date(2000, 1, 1), t) + by).time()


class KrxCalendar:
    """Open/closed/late days; thread-safe (the admin API changes it while serving)."""

    def __init__(self, closed: Iterable[date] = (), late: Iterable[date] = ()) -> None:
        self._lock = threading.Lock()
        self._closed: set[date] = set(BUNDLED_CLOSED) | set(closed)
        self._late: set[date] = set(BUNDLED_LATE) | set(late)
        self._opened: set[date] = set()  # bundled closed days declared open again

    # --- declarations -------------------------------------------------------------------
    def declare_closed(self, days: Iterable[date]) -> None:
        """Mark weekdays as closed (holidays, temporary closures)."""
        with self._lock:
            for d in days:
                self._closed.add(d)
                self._opened.discard(d)

    def declare_open(self, days: Iterable[date]) -> None:
        """Undo a closed day (bundled or declared)."""
        with self._lock:
            for d in days:
                self._closed.discard(d)
                self._opened.add(d)

    def declare_late(self, days: Iterable[date]) -> None:
        """Mark days whose session (and reservation window) starts one hour later."""
        with self._lock:
            self._late.update(days)

    def doc(self) -> dict[str, list[str]]:
        """JSON-able view of the declared/bundled days."""
        with self._lock:
            return {
                "closed": sorted(d.isoformat() for d in self._closed),
                "late": sorted(d.isoformat() for d in self._late),
            }

    # --- queries ------------------------------------------------------------------------
    def is_open(self, d: date) -> bool:
        """Whether KRX trades on ``d``."""
        return d.weekday() < 5 and d not in self._closed

    def is_banking_day(self, d: date) -> bool:
        """Whether banks work on ``d`` (the year-end closing day is one, holidays are not)."""
        return d.weekday() < 5 and (d not in self._closed or d in YEAR_END_CLOSING)

    def next_open(self, d: date) -> date:
        """The first open day strictly after ``d``."""
        d += timedelta(days=1)
        while not self.is_open(d):
            d += timedelta(days=1)
        return d

    def open_on_or_after(self, d: date) -> date:
        """``d`` if open, else the next open day."""
        return d if self.is_open(d) else self.next_open(d)

    def is_late(self, d: date) -> bool:
        """Late-session day: declared/수능, or the first open day of its year."""
        if d in self._late:
            return True
        return self.is_open(d) and self.open_on_or_after(date(d.year, 1, 1)) == d

    def window_times(self, d: date) -> tuple[time, time]:
        """(morning end, afternoon start) of the reservation window around open day ``d``."""
        if self.is_late(d):
            return _shift(WINDOW_END, LATE_SHIFT), _shift(WINDOW_START, LATE_SHIFT)
        return WINDOW_END, WINDOW_START

    def order_date(self, now: datetime) -> date:
        """The day a reservation received at ``now`` is sent to the market."""
        d = now.date()
        if self.is_open(d) and now.time() < self.window_times(d)[0]:
            return d
        return self.next_open(d)

    def window_refusal(self, now: datetime) -> tuple[str, str] | None:
        """Why a reservation at ``now`` is refused: (window text, reason), or None if open.

        The window text names the applicable window as KIS's KIER3672 message does.
        """
        t = now.time()
        d = now.date()
        end, start = self.window_times(d) if self.is_open(d) else (WINDOW_END, WINDOW_START)
        text = f"{start:%H:%M}~{end:%H:%M}"
        if t >= BLACKOUT_START or t < BLACKOUT_END:
            return text, "system blackout 23:40-00:10"
        if self.is_open(d) and end <= t < start:
            return text, f"market day {d.isoformat()}: window opens {start:%H:%M}"
        return None

    def inside_window(self, now: datetime) -> datetime:
        """``now`` if reservations are accepted then, else 5 minutes after the window reopens.

        Always at or after ``now``: a client whose own clock reads ``now`` then sees every
        receipt time after its send time (reconciliation looks for receipts after the send).
        On an open day's daytime that is 15:45 (16:45 on a late day) of the same date; in the
        23:40-00:10 blackout it is 00:15. Used by the demo and the pytest fixture to start the
        clock where reservations work, whatever the hour.
        """
        now = now.astimezone(KST)
        if self.window_refusal(now) is None:
            return now
        t, d = now.time(), now.date()
        if t >= BLACKOUT_START:
            return datetime.combine(d + timedelta(days=1), REOPEN_AFTER_BLACKOUT, KST)
        if t < BLACKOUT_END:
            return datetime.combine(d, REOPEN_AFTER_BLACKOUT, KST)
        start = self.window_times(d)[1]
        return datetime.combine(d, start, KST) + timedelta(minutes=5)


def start_inside_window(closed: Iterable[date] = (), late: Iterable[date] = ()) -> datetime:
    """Where to start an emulator clock so reservations work now (see ``inside_window``)."""
    return KrxCalendar(closed, late).inside_window(datetime.now(KST))


def parse_days(text: str) -> tuple[date, ...]:
    """``"2026-12-02,20261203"`` → dates (blank → none); ValueError names the bad item."""
    days: list[date] = []
    for item in text.replace(" ", "").split(","):
        if not item:
            continue
        try:
            days.append(
                date.fromisoformat(item if "-" in item else f"{item[:4]}-{item[4:6]}-{item[6:]}")
            )
        except ValueError:
            raise ValueError(f"not a date (YYYY-MM-DD): {item!r}") from None
    return tuple(days)


def parse_instant(text: str) -> datetime:
    """``2026-12-01T16:00+09:00`` → aware datetime; a naive value is taken as KST."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date-time (2026-12-01T16:00+09:00): {text!r}") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=KST)
    return at
