"""The fault matrix: every emulator fault x every reservation operation x sync/async.

One *cell* arms one fault on the endpoint an operation uses, runs the operation through the
real client against the emulator, and checks what the money-safety promise says:

* the documented outcome (success after a safe retry, or ``OrderOutcomeUnknownError`` /
  an unknown bulk item — never a silent resend);
* how many requests reached the emulator's endpoint;
* the emulator's book: no duplicate reservation, no lost change;
* one journal entry per logical order request, each marked as sent;
* reconcile's verdict before the settle window (applied or still unknown, never "not
  applied") and after it (applied or not applied), with the journal's clock moved instead of
  waiting 30 s.

Most cells run in process: the emulator's ASGI app on one event loop in a background thread,
the async client on that loop, the sync client through :class:`SyncASGITransport` into it (so
a late commit scheduled by the emulator really happens later). ``run_cell(..., sockets=True)``
runs the same cell over real sockets against uvicorn with a short read timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISConfig,
    KISRestClient,
    OrderOutcomeUnknownError,
)
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter
from stock_manager.adapters.broker.kis.reservations import AsyncReservations, Reservations
from stock_manager.emulator import Emulator, EmulatorConfig, create_app, run_emulator
from stock_manager.emulator.krx_calendar import start_inside_window
from stock_manager.journal import OrderJournal

T = TypeVar("T")
Op = Literal["place", "list", "modify", "cancel", "bulk_cancel"]
Mode = Literal["sync", "async"]
OPS: tuple[Op, ...] = ("place", "list", "modify", "cancel", "bulk_cancel")
MODES: tuple[Mode, ...] = ("sync", "async")
READ_TIMEOUT = 1.0
SOCKET_READ_TIMEOUT = 0.4
LATE_S = 0.4  # how long after the client gave up a late commit lands
SYMBOL = "005930"
BULK = 3


@dataclass(frozen=True)
class FaultCase:
    """One emulator fault and what it means for an order request."""

    name: str
    kind: str
    options: dict[str, Any]
    #: "retry": refused before processing, the client retries safely and succeeds;
    #: "now": processed before the misbehaviour; "late": processed after the client gave up;
    #: "never": not processed.
    commit: Literal["retry", "now", "late", "never"]
    #: requests one faulted order request makes reach the endpoint
    order_requests: int = 1


def _gateway(code: str) -> list[FaultCase]:
    return [
        FaultCase(code.lower(), "gateway_error", {"code": code}, "never"),
        FaultCase(f"{code.lower()}_commit", "gateway_error", {"code": code, "commit": True}, "now"),
    ]


FAULTS: tuple[FaultCase, ...] = (
    FaultCase("delay_commit", "late_commit", {"seconds": LATE_S}, "late"),
    FaultCase("hang", "hang", {"seconds": 0.2}, "never"),
    FaultCase("reset_before", "reset_before", {}, "never"),
    FaultCase("reset_after", "reset_after", {}, "now"),
    FaultCase("http500_json", "http_error", {"status": 500}, "never"),
    FaultCase("http502_html", "http_error", {"status": 502, "body": "html"}, "never"),
    FaultCase(
        "http500_html_commit", "http_error", {"status": 500, "body": "html", "commit": True}, "now"
    ),
    FaultCase("garbled_200", "garbled", {}, "now"),
    FaultCase("egw00201_burst", "rate_limit", {"times": 3}, "retry", order_requests=4),
    FaultCase("token_expired", "expire_token", {}, "retry", order_requests=2),
    *_gateway("EGW00001"),
    *_gateway("EGW00002"),
    *_gateway("EGW00301"),
    *_gateway("EGW00302"),
)
BY_NAME = {f.name: f for f in FAULTS}


# --- in-process transport -----------------------------------------------------------------------
class Loop:
    """An event loop running in a daemon thread: the emulator's (and the async client's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class SyncASGITransport(httpx.BaseTransport):
    """A blocking transport that hands each request to an ASGI app running on ``loop``.

    httpx ships only an async ASGI transport; the sync client must reach the same app (and
    the same loop, where the emulator schedules late commits).
    """

    def __init__(self, app: Any, loop: Loop) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def go() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            req = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            resp = await self._inner.handle_async_request(req)
            content = await resp.aread()
            return resp.status_code, resp.headers.raw, content

        status, headers, content = self._loop.run(go())
        return httpx.Response(status, headers=headers, content=content, request=request)


class ShiftClock:
    """UTC now plus an offset the cell moves (the journal's clock = the settle window's)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class FakeTime:
    """The client's clock and sleep: back-offs and token waits pass at once."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


# --- the API under test, the same calls for both modes -----------------------------------------
class Api:
    """Reservations or AsyncReservations behind blocking calls."""

    def __init__(self, resv: Reservations | AsyncReservations, loop: Loop | None) -> None:
        self.resv = resv
        self.loop = loop

    def _call(self, value: Any) -> Any:
        if isinstance(value, Awaitable):
            assert self.loop is not None

            async def wait() -> Any:
                return await value

            return self.loop.run(wait())
        return value

    def place(self, qty: int, price: int = 70000) -> Any:
        return self._call(self.resv.place_reservation(SYMBOL, qty, price, side="buy"))

    def list(self) -> list[Any]:
        if isinstance(self.resv, Reservations):
            return list(self.resv.list_reservations(include_cancelled=True))
        resv = self.resv

        async def collect() -> list[Any]:
            return [r async for r in resv.list_reservations(include_cancelled=True)]

        assert self.loop is not None
        return self.loop.run(collect())

    def modify(self, seq: str, price: int) -> Any:
        return self._call(self.resv.modify_reservation(seq, price=price))

    def cancel(self, seq: str) -> Any:
        return self._call(self.resv.cancel_reservation(seq))

    def bulk_cancel(self) -> Any:
        return self._call(self.resv.cancel_reservations(symbol=SYMBOL))

    def reconcile(self, entry_id: int) -> Any:
        return self._call(self.resv.reconcile(entry_id))


@dataclass
class Cell:
    """Everything a cell needs: emulator, journal, clocks and the API."""

    emu: Emulator
    api: Api
    journal: OrderJournal
    shift: ShiftClock
    settle_s: float

    def book(self) -> list[dict[str, Any]]:
        return list(self.emu.state.snapshot()["reservations"])

    def posts(self, name: str) -> int:
        return self.emu.requests.count(name=name)


def _config(emu: Emulator, tmp: Path, base_url: str, read_timeout: float) -> KISConfig:
    return KISConfig(
        kis_app_key=emu.config.app_key,
        kis_app_secret=emu.config.app_secret,
        kis_account_no=emu.config.account,
        base_url=base_url,
        token_cache_dir=tmp / "tokens",
        journal_path=tmp / "unused.sqlite3",
        rate_limit=1000,
        read_timeout=read_timeout,
    )


def _emulator_config() -> EmulatorConfig:
    # No server-side rate limit and no 1/min token rule: the cells are about faults.
    # Clock inside the reservation window (the emulator enforces it, like KIS).
    return EmulatorConfig.demo(
        seed=5, rate_limit_per_s=None, token_issue_interval_s=0, start_at=start_inside_window()
    )


@contextmanager
def make_cell(mode: Mode, tmp: Path, *, sockets: bool = False) -> Iterator[Cell]:
    """A fresh emulator, journal and client for one cell."""
    shift = ShiftClock()
    journal = OrderJournal(tmp / "journal.sqlite3", clock=shift)
    fake = FakeTime()
    limiter = RateLimiter(1e9, margin=0, clock=fake)
    loop = Loop()
    try:
        with _emulator(sockets) as (emu, base_url):
            read_timeout = SOCKET_READ_TIMEOUT if sockets else READ_TIMEOUT
            cfg = _config(emu, tmp, base_url, read_timeout)
            resv: Reservations | AsyncReservations
            if mode == "sync":
                transport = None if sockets else SyncASGITransport(emu.app, loop)
                client: Any = KISRestClient(
                    cfg,
                    transport=transport,
                    clock=fake,
                    sleep=fake.sleep,
                    rng=lambda: 0.5,
                    limiter=limiter,
                    journal=journal,
                )
                resv = Reservations(client, window_policy="ignore", concurrency=1)
            else:
                atransport = None if sockets else httpx.ASGITransport(app=emu.app)
                client = AsyncKISRestClient(
                    cfg,
                    transport=atransport,
                    clock=fake,
                    sleep=fake.async_sleep,
                    rng=lambda: 0.5,
                    limiter=limiter,
                    journal=journal,
                )
                resv = AsyncReservations(client, window_policy="ignore", concurrency=1)
            try:
                yield Cell(emu, Api(resv, loop), journal, shift, resv.settle_s)
            finally:
                if mode == "sync":
                    client.close()
                else:
                    loop.run(client.aclose())
    finally:
        loop.close()
        journal.close()


@contextmanager
def _emulator(sockets: bool) -> Iterator[tuple[Emulator, str]]:
    if sockets:
        with run_emulator(_emulator_config()) as served:
            yield served, served.base_url
    else:
        emu = create_app(_emulator_config())
        try:
            yield emu, "http://emulator.local"
        finally:
            emu.close()


# --- one cell ----------------------------------------------------------------------------------
def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def run_cell(fault: FaultCase, op: Op, mode: Mode, tmp: Path, *, sockets: bool = False) -> None:
    """Run one cell; raises ``AssertionError`` naming what broke."""
    with make_cell(mode, tmp, sockets=sockets) as cell:
        _run(cell, fault, op, sockets)


def _run(cell: Cell, fault: FaultCase, op: Op, sockets: bool) -> None:
    api, emu, journal = cell.api, cell.emu, cell.journal
    # --- set-up (no fault) ------------------------------------------------------------------
    seqs: list[str] = []
    if op != "place":
        seqs = [
            api.place(qty=10 + i).seq for i in range(BULK if op in ("list", "bulk_cancel") else 1)
        ]
    entries_before = len(journal.entries())
    book_before = cell.book()
    target = {"place": "order-resv", "list": "order-resv-ccnl"}.get(op, "order-resv-rvsecncl")
    requests_before = cell.posts(target)
    opts = dict(fault.options)
    if sockets and fault.kind == "late_commit":
        # Over sockets the plain "delay" is the real thing: the client's read timeout fires,
        # the emulator commits when the delay is over.
        emu.faults.add(target, "delay", seconds=SOCKET_READ_TIMEOUT + LATE_S)
    else:
        emu.faults.add(target, fault.kind, **opts)

    # --- the operation ----------------------------------------------------------------------
    outcome: Any = None
    error: BaseException | None = None
    try:
        if op == "place":
            outcome = api.place(qty=7)
        elif op == "list":
            outcome = api.list()
        elif op == "modify":
            outcome = api.modify(seqs[0], price=71000)
        elif op == "cancel":
            outcome = api.cancel(seqs[0])
        else:
            outcome = api.bulk_cancel()
    except OrderOutcomeUnknownError as exc:
        error = exc

    retry = fault.commit == "retry"
    order = op != "list"
    unknown_ids: list[int] = []
    # 1. the documented outcome
    if not order or retry:
        assert error is None, f"expected success after a safe retry, got {error!r}"
        if op == "bulk_cancel":
            assert outcome.succeeded == BULK and outcome.unknown == 0, outcome
    elif op == "bulk_cancel":
        assert error is None
        assert (outcome.succeeded, outcome.unknown, outcome.failed) == (BULK - 1, 1, 0), outcome
        unknown_ids = [i.journal_id for i in outcome.items if i.ok is None]
    else:
        assert isinstance(error, OrderOutcomeUnknownError), f"expected unknown, got {outcome!r}"
        assert error.journal_id is not None
        unknown_ids = [error.journal_id]

    # 1b. reconcile before a late commit landed: still unknown, never "not applied"
    if fault.commit == "late" and order:
        for entry_id in unknown_ids:
            before_commit = api.reconcile(entry_id)
            assert before_commit.applied is not False, before_commit
            if not _applied(cell, op, seqs) - (BULK - 1 if op == "bulk_cancel" else 0):
                # The book only moves forward: not there now, so not there when listed.
                assert before_commit.applied is None, before_commit

    # 2. requests that reached the endpoint (a faulted order is never re-sent)
    # An inquiry is retried after any fault (once here); an order only after a refusal that
    # came before processing (EGW00201, an expired token).
    per_request = fault.order_requests if order or retry else 2
    expected_requests = per_request + (BULK - 1 if op == "bulk_cancel" else 0)
    committed = fault.commit in ("retry", "now", "late")
    expected = (BULK - 1 + int(committed)) if op == "bulk_cancel" else int(committed)
    if fault.commit == "late":
        # The emulator logs a delayed request when it is done with it: wait for that.
        _wait_for(
            lambda: cell.posts(target) - requests_before >= expected_requests,
            "the delayed request",
        )
        if order:
            _wait_for(lambda: _applied(cell, op, seqs) == expected, "the late commit")
    got = cell.posts(target) - requests_before
    assert got == expected_requests, (
        f"{got} requests reached {target}, expected {expected_requests}"
    )

    # 3. the book: wait for a late commit, then no duplicate and no lost change
    book = cell.book()
    if op == "list":
        assert book == book_before, "an inquiry changed the book"
        assert sorted(r.seq for r in outcome) == sorted(seqs)
    else:
        assert _applied(cell, op, seqs) == expected, f"book: {book}"
        same_terms = [r for r in book if r["pdno"] == SYMBOL]
        assert len(same_terms) == len(seqs) + (int(committed) if op == "place" else 0), book

    # 4. one journal entry per logical order request, each recorded as sent
    new = journal.entries()[: len(journal.entries()) - entries_before]
    want = {"place": 1, "list": 0, "modify": 1, "cancel": 1, "bulk_cancel": BULK}[op]
    assert len(new) == want, f"{len(new)} journal entries, expected {want}"
    assert all(e.sent_at is not None for e in new), "an entry was never marked sent"

    # 5. reconcile before and after the settle window
    for entry_id in unknown_ids:
        early = api.reconcile(entry_id)
        assert early.applied is not False, f"'not applied' inside the settle window: {early}"
        if committed:
            assert early.applied is True, early
        else:
            assert early.applied is None and early.retry_at is not None, early
    cell.shift.advance(READ_TIMEOUT + SOCKET_READ_TIMEOUT + cell.settle_s + 1)
    for entry_id in unknown_ids:
        late = api.reconcile(entry_id)
        assert late.applied is committed, f"after the settle window: {late}"
        assert not journal.get(entry_id).needs_reconcile
    # Entries KIS answered are applied, straight from the journal (no guessing, no listing).
    for entry in new:
        if entry.id not in unknown_ids:
            assert api.reconcile(entry.id).applied is True, entry


def _applied(cell: Cell, op: Op, seqs: list[str]) -> int:
    """How many of the operation's changes the emulator's book shows."""
    book = cell.book()
    if op == "place":
        return sum(1 for r in book if r["pdno"] == SYMBOL and r["qty"] == 7)
    if op == "modify":
        return sum(1 for r in book if str(r["seq"]) == seqs[0] and r["unpr"] == 71000)
    if op in ("cancel", "bulk_cancel"):
        return sum(1 for r in book if str(r["seq"]) in seqs and r["status"] == "cancelled")
    return 0


def cell_id(fault: FaultCase, op: Op, mode: Mode) -> str:
    """The pytest id of a cell: ``<fault>-<op>-<mode>``."""
    return f"{fault.name}-{op}-{mode}"
