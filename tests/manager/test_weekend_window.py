"""The manager on weekends, holidays and in the blackout (issue #18, finding 2).

KIS takes reservations from 15:40 until 07:30 of the *next business day*, except 23:40-00:10
(spec §1.5): a weekend evening is inside the window, and so is a holiday's daytime. Every
instant here is fixed (the emulator's and the manager's clock are the same frozen one).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient
from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.emulator import ServedEmulator
from stock_manager.manager import (
    AsyncReservationManager,
    OutsideWindowError,
    ReservationManager,
    StandingSpec,
    parse_spec,
)
from stock_manager.manager.plan import order_day

from .conftest import at, kis_config

ONE = """
[[reservation]]
id = "a"
symbol = "005930"
side = "buy"
qty = 10
price = 69000
"""

SUNDAY_EVENING = at(6, 20, 0)  # Sunday 2026-12-06 20:00 KST
MONDAY = date(2026, 12, 7)


def spec() -> StandingSpec:
    return parse_spec(ONE, name="w")


def orders(emu: ServedEmulator) -> int:
    return emu.requests.count(name="order-resv")


@pytest.mark.parametrize(
    ("now", "order"),
    [
        (at(5, 15, 0), MONDAY),  # Saturday afternoon
        (SUNDAY_EVENING, MONDAY),  # Sunday 20:00
        (at(4, 16, 0), MONDAY),  # Friday 16:00
        (at(7, 7, 29), MONDAY),  # Monday 07:29: still the weekend's window
    ],
)
def test_apply_inside_the_weekend_window_places_for_monday(
    emu: ServedEmulator, manager: ReservationManager, now: datetime, order: date
) -> None:
    emu.clock.freeze(now)
    result = manager.apply(spec())
    assert result.plan.order_day == order
    assert [(i.item.action, i.ok) for i in result.items] == [("place", True)], result.items
    row = emu.state.reservations[int(result.items[0].seq)]
    assert row.ord_dt == order.strftime("%Y%m%d")  # the emulator booked the same order date


def test_holiday_daytime_is_inside(emu: ServedEmulator, manager: ReservationManager) -> None:
    # 2026-10-09 (Friday) is 한글날, a KRX holiday in both the bundled table and the emulator's.
    emu.clock.freeze(datetime(2026, 10, 9, 11, 0, tzinfo=KST))
    result = manager.apply(spec())
    assert result.plan.order_day == date(2026, 10, 12)
    assert [i.ok for i in result.items] == [True]


@pytest.mark.parametrize(
    ("now", "opens"),
    [
        (at(5, 23, 45), at(6, 0, 10)),  # Saturday 23:45: the blackout, not "Monday 15:40"
        (at(7, 0, 5), at(7, 0, 10)),  # Monday 00:05
        (at(7, 7, 31), at(7, 15, 40)),  # Monday 07:31: an open day's session stretch
    ],
)
def test_outside_the_window_names_the_real_next_opening(
    emu: ServedEmulator, manager: ReservationManager, now: datetime, opens: datetime
) -> None:
    emu.clock.freeze(now)
    with pytest.raises(OutsideWindowError) as info:
        manager.apply(spec())
    assert info.value.opens_at == opens
    assert f"{opens:%Y-%m-%d %H:%M}" in str(info.value)
    assert orders(emu) == 0


def test_wait_in_the_blackout_sleeps_until_0010_only(
    emu: ServedEmulator, manager: ReservationManager
) -> None:
    emu.clock.freeze(at(5, 23, 45))  # Saturday night
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # time travel instead of waiting
        slept.append(seconds)
        emu.clock.advance(seconds)

    waiting = ReservationManager(manager.client, clock=emu.clock.now, sleep=sleep)
    try:
        result = waiting.apply(spec(), wait=True)
    finally:
        waiting.close()
    assert slept == [25 * 60.0]  # to Sunday 00:10, not through Monday's session
    assert result.plan.order_day == MONDAY
    assert [i.ok for i in result.items] == [True]


def test_order_day_follows_the_late_session(manager: ReservationManager) -> None:
    # 2027-01-04 opens at 10:00, so its reservations are taken until 08:30 that morning.
    calendar = manager._local.calendar
    assert order_day(calendar, datetime(2027, 1, 4, 8, 15, tzinfo=KST)) == date(2027, 1, 4)
    assert order_day(calendar, datetime(2027, 1, 5, 8, 15, tzinfo=KST)) == date(2027, 1, 6)
    assert order_day(calendar, SUNDAY_EVENING) == MONDAY


async def test_async_apply_on_sunday_evening(emu: ServedEmulator, tmp_path: Path) -> None:
    emu.clock.freeze(SUNDAY_EVENING)
    client = AsyncKISRestClient(kis_config(emu, tmp_path / "async"))
    m = AsyncReservationManager(client, clock=emu.clock.now)
    try:
        result = await m.apply(spec())
        assert result.plan.order_day == MONDAY
        assert [i.ok for i in result.items] == [True]
        emu.clock.freeze(at(5, 23, 45))
        with pytest.raises(OutsideWindowError) as info:
            await m.apply(parse_spec(ONE.replace('"a"', '"b"'), name="w"))
        assert info.value.opens_at == at(6, 0, 10)
    finally:
        m.close()
        await client.aclose()


# --- the CLI's clock keeps running (issue #18, finding 5) -----------------------------------------
def test_a_rerun_after_an_unknown_place_settles_on_the_running_cli_clock(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    """``STOCK_MANAGER_NOW`` starts the clock; it runs on, so "wait" ends.

    The old CLI clock stood still at the override: every re-run in the same process saw zero
    seconds pass and said "wait" forever. Here the journal runs on that clock too (as the CLI's
    clock is the only one a rehearsal moves), so the settle window of the unknown place passes
    when the clock does: the entry is settled "not applied" from the book, then placed once.
    """
    from stock_manager.adapters.broker.kis import KISRestClient
    from stock_manager.cli._runtime import NOW_ENV, clock_from_env
    from stock_manager.journal import OrderJournal

    ticks = [1000.0]  # the monotonic clock the CLI clock runs on (advanced by hand here)
    clock = clock_from_env(
        {NOW_ENV: SUNDAY_EVENING.isoformat()}, monotonic=lambda: ticks[0], t0=1000.0
    )
    emu.clock.freeze(SUNDAY_EVENING)
    journal = OrderJournal(tmp_path / "running.sqlite3", clock=clock)
    client = KISRestClient(kis_config(emu, tmp_path), journal=journal)
    m = ReservationManager(client, clock=clock, sleep=lambda s: None)
    try:
        emu.faults.add("order-resv", "http_error", 1, status=500)  # outcome unknown
        first = m.apply(spec())
        assert [i.ok for i in first.items] == [None]
        waiting = m.apply(spec())
        assert [i.action for i in waiting.plan.items] == ["wait"]
        assert "unknown" in waiting.plan.items[0].reason
        assert len(emu.state.reservations) == 0
        # A minute and a bit later (both clocks run, past read timeout + settle window): the
        # book does not show it, so it is settled "not applied" and placed — once.
        ticks[0] += 61
        emu.clock.advance(61)
        second = m.apply(spec())
        assert [(i.item.action, i.ok) for i in second.items] == [("place", True)], second
        assert len(emu.state.reservations) == 1
        assert m.apply(spec()).items == ()
    finally:
        m.close()
        client.close()
        journal.close()
