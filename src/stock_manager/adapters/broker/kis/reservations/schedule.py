"""When a reservation is entered and sent: entry window, order date, end date, window refusals.

Every date decision of the reservation API goes through the KRX calendar
(:mod:`stock_manager.calendar`): weekends, holidays, the 23:40-00:10 blackout and late-session
days. The rules (``shared/kis-spec.md`` §1.5, ``research/user-needs.md`` §1 F):

* reservations are entered from 15:40 until 07:30 of the next business day, so weekends and
  holidays lie inside the window; only an open day's session stretch and the nightly blackout
  are outside (:func:`stock_manager.calendar.core.entry_window`);
* a reservation is sent on its *order date*, the next open day (the same day before its
  morning close on an open day; for an entry on a weekend or holiday, the next open day);
* blank end date = one-day reservation (일반예약); an end date = period reservation (기간예약)
  that must be an open day within 30 calendar days counted from the next business day, else
  KIS rejects it (tofulim/auto_trade #63). Policy ``snap`` (default) moves a bad end date back
  to the last open day in range with a warning; ``refuse`` raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from .. import constants as C
from ..errors import KISBusinessError, KISValidationError, ReservationWindowError
from .models import strict_days

if TYPE_CHECKING:
    from stock_manager.calendar import CalendarDay, KRXCalendar

__all__ = [
    "WINDOW_CODES",
    "EndDatePolicy",
    "Schedule",
    "as_window_error",
    "plan_schedule",
]

EndDatePolicy = Literal["snap", "refuse"]
#: msg_cd values that mean "outside the reservation entry window". KIER3672 is KIS's (seen in
#: prism-insight #79); APBK8013/8014 are the emulator's stand-ins.
WINDOW_CODES = frozenset({"KIER3672", "APBK8013", "APBK8014"})
_WINDOW_TEXT = re.compile(r"예약\s*주문.*(가능|불가)|시간이 아닙니다|초기화 시간")
_TIMES = re.compile(r"(\d{1,2})\s*[:시]\s*(\d{2})\s*분?")


@dataclass(frozen=True)
class Schedule:
    """When a reservation will be sent, in dates and in words."""

    order_day: CalendarDay
    end_date: date | None  # what will be sent as RSVN_ORD_END_DT (None: one-day)
    requested_end_date: date | None
    max_end_date: date
    warnings: tuple[str, ...] = ()

    @property
    def order_date(self) -> date:
        """The first (or only) day the reservation is sent to the market."""
        return self.order_day.day

    @property
    def kind(self) -> Literal["one-day", "period"]:
        """``one-day`` (일반예약) or ``period`` (기간예약)."""
        return "one-day" if self.end_date is None else "period"

    @property
    def source(self) -> str:
        """Where the order date came from: kis / cache / bundled."""
        return self.order_day.source

    def describe(self) -> str:
        """The reservation's schedule in words, for a confirmation."""
        late = f" (late session: opens {self.order_day.open:%H:%M})" if self.order_day.late else ""
        if self.end_date is None:
            return f"one-day reservation (일반예약): sent on {self.order_date}{late} only"
        return (
            f"period reservation (기간예약): every open day from {self.order_date}{late}"
            f" until {self.end_date}"
        )


def plan_schedule(
    calendar: KRXCalendar,
    now: datetime,
    *,
    end_date: date | None = None,
    days: int | None = None,
    policy: EndDatePolicy = "snap",
) -> Schedule:
    """Order date and checked end date of a reservation entered at ``now``.

    Raises :class:`KISValidationError` (nothing sent) for an end date that cannot be fixed,
    or that ``policy="refuse"`` will not fix.
    """
    if policy not in ("snap", "refuse"):
        raise KISValidationError(f"end-date policy must be snap or refuse, not {policy!r}")
    if end_date is not None and days is not None:
        raise KISValidationError("give an end date or a number of days, not both")
    from stock_manager.calendar import KST

    today = now.astimezone(KST).date()
    order = calendar.order_date(now)
    first = order.day
    max_end = first + timedelta(days=C.RESERVATION_MAX_PERIOD_DAYS)
    warnings: list[str] = []
    if order.status == "unknown":
        warnings.append(
            f"cannot tell the order date for sure: {order.day} is unknown to the calendar"
            f" ({order.note})"
        )
    if days is not None:
        days = strict_days(days)  # the one rule of --days, the file's days and the library
        opens = calendar.open_days(first, days)
        if len(opens) < days:
            raise KISValidationError(
                f"cannot count {days} open days from {first}: the calendar stops at an unknown day"
            )
        if days == 1:
            return Schedule(order, None, None, max_end, tuple(warnings))
        end_date = opens[-1].day
    if end_date is None:
        return Schedule(order, None, None, max_end, tuple(warnings))
    requested = end_date
    if end_date <= today:
        raise KISValidationError(f"end date {end_date} must be after today ({today}, KST)")
    if end_date < first:
        raise KISValidationError(
            f"end date {end_date} is before the order date {first} (the next open day)"
        )
    target = end_date
    if end_date > max_end:
        why = (
            f"end date {end_date} is more than {C.RESERVATION_MAX_PERIOD_DAYS} days after the"
            f" next business day {first} (last allowed: {max_end})"
        )
        if policy == "refuse":
            raise KISValidationError(why)
        target = max_end
        warnings.append(why)
    info = calendar.day(target)
    if info.status == "closed":
        why = (
            f"end date {target} is not an open day ({info.note or 'closed'}; source {info.source})"
        )
        if policy == "refuse":
            raise KISValidationError(why + "; KIS rejects it")
        back = calendar.last_open_day(target, not_before=first)
        if back is None:
            raise KISValidationError(why + f" and no open day lies between {first} and it")
        warnings.append(f"{why}: moved back to {back.day}, the last open day before it")
        target = back.day
    elif info.status == "unknown":
        warnings.append(f"cannot check that end date {target} is an open day ({info.note})")
    elif target != requested:
        warnings.append(f"end date moved back to {target}")
    return Schedule(order, target, requested, max_end, tuple(warnings))


def as_window_error(exc: KISBusinessError) -> ReservationWindowError | None:
    """The :class:`ReservationWindowError` for a KIS refusal that is about the entry window."""
    if isinstance(exc, ReservationWindowError):
        return exc
    text = exc.msg1 or ""
    if exc.msg_cd.strip().upper() not in WINDOW_CODES and not _WINDOW_TEXT.search(text):
        return None
    times = [f"{int(h):02d}:{m}" for h, m in _TIMES.findall(text)]
    starts, ends = [*times, "", ""][:2]
    window = f"{starts} ~ {ends}" if starts and ends else text
    err = ReservationWindowError(
        f"KIS refused the reservation: outside its entry window ({window}): {text}",
        window=window,
        starts=starts,
        ends=ends,
        msg_cd=exc.msg_cd,
        msg1=exc.msg1,
        rt_cd=exc.rt_cd,
        tr_id=exc.tr_id,
        gt_uid=exc.gt_uid,
        http_status=exc.http_status,
        method=exc.method,
        path=exc.path,
    )
    err.journal_id = exc.journal_id
    return err
