"""The notice session against the emulator over real sockets."""

from __future__ import annotations

from stock_manager.emulator import ServedEmulator
from stock_manager.masking import mask_hts_id
from stock_manager.notices import (
    Connected,
    Disconnected,
    Event,
    ExecutionEvent,
    Reconciled,
    SubscriptionEvent,
)
from tests.notices.conftest import FakeSleep, SessionFactory, add_order, collect


def fills(events: list[Event]) -> list[ExecutionEvent]:
    return [e for e in events if isinstance(e, ExecutionEvent) and e.kind == "filled"]


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, ExecutionEvent)]


async def test_acceptance_and_fill_arrive_typed(
    emu: ServedEmulator, make_session: SessionFactory
) -> None:
    session = make_session()
    await session.subscribe_notices()
    state = {"odno": ""}

    def during(ev: Event, seen: list[Event]) -> None:
        if isinstance(ev, SubscriptionEvent) and ev.active and not state["odno"]:
            state["odno"] = add_order(emu, qty=10, price=70000)
        if isinstance(ev, ExecutionEvent) and ev.kind == "accepted":
            emu.fill_order(state["odno"], 4, 69900)

    seen = await collect(session, lambda s: bool(fills(s)), during=during)
    sub = next(e for e in seen if isinstance(e, SubscriptionEvent))
    assert (sub.tr_id, sub.tr_key, sub.msg_cd) == ("H0STCNI0", mask_hts_id(emu.hts_id), "OPSP0000")
    accepted = next(e for e in seen if isinstance(e, ExecutionEvent) and e.kind == "accepted")
    assert (accepted.order_no, accepted.symbol, accepted.side) == (state["odno"], "005930", "buy")
    assert (accepted.qty, accepted.price, accepted.layout) == (10, 70000, 26)
    fill = fills(seen)[0]
    assert (fill.order_no, fill.qty, fill.price, fill.source) == (state["odno"], 4, 69900, "ws")
    assert fill.account and emu.config.account not in fill.account  # masked
    assert emu.config.account.replace("-", "") not in str(fill.fields)
    # The HTS login ID is masked as config check masks it (fields and the subscription reply).
    assert emu.hts_id not in str(fill.fields) and emu.hts_id not in str(sub)
    assert fill.name == "삼성전자"
    assert isinstance(seen[0], Connected)
    assert any(isinstance(e, Reconciled) for e in seen)


async def test_process_day_sends_a_multi_record_frame(
    emu: ServedEmulator, make_session: SessionFactory
) -> None:
    """Two orders appearing at once (with their fills) go out as one frame of 4 records."""
    session = make_session()
    await session.subscribe_notices()
    started = {"done": False}

    def during(ev: Event, seen: list[Event]) -> None:
        if isinstance(ev, SubscriptionEvent) and not started["done"]:
            started["done"] = True
            st = emu.state
            with st.lock:
                a = add_order_silently(emu, 5)
                b = add_order_silently(emu, 7)
                for odno, q in ((a, 5), (b, 7)):
                    o = st.orders[odno]
                    o.tot_ccld_qty, o.tot_ccld_amt, o.psbl_qty = q, q * 70000, 0
            emu.notices.sync()

    seen = await collect(session, lambda s: len(fills(s)) == 2, during=during)
    assert kinds(seen) == ["accepted", "filled", "accepted", "filled"]
    assert emu.notices.frames_sent == 1 and emu.notices.notices_sent == 4


def add_order_silently(emu: ServedEmulator, qty: int) -> str:
    from stock_manager.emulator.state import Order

    st = emu.state
    odno = st.next_odno()
    st.save_order(
        Order(
            odno=odno,
            account=emu.config.account,
            pdno="005930",
            qty=qty,
            unpr=70000,
            sll_buy="02",
            ord_dvsn="00",
            ord_tmd="090000",
            psbl_qty=qty,
            ord_dt=emu.clock.now().strftime("%Y%m%d"),
        )
    )
    return odno


async def test_pingpong_is_echoed(emu: ServedEmulator, make_session: SessionFactory) -> None:
    session = make_session(reconcile=False)
    await session.subscribe_notices()
    seen = await collect(session, lambda s: emu.notices.pong_texts >= 2 or len(s) > 50)
    assert emu.notices.pong_texts >= 2
    assert not any(isinstance(e, Disconnected) for e in seen)


async def test_drop_reconnects_resubscribes_and_fills_in_from_rest(
    emu: ServedEmulator, make_session: SessionFactory, fake_sleep: FakeSleep
) -> None:
    """The fill notice is lost with the connection (no close frame); after the reconnect the
    session re-subscribes and REST delivers that fill, once, marked rest. A fill after the
    ledger's in-flight window comes over the WebSocket again."""
    now = [1000.0]
    session = make_session(clock=lambda: now[0])
    await session.subscribe_notices()
    odno = add_order(emu, qty=10)
    state = {"step": 0}

    def during(ev: Event, seen: list[Event]) -> None:
        if isinstance(ev, Reconciled) and state["step"] == 0:
            state["step"] = 1
            emu.faults.add("ws", "ws_drop")
            emu.fill_order(odno, 3, 70000)  # its notice frame is the one dropped
        elif isinstance(ev, Reconciled) and state["step"] == 1:
            state["step"] = 2
            now[0] += session.ledger.window_s  # past the window where REST credit absorbs
            emu.fill_order(odno, 2, 70100)  # after the reconnect: over the WebSocket

    seen = await collect(session, lambda s: sum(f.qty for f in fills(s)) >= 5, during=during)
    got = [(f.qty, f.price, f.source) for f in fills(seen)]
    assert got == [(3, 70000, "rest"), (2, 70100, "ws")]
    assert session.connects == 2
    assert sum(isinstance(e, Disconnected) for e in seen) == 1
    assert len(fake_sleep.delays) == 1
    assert sum(1 for e in seen if isinstance(e, SubscriptionEvent) and e.active) == 2


async def test_fill_right_after_the_reconcile_is_delivered_once(
    emu: ServedEmulator, make_session: SessionFactory
) -> None:
    """Inside the in-flight window a WebSocket fill is set against REST credit; a genuine new
    fill absorbed there is delivered by the confirming reconcile: once, never twice."""
    session = make_session()
    await session.subscribe_notices()
    odno = add_order(emu, qty=10)
    emu.fill_order(odno, 3, 70000)  # before the session: REST delivers it
    state = {"done": False}

    def during(ev: Event, seen: list[Event]) -> None:
        if isinstance(ev, Reconciled) and not state["done"]:
            state["done"] = True
            emu.fill_order(odno, 2, 70100)

    seen = await collect(
        session, lambda s: sum(f.qty for f in fills(s)) >= 5, timeout=15, during=during
    )
    assert sum(f.qty for f in fills(seen)) == 5
    assert fills(seen)[0].source == "rest"
