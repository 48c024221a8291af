"""Reservation lifecycle against the emulator over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISBusinessError,
    KISRestClient,
    KISValidationError,
    OrderOutcomeUnknownError,
)
from stock_manager.adapters.broker.kis.reservations import (
    AsyncReservations,
    BulkCancelItem,
    OrderType,
    ReservationNotFoundError,
    Reservations,
    Side,
)
from stock_manager.emulator.server import ServedEmulator
from stock_manager.journal import Outcome

from .conftest import ShiftClock, evening, make_config


def test_place_then_list_shows_typed_row(resv: Reservations) -> None:
    receipt = resv.place_reservation("005930", qty=10, price=70000, side="buy")
    assert receipt.seq.isdigit()
    assert receipt.msg_cd == "APBK2938"
    assert receipt.warnings == ()
    row = resv.get_reservation(receipt.seq)
    assert row.symbol == "005930"
    assert row.name == "삼성전자"
    assert row.qty == 10
    assert row.price == Decimal(70000)
    assert row.side is Side.BUY
    assert row.order_type == OrderType.LIMIT.value
    assert row.status == "waiting"
    assert row.order_date is not None and row.receipt_date is not None


def test_market_order_is_sent_with_price_zero(resv: Reservations) -> None:
    receipt = resv.place_reservation("000660", qty=3, side="sell", order_type="market")
    row = resv.get_reservation(receipt.seq)
    assert row.price == 0
    assert row.order_type == "01"
    assert row.side is Side.SELL


def test_paging_over_45_reservations(resv: Reservations, count: Callable[..., int]) -> None:
    seqs = [resv.place_reservation("005930", qty=i + 1, price=70000).seq for i in range(45)]
    before = count("order-resv-ccnl")
    rows = list(resv.list_reservations())
    assert [r.seq for r in rows] == sorted(seqs, key=int)
    assert [r.qty for r in rows] == list(range(1, 46))
    assert count("order-resv-ccnl") - before == 3  # 20 + 20 + 5


def test_list_filters(resv: Reservations) -> None:
    a = resv.place_reservation("005930", qty=1, price=70000, side="buy").seq
    b = resv.place_reservation("000660", qty=1, price=100000, side="sell").seq
    resv.cancel_reservation(b)
    assert [r.seq for r in resv.list_reservations(symbol="005930")] == [a]
    assert [r.seq for r in resv.list_reservations(side="sell")] == []
    assert [r.seq for r in resv.list_reservations(side="sell", include_cancelled=True)] == [b]
    assert [r.seq for r in resv.list_reservations(status="pending")] == [a]


def test_modify_price_keeps_every_other_term(
    resv: Reservations, client: KISRestClient, emu: ServedEmulator
) -> None:
    # KIS refuses an end date on a closed day; the emulator's KRX calendar picks an open one.
    end = emu.calendar.open_on_or_after(evening().date() + timedelta(days=10))
    seq = resv.place_reservation(
        "035420", qty=7, price=200000, side="sell", order_type="conditional", end_date=end
    ).seq
    before = resv.get_reservation(seq)
    result = resv.modify_reservation(seq, price=195000)
    assert result.ok and result.msg_cd == "KIOK0430"
    after = resv.get_reservation(seq)
    assert after.price == Decimal(195000)
    unchanged = ("symbol", "qty", "side", "order_type", "end_date", "order_date")
    assert {k: getattr(after, k) for k in unchanged} == {k: getattr(before, k) for k in unchanged}
    # The journal keeps the full modify body that was sent, account masked.
    assert client.journal is not None
    entry = client.journal.get(result.journal_id or 0)
    assert entry.intent == "modify" and entry.outcome is Outcome.OK
    assert entry.request["ORD_QTY"] == "7"
    assert entry.request["RSVN_ORD_END_DT"] == end.strftime("%Y%m%d")
    assert entry.request["CANO"] != client.config.cano


def test_modify_to_market_drops_price(resv: Reservations) -> None:
    seq = resv.place_reservation("005930", qty=2, price=70000).seq
    resv.modify_reservation(seq, order_type="market")
    row = resv.get_reservation(seq)
    assert (row.order_type, row.price, row.qty) == ("01", Decimal(0), 2)


def test_cancel_then_cannot_cancel_or_modify_again(
    resv: Reservations, count: Callable[..., int]
) -> None:
    seq = resv.place_reservation("005930", qty=2, price=70000).seq
    assert resv.cancel_reservation(seq).ok
    assert resv.get_reservation(seq).status == "cancelled"
    posts = count("order-resv-rvsecncl")
    with pytest.raises(KISValidationError, match="cancelled"):
        resv.cancel_reservation(seq)
    with pytest.raises(KISValidationError, match="cancelled"):
        resv.modify_reservation(seq, price=1000)
    assert count("order-resv-rvsecncl") == posts  # refused locally


def test_processed_reservation_cannot_be_changed(resv: Reservations, emu: ServedEmulator) -> None:
    seq = resv.place_reservation("005930", qty=5, price=70000).seq
    emu.process_day({seq: "partial"})
    row = resv.get_reservation(seq)
    assert row.status == "sent"  # a one-day reservation ends when it becomes an order
    assert row.order_no and 0 < row.filled_qty < 5
    with pytest.raises(KISValidationError, match=f"resv cancel-order {seq}"):
        resv.cancel_reservation(seq)


def test_unknown_seq_is_a_clear_error(resv: Reservations, count: Callable[..., int]) -> None:
    with pytest.raises(ReservationNotFoundError, match="99999"):
        resv.cancel_reservation("99999")
    assert count("order-resv-rvsecncl") == 0


def test_emulator_rejects_unknown_seq_on_direct_cancel(resv: Reservations) -> None:
    # Bypass the local look-up (as bulk cancel by seq does): KIS itself refuses.
    result = resv.cancel_reservations(seqs=["424242"])
    (item,) = result.items
    assert item.ok is False and item.msg_cd and result.failed == 1


def test_bulk_cancel_reports_progress_and_isolates_failures(resv: Reservations) -> None:
    mine = [resv.place_reservation("005930", qty=1, price=70000).seq for _ in range(5)]
    other = [resv.place_reservation("000660", qty=1, price=90000).seq for _ in range(3)]
    seen: list[tuple[int, int, BulkCancelItem]] = []
    result = resv.cancel_reservations(
        symbol="005930", progress=lambda d, t, i: seen.append((d, t, i))
    )
    assert result.succeeded == 5 and result.failed == 0
    assert sorted(i.seq for i in result.items) == sorted(mine)
    assert [(d, t) for d, t, _ in seen] == [(n, 5) for n in range(1, 6)]
    assert {r.seq for r in resv.list_reservations()} == set(other)
    # A bad item among good ones fails alone.
    mixed = resv.cancel_reservations(seqs=[other[0], "777777", other[1]])
    assert [i.ok for i in mixed.items] == [True, False, True]


def test_nrml_prcs_yn_n_is_not_success(tmp_path: Path) -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/tokenP":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 86400})
        if request.method == "GET":
            row = {
                "rsvn_ord_seq": "5",
                "pdno": "005930",
                "ord_rsvn_qty": "1",
                "ord_rsvn_unpr": "70000",
                "sll_buy_dvsn_cd": "02",
                "ord_dvsn_cd": "00",
                "prcs_rslt": "미처리",
            }
            return httpx.Response(200, json={"rt_cd": "0", "msg_cd": "KIOK0460", "output": [row]})
        return httpx.Response(
            200, json={"rt_cd": "0", "msg_cd": "KIOK0430", "output": {"NRML_PRCS_YN": "N"}}
        )

    from stock_manager.adapters.broker.kis import KISConfig

    cfg = KISConfig(
        kis_app_key="k" * 10,
        kis_app_secret="s" * 20,
        kis_account_no="12345678-01",
        base_url="http://kis.test",
        token_cache_dir=tmp_path,
        journal=False,
    )
    with (
        KISRestClient(cfg, transport=httpx.MockTransport(handler)) as c,
        pytest.raises(KISBusinessError, match="NRML_PRCS_YN=N"),
    ):
        Reservations(c, clock=evening).cancel_reservation("5")


# --- outcome unknown → reconcile ---------------------------------------------------------------
def test_commit_then_drop_cancel_is_reconciled_not_resent(
    resv: Reservations, emu: ServedEmulator, client: KISRestClient, count: Callable[..., int]
) -> None:
    seq = resv.place_reservation("005930", qty=1, price=70000).seq
    emu.faults.add("order-resv-rvsecncl", "reset_after")
    posts = count("order-resv-rvsecncl")
    with pytest.raises(OrderOutcomeUnknownError) as info:
        resv.cancel_reservation(seq)
    assert count("order-resv-rvsecncl") - posts == 1  # sent once, never resent
    assert info.value.journal_id is not None
    assert client.journal is not None
    assert client.journal.get(info.value.journal_id).outcome is Outcome.UNKNOWN
    result = resv.reconcile(info.value.journal_id)
    assert result.applied is True and result.reservation is not None
    assert result.reservation.cancelled
    assert client.journal.get(info.value.journal_id).outcome is Outcome.RECONCILED_APPLIED
    assert count("order-resv-rvsecncl") - posts == 1


def test_commit_then_drop_place_is_found_by_reconcile(
    resv: Reservations, emu: ServedEmulator, client: KISRestClient, count: Callable[..., int]
) -> None:
    resv.place_reservation("005930", qty=1, price=70000)  # a different, older one
    emu.faults.add("order-resv", "reset_after")
    with pytest.raises(OrderOutcomeUnknownError) as info:
        resv.place_reservation("000660", qty=4, price=123000, side="sell")
    assert count("order-resv") == 2
    result = resv.reconcile(info.value.journal_id or 0)
    assert result.applied is True
    assert result.reservation is not None and result.reservation.qty == 4
    assert client.journal is not None
    assert client.journal.get(info.value.journal_id or 0).outcome is Outcome.RECONCILED_APPLIED


def test_reset_before_commit_reconciles_as_not_applied(
    resv: Reservations, emu: ServedEmulator, shift: ShiftClock
) -> None:
    seq = resv.place_reservation("005930", qty=1, price=70000).seq
    emu.faults.add("order-resv-rvsecncl", "reset_before")
    with pytest.raises(OrderOutcomeUnknownError) as info:
        resv.modify_reservation(seq, price=71000)
    early = resv.reconcile(info.value.journal_id or 0)
    # Too early to say "not applied": KIS could still be working on it.
    assert early.applied is None and early.retry_at is not None
    assert "ask again after" in early.detail
    shift.advance(resv.client.config.read_timeout + resv.settle_s)
    result = resv.reconcile(info.value.journal_id or 0)
    assert result.applied is False
    assert resv.get_reservation(seq).price == Decimal(70000)


def test_commit_then_drop_modify_is_reconciled(resv: Reservations, emu: ServedEmulator) -> None:
    seq = resv.place_reservation("005930", qty=1, price=70000).seq
    emu.faults.add("order-resv-rvsecncl", "garbled")
    with pytest.raises(OrderOutcomeUnknownError):
        resv.modify_reservation(seq, qty=9)
    (result,) = resv.reconcile_pending()
    assert result.intent == "modify" and result.applied is True
    assert resv.reconcile_pending() == []


# --- async -------------------------------------------------------------------------------------
def test_async_lifecycle(emu: ServedEmulator, tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncKISRestClient(make_config(emu, tmp_path)) as client:
            resv = AsyncReservations(client, clock=evening)
            seqs = [(await resv.place_reservation("005930", 1 + i, 70000)).seq for i in range(22)]
            rows = [r async for r in resv.list_reservations()]
            assert [r.seq for r in rows] == seqs
            changed = await resv.modify_reservation(seqs[0], price=69000)
            assert changed.ok
            assert (await resv.get_reservation(seqs[0])).price == Decimal(69000)
            assert (await resv.cancel_reservation(seqs[1])).ok
            done: list[int] = []
            bulk = await resv.cancel_reservations(progress=lambda d, t, i: done.append(d))
            assert bulk.succeeded == 21 and sorted(done) == list(range(1, 22))
            assert [r async for r in resv.list_reservations()] == []

    asyncio.run(main())


def test_async_client_in_process_over_asgi(tmp_path: Path) -> None:
    """No sockets at all: the async client drives the emulator's ASGI app directly."""
    import httpx

    from stock_manager.emulator import EmulatorConfig, create_app
    from stock_manager.emulator.krx_calendar import start_inside_window

    emulator = create_app(
        EmulatorConfig.demo(seed=11, rate_limit_per_s=None, start_at=start_inside_window())
    )

    async def main() -> None:
        from stock_manager.adapters.broker.kis import KISConfig

        cfg = KISConfig(
            kis_app_key=emulator.config.app_key,
            kis_app_secret=emulator.config.app_secret,
            kis_account_no=emulator.config.account,
            base_url="http://emulator.local",
            token_cache_dir=tmp_path / "tokens",
            journal_path=tmp_path / "journal.sqlite3",
        )
        transport = httpx.ASGITransport(app=emulator.app)
        async with AsyncKISRestClient(cfg, transport=transport) as client:
            resv = AsyncReservations(client, clock=evening)
            seq = (await resv.place_reservation("005380", 2, 250000)).seq
            (row,) = [r async for r in resv.list_reservations()]
            assert (row.seq, row.symbol, row.name, row.qty) == (seq, "005380", "현대차", 2)
            assert (await resv.cancel_reservation(seq)).ok

    asyncio.run(main())
    assert emulator.requests.count(name="order-resv") == 1


def test_bulk_cancel_as_the_first_requests_of_a_fresh_client_journals_every_post(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    # Before: the bulk-cancel threads raced the lazy journal opening and ~3 of 4 initial
    # cancels went out with no journal entry (15 of 40 in library runs).
    with KISRestClient(make_config(emu, tmp_path, journal=False)) as setup:
        placer = Reservations(setup, clock=evening)
        seqs = [placer.place_reservation("005930", 1 + i, 70000).seq for i in range(16)]
    with KISRestClient(make_config(emu, tmp_path)) as fresh:
        result = Reservations(fresh, clock=evening, concurrency=8).cancel_reservations(seqs=seqs)
        assert result.succeeded == 16
        assert fresh.journal is not None
        entries = fresh.journal.entries()
    posts = emu.requests.count(name="order-resv-rvsecncl")
    assert posts == 16
    assert len(entries) == posts
    assert sorted(e.reference for e in entries) == sorted(seqs)
    assert all(e.sent_at is not None for e in entries)


def test_async_bulk_cancel_as_first_requests_journals_every_post(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    with KISRestClient(make_config(emu, tmp_path, journal=False)) as setup:
        placer = Reservations(setup, clock=evening)
        seqs = [placer.place_reservation("005930", 1 + i, 70000).seq for i in range(12)]

    async def main() -> int:
        async with AsyncKISRestClient(make_config(emu, tmp_path)) as fresh:
            resv = AsyncReservations(fresh, clock=evening, concurrency=8)
            result = await resv.cancel_reservations(seqs=seqs)
            assert result.succeeded == 12
            assert fresh.journal is not None
            return len(fresh.journal.entries())

    assert asyncio.run(main()) == emu.requests.count(name="order-resv-rvsecncl") == 12
