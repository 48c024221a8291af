"""국내휴장일조회 (국내주식-040): GET ``/uapi/domestic-stock/v1/quotations/chk-holiday``, CTCA0903R.

Served from the emulator's own :class:`~stock_manager.emulator.krx_calendar.KrxCalendar`, so a
client-side calendar can be tested against declared holidays and late days. Real only (the
paper host answers EGW02006, as KIS does).

Shape from the spec example: ``output`` is an array of :data:`HOLIDAY_PAGE_DAYS` consecutive
days from ``BASS_DT``; ``ctx_area_fk`` is ``BASS_DT`` and ``ctx_area_nk`` the last day
returned, both space padded to 20; msg KIOK0500 (the example's). There is no ``tr_cont``
paging: a client asks again with a later ``BASS_DT``.

Flags (the example's pattern; the emulator's reading where it is silent): ``opnd_yn`` and
``sttl_day_yn`` = open day; ``bzdy_yn`` = banking day (weekday and not a holiday; the
year-end closing day is a banking day); ``tr_day_yn`` = "Y" except on public holidays (the
example shows "Y" on weekends).
"""

from __future__ import annotations

from datetime import timedelta

from stock_manager.emulator.fields import HOLIDAY_QUERY
from stock_manager.emulator.gateway import reject
from stock_manager.emulator.handlers import Ctx, Reply, parse_date, read_fields
from stock_manager.emulator.krx_calendar import HOLIDAY_PAGE_DAYS, KrxCalendar
from stock_manager.emulator.messages import envelope

_YN = ("N", "Y")


def day_row(calendar: KrxCalendar, day_s: str) -> dict[str, str]:
    """One output row for ``YYYYMMDD``."""
    d = parse_date(day_s)
    assert d is not None  # callers pass formatted dates
    opened = calendar.is_open(d)
    banking = calendar.is_banking_day(d)
    holiday = d.weekday() < 5 and not banking
    return {
        "bass_dt": day_s,
        "wday_dvsn_cd": f"{(d.weekday() + 1) % 7 + 1:02d}",
        "bzdy_yn": _YN[banking],
        "tr_day_yn": _YN[not holiday],
        "opnd_yn": _YN[opened],
        "sttl_day_yn": _YN[opened],
    }


def check_holiday(ctx: Ctx) -> Reply:
    """GET chk-holiday (CTCA0903R)."""
    v = read_fields(ctx.data, HOLIDAY_QUERY)
    base = parse_date(v["BASS_DT"].strip())
    if base is None:
        raise reject("APBK8016", "BASS_DT must be YYYYMMDD")
    days = [(base + timedelta(days=i)).strftime("%Y%m%d") for i in range(HOLIDAY_PAGE_DAYS)]
    status, body = envelope(
        "KIOK0500",
        ctx_area_nk=days[-1].ljust(20),
        ctx_area_fk=days[0].ljust(20),
        output=[day_row(ctx.calendar, d) for d in days],
    )
    return status, body, {}


HANDLERS = {"chk-holiday": check_holiday}
