"""Fault kinds and reply codes as the notice session meets them (real sockets)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis.errors import PaperTradingNotSupportedError
from stock_manager.emulator import ServedEmulator
from stock_manager.notices import (
    Disconnected,
    ErrorEvent,
    Event,
    ExecutionEvent,
    NoticeLimitError,
    NoticeSession,
    SubscriptionEvent,
)
from tests.notices.conftest import FakeSleep, SessionFactory, add_order, collect, kis_config


def executions(events: list[Event]) -> list[ExecutionEvent]:
    return [e for e in events if isinstance(e, ExecutionEvent)]


def first_subscribed(events: list[Event]) -> bool:
    return any(isinstance(e, SubscriptionEvent) and e.active for e in events)


async def test_layout23_is_recognised(emu: ServedEmulator, make_session: SessionFactory) -> None:
    emu.faults.add("ws", "ws_layout23")
    session = make_session(reconcile=False)
    await session.subscribe_notices()
    state = {"odno": ""}

    def during(ev: Event, seen: list[Event]) -> None:
        if isinstance(ev, SubscriptionEvent) and not state["odno"]:
            state["odno"] = add_order(emu, qty=10, price=71000)
            emu.fill_order(state["odno"], 10, 70500)

    seen = await collect(session, lambda s: len(executions(s)) >= 2, during=during)
    accepted, filled = executions(seen)[:2]
    assert (accepted.layout, accepted.kind, accepted.price) == (23, "accepted", 71000)
    assert (filled.layout, filled.kind, filled.qty, filled.price) == (23, "filled", 10, 70500)
    assert filled.name == "삼성전자"


async def test_invalid_utf8_is_decoded_leniently(
    emu: ServedEmulator, make_session: SessionFactory
) -> None:
    """A text frame with invalid UTF-8 (a name cut mid-character) does not close the session."""
    session = make_session(reconcile=False)
    await session.subscribe_notices()
    state = {"odno": ""}

    def during(ev: Event, seen: list[Event]) -> None:
        if isinstance(ev, SubscriptionEvent) and not state["odno"]:
            emu.faults.add("ws", "ws_bad_utf8", attempts=2)  # the fill notice, not the receipt
            state["odno"] = add_order(emu, qty=10)
            emu.fill_order(state["odno"], 1, 70000)

    seen = await collect(session, lambda s: len(executions(s)) >= 2, during=during)
    filled = executions(seen)[1]
    assert (filled.kind, filled.qty) == ("filled", 1)
    assert filled.name.endswith("\ufffd")
    assert not any(isinstance(e, Disconnected) for e in seen)


async def test_busy_after_reconnect_waits_at_least_20_s_per_attempt(
    emu: ServedEmulator, make_session: SessionFactory, fake_sleep: FakeSleep
) -> None:
    """A storm of OPSP8996 (held for 0.5 s of real time here) ends in one session; every wait
    after OPSP8996 is at least 20 s (the sleeps are injected, so nothing really waits)."""
    emu.faults.add("ws", "ws_drop")
    emu.faults.add("ws", "ws_busy", seconds=0.5)
    session = make_session(reconcile=False)
    await session.subscribe_notices()
    state = {"odno": ""}

    def during(ev: Event, seen: list[Event]) -> None:
        if isinstance(ev, SubscriptionEvent) and not state["odno"]:
            state["odno"] = add_order(emu, qty=10)  # its notice frame is dropped

    def settled(seen: list[Event]) -> bool:
        ok = [e for e in seen if isinstance(e, SubscriptionEvent) and e.active]
        return len(ok) >= 2

    seen = await collect(session, settled, during=during, timeout=20)
    busy = [e for e in seen if isinstance(e, Disconnected) and "OPSP8996" in e.reason]
    assert busy, seen
    assert all(e.retry_in >= 20 for e in busy)
    assert emu.notices.max_concurrent[emu.config.app_key] == 1


async def test_invalid_approval_issues_a_new_key(
    emu: ServedEmulator, make_session: SessionFactory
) -> None:
    session = make_session(reconcile=False)
    await session.subscribe_notices()
    await session.approval.get()
    emu.notices.approvals.clear()  # the emulator forgot the key: OPSP0011
    seen = await collect(session, first_subscribed)
    assert any(isinstance(e, Disconnected) and "OPSP0011" in e.reason for e in seen)
    assert session.approval.issued == 2


async def test_pings_that_stop_make_the_session_reconnect(
    emu: ServedEmulator, make_session: SessionFactory
) -> None:
    emu.faults.add("ws", "ws_no_ping")
    session = make_session(reconcile=False, idle_timeout_s=0.6)
    await session.subscribe_notices()

    def two_sessions(seen: list[Event]) -> bool:
        return sum(1 for e in seen if isinstance(e, SubscriptionEvent)) >= 2

    seen = await collect(session, two_sessions)
    assert any(isinstance(e, Disconnected) and "PINGPONG" in e.reason for e in seen)


async def test_42nd_registration_is_refused_locally(
    emu: ServedEmulator, make_session: SessionFactory
) -> None:
    session = make_session()
    await session.subscribe_notices()
    for i in range(40):
        await session.subscribe("H0STCNT0", f"{i:06d}")
    with pytest.raises(NoticeLimitError, match="41"):
        await session.subscribe("H0STCNT0", "999999")
    assert session.connects == 0 and len(session.subscriptions) == 41


@pytest.mark.kis_emulator(mode="paper")
async def test_paper_mode_uses_h0stcni9(emu: ServedEmulator, make_session: SessionFactory) -> None:
    session = make_session(reconcile=False)
    sub = await session.subscribe_notices()
    assert sub.tr_id == "H0STCNI9"
    with pytest.raises(PaperTradingNotSupportedError):
        await session.subscribe("H0UNCNT0", "005930")  # real only: refused before connecting
    seen = await collect(session, first_subscribed)
    assert any(isinstance(e, SubscriptionEvent) and e.tr_id == "H0STCNI9" for e in seen)


async def test_wrong_hts_id_is_a_clear_event(emu: ServedEmulator, tmp_path: Path) -> None:
    session = NoticeSession(kis_config(emu, tmp_path, hts_id="nobody"), sleep=FakeSleep())
    await session.subscribe_notices()
    seen = await collect(session, lambda s: any(isinstance(e, ErrorEvent) for e in s))
    err = next(e for e in seen if isinstance(e, ErrorEvent))
    assert err.code == "OPSP8992" and err.tr_id == "H0STCNI0"
    assert session.subscriptions == ()  # dropped: retrying cannot fix a wrong HTS ID


def test_notice_without_hts_id_is_refused_before_connecting(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    from stock_manager.notices import NoticeError

    session = NoticeSession(kis_config(emu, tmp_path, hts_id=None))
    with pytest.raises(NoticeError, match="KIS_HTS_ID"):
        session.resolve("H0STCNI0")


async def test_a_60_second_reconnect_storm_ends_with_one_session_and_no_lost_fill(
    emu: ServedEmulator, make_session: SessionFactory
) -> None:
    """OPSP8996 for 60 s after a drop (KIS keeps a dead session's key busy for a while): the
    back-off's sleeps are injected and move the emulator's clock instead of waiting, so the
    whole minute passes in a moment. The storm ends in the key's one session, and the fill made
    while the session was away is delivered once, from REST."""
    slept: list[float] = []

    async def travel(seconds: float) -> None:
        slept.append(seconds)
        emu.clock.advance(seconds)
        await asyncio.sleep(0.01)

    emu.faults.add("ws", "ws_drop")
    emu.faults.add("ws", "ws_busy", seconds=60)
    session = make_session(sleep=travel)
    await session.subscribe_notices()
    state = {"odno": ""}

    def during(ev: Event, seen: list[Event]) -> None:
        if isinstance(ev, SubscriptionEvent) and not state["odno"]:
            state["odno"] = add_order(emu, qty=10)  # its notice frame is dropped
            emu.fill_order(state["odno"], 10, 70000)

    def done(seen: list[Event]) -> bool:
        subscribed = [e for e in seen if isinstance(e, SubscriptionEvent) and e.active]
        return len(subscribed) >= 2 and any(e.kind == "filled" for e in executions(seen))

    seen = await collect(session, done, during=during, timeout=30)
    busy = [e for e in seen if isinstance(e, Disconnected) and "OPSP8996" in e.reason]
    assert len(busy) >= 2, seen  # a storm, not one refusal
    assert all(e.retry_in >= 20 for e in busy)
    assert sum(slept) >= 60
    fills = [e for e in executions(seen) if e.kind == "filled"]
    assert [(f.qty, f.source) for f in fills] == [(10, "rest")]
    assert emu.notices.max_sessions[emu.config.app_key] == 1
