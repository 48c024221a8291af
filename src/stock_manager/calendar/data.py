"""Dated KRX facts the holiday library does not carry, each with its source.

Two tables, both plain data so a reviewer can check each row against its source:

* :data:`EXTRA_CLOSURES` — days the KRX stock market is closed that ``holidays``' ``XKRX``
  calendar (``holidays.financial_holidays("XKRX")``) does not list (ad-hoc closures announced
  late), and :data:`EXTRA_OPEN_DAYS` — days that library lists as closed but KRX opens.
  ``holidays`` 0.109 already has May 1 (근로자의날/노동절), the year-end closing day (the last
  weekday of the year, 12-30 when 12-31 is a weekend) and the 2025-01-27 temporary holiday and
  2025-06-03 election day; the tables start empty for those years and say so.
* :data:`LATE_SESSIONS` — days the regular session starts late (and perhaps ends late). The
  first trading day of every year opens at 10:00 by KRX rule (applied by
  :func:`first_trading_day_rule`, not listed per year); the 수능 (CSAT) day opens at 10:00 and
  closes at 16:30.

``BUNDLED_REVIEWED_UNTIL`` is the last day these tables were checked for. Past it a weekday
is answered "unknown" by the bundled source, never "open": an ad-hoc closure announced after
this release would otherwise be silently missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Final

__all__ = [
    "BUNDLED_REVIEWED_FROM",
    "BUNDLED_REVIEWED_UNTIL",
    "EXTRA_CLOSURES",
    "EXTRA_OPEN_DAYS",
    "LATE_SESSIONS",
    "NORMAL_CLOSE",
    "NORMAL_OPEN",
    "Closure",
    "LateSession",
]

NORMAL_OPEN: Final = time(9, 0)
NORMAL_CLOSE: Final = time(15, 30)
# The first trading day of each year opens one hour late (KRX 개장일 rule: 10:00 open, usual
# 15:30 close). Source: KRX 시장운영 안내 every year; e.g. 2023-01-02 "10시에 시작"
# (ggoose.tistory.com, "2023년 달라지는 주식 시장").
FIRST_DAY_OPEN: Final = time(10, 0)

BUNDLED_REVIEWED_FROM: Final = date(2024, 1, 1)
BUNDLED_REVIEWED_UNTIL: Final = date(2027, 12, 31)


@dataclass(frozen=True)
class Closure:
    """One dated exception to the library calendar."""

    day: date
    name: str
    source: str


@dataclass(frozen=True)
class LateSession:
    """A day whose regular session is shifted: ``open``-``close`` KST."""

    day: date
    open: time
    close: time
    reason: str
    source: str


# Checked against holidays 0.109 XKRX for 2024-2027: every announced KRX closure we know of is
# in the library (incl. 2024-10-01 국군의날 temporary holiday, 2025-01-27 임시공휴일,
# 2025-06-03 대통령선거, 2026-06-03 지방선거). Add a row when KRX announces an ad-hoc closure.
EXTRA_CLOSURES: Final[tuple[Closure, ...]] = ()

# Days the library marks closed but KRX trades. None known for 2024-2027.
EXTRA_OPEN_DAYS: Final[tuple[Closure, ...]] = ()

LATE_SESSIONS: Final[tuple[LateSession, ...]] = (
    LateSession(
        date(2024, 11, 14),
        time(10, 0),
        time(16, 30),
        "2025학년도 수능 (CSAT): session 10:00-16:30",
        "KRX 수능일 매매거래시간 변경 (yearly practice; press reports 2024-11)",
    ),
    LateSession(
        date(2025, 11, 13),
        time(10, 0),
        time(16, 30),
        "2026학년도 수능 (CSAT): session 10:00-16:30",
        "sirens.kr/View.aspx?No=3852109 (정규시장 10:00-16:30); KIS KIER3672 '16:40 이후부터'"
        " seen that day (prism-insight #79)",
    ),
    LateSession(
        date(2026, 11, 19),
        time(10, 0),
        time(16, 30),
        "2027학년도 수능 (CSAT): session 10:00-16:30 (expected)",
        "CSAT date: 교육부 2027학년도 수능 기본계획 (news1.kr/amp/society/education/5511338);"
        " hours: KRX's yearly practice, its notice for 2026 not yet seen",
    ),
)
