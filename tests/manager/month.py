"""The declared month both simulated-month tests (library and CLI) run (issue #18).

Thirty calendar days, Friday 2026-12-04 to Saturday 2027-01-02: four weekends, Christmas
(Friday 12-25), the year-end closing day (12-31) and New Year's Day.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator

FIRST_DAY = date(2026, 12, 4)  # a Friday
DAYS = [FIRST_DAY + timedelta(days=i) for i in range(30)]
SUNDAY = date(2026, 12, 6)
START = datetime(2026, 12, 4, 16, 0, tzinfo=KST)

SPEC_HEAD = 'name = "month"\n'
SAMSUNG = """
[[reservation]]
id = "samsung-period"
symbol = "005930"
side = "buy"
qty = 3
price = 60000
days = 10
"""
HYNIX = """
[[reservation]]
id = "hynix-period"
symbol = "000660"
side = "buy"
qty = 2
price = 150000
days = 10
"""
CELLTRION = """
[[reservation]]
id = "celltrion-once"
symbol = "068270"
side = "buy"
qty = 1
price = 150000
"""


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` KST."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=KST)


@contextmanager
def month_emulator() -> Iterator[ServedEmulator]:
    """An emulator frozen at the month's first afternoon, its entry window enforced."""
    config = EmulatorConfig.demo(
        seed=2026,
        rate_limit_per_s=None,
        token_issue_interval_s=0,
        token_lifetime_s=60 * 86400,
        enforce_window=True,
        clock=lambda: START,
    )
    with run_emulator(config) as served:
        served.clock.freeze(START)
        yield served
