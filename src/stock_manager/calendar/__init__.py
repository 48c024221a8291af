"""KRX business days, session times and reservation entry windows (see :mod:`.core`).

>>> from datetime import date
>>> from stock_manager.calendar import bundled_calendar
>>> cal = bundled_calendar()
>>> cal.day(date(2026, 12, 31)).status, cal.day(date(2026, 12, 31)).source
('closed', 'bundled')

:func:`calendar_for` builds the calendar of a KIS client: KIS 국내휴장일조회 (real mode) with a
per-host disk cache beside the token cache, the bundled table otherwise. Nothing heavy is
imported here: the ``holidays`` library loads on the first bundled look-up.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .core import KST, CalendarDay, KRXCalendar, Source, Status, Window, cache_path_for, now_kst

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "CHK_HOLIDAY_PATH",
    "CHK_HOLIDAY_TR_ID",
    "KST",
    "CalendarDay",
    "KRXCalendar",
    "ManagerCalendar",
    "Source",
    "Status",
    "Window",
    "bundled_calendar",
    "cache_path_for",
    "calendar_for",
    "kis_fetcher",
    "manager_calendar",
    "today_kst",
]

CHK_HOLIDAY_PATH = "/uapi/domestic-stock/v1/quotations/chk-holiday"
CHK_HOLIDAY_TR_ID = "CTCA0903R"  # 국내주식-040, real only

_BUNDLED: KRXCalendar | None = None


def bundled_calendar() -> KRXCalendar:
    """A process-wide calendar answering from the bundled table only."""
    global _BUNDLED
    if _BUNDLED is None:
        _BUNDLED = KRXCalendar()
    return _BUNDLED


def kis_fetcher(client: Any) -> Callable[[date], list[Mapping[str, Any]]]:
    """``fetch(bass_dt)`` over a blocking KIS client: one chk-holiday GET (shared rate budget).

    The TR_ID is passed explicitly: the client's catalog need not know this API.
    """

    def fetch(bass_dt: date) -> list[Mapping[str, Any]]:
        params = {"BASS_DT": bass_dt.strftime("%Y%m%d"), "CTX_AREA_NK": "", "CTX_AREA_FK": ""}
        response = client.make_request("GET", CHK_HOLIDAY_PATH, params, tr_id=CHK_HOLIDAY_TR_ID)
        return list(response.rows())

    return fetch


def calendar_for(client: Any, *, clock: Callable[[], datetime] | None = None) -> KRXCalendar:
    """The calendar of a blocking KIS client.

    Real mode: KIS first, cached in ``token_cache_dir`` per host. Paper mode (KIS: 모의투자
    미지원): bundled only, without a request that would fail.
    """
    config = client.config
    kw: dict[str, Any] = {"clock": clock} if clock else {}
    if config.is_paper:
        return KRXCalendar(**kw)
    return KRXCalendar(
        fetch=kis_fetcher(client),
        cache_path=cache_path_for(config.token_cache_dir, client.base_url),
        **kw,
    )


def today_kst() -> date:
    """Today's date in Korea."""
    return now_kst().date()


class ManagerCalendar:
    """The three answers the reservation manager asks (``stock_manager.manager.Calendar``).

    Over a :class:`KRXCalendar` (default: the bundled one). An unknown day counts as "not
    open" for :meth:`is_open` but stops :meth:`next_open_day` (it may be open): the manager
    never promises a day the calendar cannot vouch for, nor skips one it cannot rule out.
    """

    def __init__(self, calendar: KRXCalendar | None = None) -> None:
        self.calendar = calendar or bundled_calendar()

    @property
    def source(self) -> str:
        """``krx`` plus where the answers come from (kis / cache / bundled)."""
        return "krx (KIS chk-holiday, cached)" if self.calendar.kis_days else "krx (bundled)"

    def is_open(self, day: date) -> bool:
        """Whether KRX trades on ``day`` (False when closed or unknown)."""
        return self.calendar.day(day).status == "open"

    def next_open_day(self, day: date) -> date:
        """The first open (or unknown) day after ``day``."""
        return self.calendar.next_open_day(day).day

    def order_day(self, now: datetime) -> date:
        """The day a reservation entered at ``now`` is sent on (:meth:`KRXCalendar.order_date`)."""
        return self.calendar.order_date(now).day

    def window(self, now: datetime) -> tuple[bool, datetime]:
        """(inside the entry window now — unknown counts as inside, KIS decides; next opening).

        Weekends and holidays are inside (KIS: 15:40 until 07:30 of the next business day);
        an open day's session stretch and the 23:40-00:10 blackout are not.
        """
        w = self.calendar.window(now)
        return w.inside is not False, w.opens_at or now


def manager_calendar() -> ManagerCalendar:
    """The calendar :func:`stock_manager.manager.default_calendar` picks up (bundled table)."""
    return ManagerCalendar()
