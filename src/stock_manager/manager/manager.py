"""The reservation manager: morning report, the order a reservation became, plan/apply.

Every decision is a pure function of :mod:`.plan`, :mod:`.report` and :mod:`.orders`; each
operation (report, order-of, plan, apply ...) is written once, as a flow of
:class:`_ManagerOps` that fetches (reservation list, daily orders), sends (through the
journaled client and the reservation API's flows) and records id links.
:class:`ReservationManager` (blocking) and :class:`AsyncReservationManager` are that one class
driven two ways (see :mod:`stock_manager.adapters.broker.kis._surface`).

Money-safety rules that live here:

* a place is linked to its declared id in the link store *before* it is sent; after a crash
  the next run adopts the reservation from the book or, when the book does not show it and the
  process is gone, places it — never both;
* the place's journal entry carries the link (``label``); outcome unknown (timeout after
  sending) leaves the link ``placing``, and the next run decides from the journal: unknown →
  wait (nothing is placed for the id), applied → adopt the reservation reconcile named, not
  applied → place again. Only a link without an entry falls back to the book;
* only one ``apply`` per link store runs at a time (a file lock);
* reservations not linked to a declared id are never touched unless ``prune`` names their
  symbol.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import httpx
from filelock import FileLock, Timeout

from stock_manager.adapters.broker.kis import constants as C
from stock_manager.adapters.broker.kis._flow import Call, Flow, Sleep, collect
from stock_manager.adapters.broker.kis._surface import Awaiting, Blocking, Operation
from stock_manager.adapters.broker.kis.client import AsyncKISRestClient, KISRestClient
from stock_manager.adapters.broker.kis.errors import (
    KISError,
    KISValidationError,
    OrderOutcomeUnknownError,
)
from stock_manager.adapters.broker.kis.reservations import (
    AsyncReservations,
    ReconcileResult,
    Reservation,
    Reservations,
)
from stock_manager.adapters.broker.kis.reservations.models import KST

from .calendar import Calendar, default_calendar
from .links import LinkStore, default_links_path
from .orders import (
    PATH_DAILY_CCLD,
    PATH_ORDER_RVSECNCL,
    DailyOrder,
    OrderFills,
    daily_ccld_params,
    daily_ccld_tr_id,
    fills_of,
    judge_order_change,
    order_change_body,
)
from .plan import (
    JournalPlace,
    Plan,
    PlanItem,
    _alive,
    is_live,
    journal_place,
    link_label,
    make_plan,
    order_day,
    reconcile_links,
)
from .report import Report, build_report, latest_session
from .spec import StandingSpec

__all__ = [
    "ApplyItem",
    "ApplyResult",
    "AsyncReservationManager",
    "ManagerBusyError",
    "OrderChangeResult",
    "OutsideWindowError",
    "ReservationManager",
    "notify",
]

_BOOK_DAYS = timedelta(days=C.RESERVATION_LOOKBACK_DAYS)
#: Journal intents of the 정정/취소 requests for the ordinary order a reservation became.
ORDER_INTENTS = ("order-cancel", "order-modify")
RESERVATION_INTENTS = ("place", "modify", "cancel")
_CTX100 = ("CTX_AREA_FK100", "CTX_AREA_NK100")
NOTIFY_TIMEOUT_S = 10.0
MAX_WAIT_ROUNDS = 4  # --wait re-checks the window this many times at most


class OutsideWindowError(KISValidationError):
    """``apply`` outside the reservation entry window; ``opens_at`` is the next opening."""

    def __init__(self, now: datetime, opens_at: datetime) -> None:
        self.opens_at = opens_at
        super().__init__(
            f"outside the reservation entry window (it is {now.astimezone(KST):%Y-%m-%d %H:%M}"
            f" KST); the next window opens {opens_at.astimezone(KST):%Y-%m-%d %H:%M} KST"
            " — run again then, or pass --wait"
        )


class ManagerBusyError(KISValidationError):
    """Another ``apply`` holds the link store."""


@dataclass(frozen=True)
class OrderChangeResult:
    """A cancel or re-price of the ordinary order a reservation became."""

    seq: str
    action: Literal["cancel", "modify"]
    odno: str  # the order the reservation became
    target_odno: str  # the order the request named (the latest 정정 of it)
    new_odno: str  # the 정정/취소 order KIS created
    qty: int  # the open quantity cancelled / re-priced
    msg_cd: str
    msg1: str
    journal_id: int | None = None
    price: Decimal | None = None
    #: Pre-flight findings on the new price (modify only; the change was still sent).
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyItem:
    """Result of one plan item: ``ok`` None when the outcome is unknown."""

    item: PlanItem
    ok: bool | None
    seq: str = ""
    detail: str = ""
    journal_id: int | None = None


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply`` did."""

    plan: Plan
    items: tuple[ApplyItem, ...]
    reconciled: tuple[str, ...] = ()
    dry_run: bool = False
    described: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def order_requests(self) -> int:
        """Order requests sent (or attempted) by this run."""
        return 0 if self.dry_run else sum(1 for i in self.items if i.item.sends)

    @property
    def failed(self) -> int:
        """Items KIS refused or that could not be sent."""
        return sum(1 for i in self.items if i.ok is False)

    @property
    def unknown(self) -> int:
        """Items whose outcome is unknown (the next run settles them from the book)."""
        return sum(1 for i in self.items if i.ok is None)


# --- the manager's local side ------------------------------------------------------------------
class _LocalSide:
    """Everything a manager operation does between its requests to KIS, written once.

    The decisions (window, plan, report, the verdict on an order change) are pure functions
    of :mod:`.plan`, :mod:`.report` and :mod:`.orders` over the calendar and the clock; the
    records are local files: the id links (:class:`LinkStore`), the order journal's entries
    and the ``apply`` lock. The flows of :class:`_ManagerOps` call it; a method that reads or
    writes the link store or the journal (SQLite, up to its busy timeout) is yielded as a
    blocking ``Call``, so the async manager runs it in a worker thread. The reservation API's
    own rules are :class:`~stock_manager.adapters.broker.kis.reservations.rules._Rules`.
    """

    def __init__(
        self,
        client: KISRestClient | AsyncKISRestClient,
        calendar: Calendar | None,
        clock: Callable[[], datetime] | None,
        links_path: str | Path | None,
    ) -> None:
        self.client = client
        self.calendar = calendar or default_calendar()
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(KST))
        self._links_path = Path(links_path) if links_path else None
        self._links: LinkStore | None = None

    @property
    def links_path(self) -> Path:
        return self._links_path or default_links_path(self.client.config.effective_journal_path)

    @property
    def links(self) -> LinkStore:
        if self._links is None:
            self._links = LinkStore(self.links_path)
        return self._links

    def now(self) -> datetime:
        return self.clock().astimezone(KST)

    @property
    def calendar_source(self) -> str:
        return str(getattr(self.calendar, "source", type(self.calendar).__name__))

    def account(self) -> dict[str, str]:
        cfg = self.client.config
        return {"CANO": cfg.cano, "ACNT_PRDT_CD": cfg.acnt_prdt_cd}

    def book_range(self) -> tuple[date, date]:
        today = self.now().date()
        return today - _BOOK_DAYS, today + _BOOK_DAYS

    def orders_call(self, start: date, end: date, odno: str = "") -> tuple[dict[str, str], str]:
        params = daily_ccld_params(self.account(), start, end, odno=odno)
        tr_id = daily_ccld_tr_id(start, self.now().date(), paper=self.client.is_paper_trading)
        return params, tr_id

    def window(self, wait: bool) -> tuple[float, datetime]:
        """(seconds to sleep before the window opens (0: inside), the opening); raise when
        not waiting."""
        now = self.now()
        inside, opens = self.calendar.window(now)
        if inside:
            return 0.0, opens
        if not wait:
            raise OutsideWindowError(now, opens)
        return max(1.0, (opens - now).total_seconds()), opens

    def skew_s(self) -> float | None:
        """Our clock − KIS's as measured while the book was listed (upper bound; None: none)."""
        latest = self.client.skew.latest
        return latest.high if latest is not None else None

    def reconcile(self, spec: StandingSpec, book: Sequence[Reservation], persist: bool) -> Any:
        n = order_day(self.calendar, self.now())
        links = self.links.links(spec.name)
        updates = reconcile_links(
            links,
            book,
            self.links.all_seqs(),
            n,
            now=self.now(),
            journal=self.journal_places(links),
            skew_s=self.skew_s(),
        )
        if persist:
            for u in updates:
                if u.fields:
                    self.links.update(u.link_id, **u.fields)
            links = self.links.links(spec.name)
        else:
            links = _apply_in_memory(links, updates)
        return links, tuple(u.detail for u in updates if u.detail)

    def plan(
        self, spec: StandingSpec, book: Sequence[Reservation], prune: Iterable[str], persist: bool
    ) -> tuple[Plan, tuple[str, ...]]:
        links, details = self.reconcile(spec, book, persist)
        linked = {link.seq for link in links if link.seq} | self.links.all_seqs()
        plan = make_plan(spec, links, book, linked, self.calendar, self.now(), prune=prune)
        return plan, details

    def journal_places(self, links: Sequence[Any]) -> dict[int, JournalPlace]:
        """What the journal says about the place of each ``placing``/``failed`` link."""
        journal = self.client.journal
        if journal is None:
            return {}
        out: dict[int, JournalPlace] = {}
        for link in links:
            if link.state not in ("placing", "failed"):
                continue
            label = link_label(link.namespace, link.decl_id, link.id)
            record = journal_place(e for e in journal.labelled(label) if e.intent == "place")
            if record is not None:
                out[link.id] = record
        return out

    def place_label(self, ns: str, item: PlanItem, link_id: int) -> str:
        """The journal label of the place made for link ``link_id``."""
        return link_label(ns, item.id, link_id)

    def stale_entries(self) -> list[Any]:
        """Reservation requests of the journal whose outcome is still open."""
        journal = self.client.journal
        if journal is None:
            return []
        return [e for e in journal.needs_reconcile() if e.intent in RESERVATION_INTENTS]

    def order_entries(self) -> list[Any]:
        journal = self.client.journal
        if journal is None:
            raise KISValidationError("the order journal is switched off (KIS_JOURNAL=false)")
        return [e for e in journal.needs_reconcile() if e.intent in ORDER_INTENTS]

    def entry_days(self, entry: Any) -> tuple[date, date]:
        """The days whose orders can show ``entry``: its send day through today (the
        journal's clock and the manager's may differ, e.g. against a time-travelling emulator).
        """
        sent = entry.created_at.astimezone(KST).date()
        today = self.now().date()
        return min(sent, today), max(sent, today)

    def judge(self, entry: Any, orders: list[DailyOrder]) -> ReconcileResult:
        if entry.pid and _alive(entry.pid):
            return ReconcileResult(entry.id, entry.intent, None, "still in flight elsewhere")
        applied, detail = judge_order_change(entry.request, orders)
        journal = self.client.journal
        if applied is False and journal is not None:
            # "Not applied" only once the request can no longer take effect: KIS may still be
            # processing a 정정/취소 that timed out (the same settle window as reconcile's).
            settle = timedelta(seconds=self.client.config.read_timeout + C.RECONCILE_SETTLE_S)
            retry_at = entry.last_sent_at + settle
            if journal.now() < retry_at:
                when = retry_at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S KST")
                return ReconcileResult(
                    entry.id,
                    entry.intent,
                    None,
                    f"{detail}; KIS may still be processing it: ask again after {when}",
                    retry_at=retry_at,
                )
        if applied is not None and journal is not None:
            journal.mark_reconciled(entry.id, applied=applied, note=detail)
        return ReconcileResult(entry.id, entry.intent, applied, detail)

    def report(self, day: date, book: Sequence[Reservation], orders: list[DailyOrder]) -> Report:
        return build_report(
            day,
            self.now(),
            book,
            orders,
            self.calendar,
            account=self.client.config.masked_account,
            calendar_source=self.calendar_source,
        )

    @contextmanager
    def lock(self) -> Any:
        path = str(self.links_path) + ".lock"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise ManagerBusyError(
                f"another apply is running (lock {path}); wait for it to finish"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def place_args(self, item: PlanItem) -> dict[str, Any]:
        return {"symbol": item.symbol, "side": item.side, **self.modify_args(item)}

    def modify_args(self, item: PlanItem) -> dict[str, Any]:
        return {
            "qty": item.qty,
            "price": item.price,
            "order_type": item.order_type,
            "end_date": item.end_date,
            "balance_type": item.balance_type,
        }

    def begin_place(self, ns: str, item: PlanItem) -> int:
        return self.links.begin_place(ns, item.id, item.spec_hash, item.terms(), self.now())

    def placed(
        self, link_id: int, item: PlanItem, seq: str | None, exc: BaseException | None
    ) -> ApplyItem:
        if exc is None:
            self.links.update(link_id, seq=seq or "", state="live")
            return ApplyItem(item, True, seq or "", f"placed as reservation {seq}")
        if isinstance(exc, OrderOutcomeUnknownError):
            # The link stays "placing": the next run adopts the reservation or places it.
            return ApplyItem(item, None, "", f"outcome unknown: {exc}", exc.journal_id)
        self.links.update(link_id, state="failed", note=_short(exc))
        return ApplyItem(item, False, "", _short(exc), getattr(exc, "journal_id", None))

    def changed(self, item: PlanItem, result: Any, exc: BaseException | None) -> ApplyItem:
        if exc is not None:
            ok = None if isinstance(exc, OrderOutcomeUnknownError) else False
            return ApplyItem(item, ok, item.seq, _short(exc), getattr(exc, "journal_id", None))
        if item.link_id:
            if item.action == "cancel":
                self.links.update(item.link_id, state="ended", outcome="cancelled")
            else:
                terms = item.terms()
                if item.end_date is None:
                    terms.pop("end_date")
                self.links.update(item.link_id, spec_hash=item.spec_hash, **terms)
        verb = "cancelled" if item.action == "cancel" else "modified"
        return ApplyItem(item, True, item.seq, f"{verb} reservation {item.seq}", result.journal_id)


def _describe(
    r: Reservations | AsyncReservations, local: _LocalSide, item: PlanItem
) -> dict[str, Any]:
    """The exact request of a plan item (masked); sends nothing."""
    if item.action in ("place", "renew"):
        return r.describe_place(**local.place_args(item))
    if item.action == "cancel":
        return r.describe_cancel(item.seq)
    return r.describe_modify(item.seq, **local.modify_args(item))


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _apply_in_memory(links: Sequence[Any], updates: Sequence[Any]) -> list[Any]:
    import dataclasses

    by_id = {u.link_id: u.fields for u in updates}
    return [dataclasses.replace(link, **by_id.get(link.id, {})) for link in links]


def _change_result(
    seq: str,
    action: Literal["cancel", "modify"],
    fills: OrderFills,
    resp: Any,
    price: Decimal | None,
) -> OrderChangeResult:
    return OrderChangeResult(
        seq=seq,
        action=action,
        odno=fills.odno,
        target_odno=fills.live_odno,
        new_odno=str(resp.first().get("ODNO", "") or ""),
        qty=fills.remaining_qty,
        msg_cd=resp.msg_cd,
        msg1=resp.msg1,
        journal_id=resp.journal_id,
        price=price,
    )


def _never_an_order(r: Reservation) -> str:
    """Why reservation ``r`` has no order to cancel or re-price, and what can still be done."""
    status = r.status
    if status == "rejected":
        on = f" on {r.order_date}" if r.order_date else ""
        reason = r.reject_reason.strip() or "KIS gave no reason"
        return (
            f"reservation {r.seq} was rejected when KIS processed it{on} ({reason}); it never"
            " became an order, so there is nothing to cancel or re-price"
        )
    if status == "cancelled":
        on = f" on {r.cancel_date}" if r.cancel_date else ""
        return f"reservation {r.seq} was cancelled{on} before it became an order; nothing is open"
    if status == "waiting":
        on = f" on {r.order_date}" if r.order_date else " on its order date"
        return (
            f"reservation {r.seq} has not been sent yet (it becomes an order{on});"
            f" to stop it, cancel the reservation: stock-manager resv cancel {r.seq}"
        )
    return f"reservation {r.seq} has not become an order (status {status})"


def _order_of(r: Reservation, orders: list[DailyOrder], day: date) -> OrderFills:
    if not r.order_no:
        raise KISValidationError(_never_an_order(r))
    fills = fills_of(r.order_no, orders)
    if not fills.found:
        raise KISValidationError(
            f"order {r.order_no} of reservation {r.seq} is not among the orders of {day}"
            " (orders only live for their session)"
        )
    return fills


def notify(url: str, report: Report, *, timeout: float = NOTIFY_TIMEOUT_S) -> str | None:
    """POST the report's JSON (with ``text``) to a webhook; the error text, or None if sent.

    The payload is :meth:`Report.to_dict`: no secrets, the account number masked.
    """
    try:
        resp = httpx.post(url, json=report.to_dict(), timeout=timeout)
    except httpx.HTTPError as exc:
        return f"notify failed: {type(exc).__name__}: {exc}"
    if resp.status_code >= 300:
        return f"notify failed: HTTP {resp.status_code}"
    return None


# --- the operations, written once --------------------------------------------------------------
C_ = TypeVar("C_", KISRestClient, AsyncKISRestClient)
R_ = TypeVar("R_", Reservations, AsyncReservations)


class _ManagerOps(Generic[C_, R_]):
    """Every manager operation, once, as a flow; :class:`ReservationManager` and
    :class:`AsyncReservationManager` only say how the flows are driven (see
    :mod:`stock_manager.adapters.broker.kis._surface`).

    ``calendar`` defaults to :func:`default_calendar`; ``clock`` (aware datetimes) and
    ``sleep`` (the window wait of ``apply --wait``; default :func:`time.sleep`, or
    :func:`asyncio.sleep` when async) are injectable; the id links live in ``links_path``
    (default: beside the journal).
    """

    def __init__(
        self,
        client: C_,
        *,
        calendar: Calendar | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Any] | None = None,
        links_path: str | Path | None = None,
    ) -> None:
        self.client: C_ = client
        self._local = _LocalSide(client, calendar, clock, links_path)
        self.calendar = self._local.calendar
        blocking = isinstance(self, Blocking)
        if sleep is None and not blocking:
            import asyncio  # here: only the async manager needs it (start-up, issue #14)

            sleep = asyncio.sleep
        self._sleep: Callable[[float], Any] = sleep or _time.sleep
        # The manager checks the window itself (with the calendar); the library must not warn.
        kind: Any = Reservations if blocking else AsyncReservations
        self.reservations: R_ = kind(client, window_policy="ignore", clock=self._local.clock)

    def close(self) -> None:
        """Close the link store (the client belongs to the caller)."""
        if self._local._links is not None:
            self._local._links.close()

    # reads ---------------------------------------------------------------------------------
    def _book(self) -> Flow[list[Reservation]]:
        """Every reservation of the last and next 40 days, cancelled ones included."""
        start, end = self._local.book_range()
        return (yield from collect(self.reservations._list(start, end, include_cancelled=True)))

    book = Operation(_book)

    def _daily_orders(self, start: date, end: date | None = None) -> Flow[list[DailyOrder]]:
        """Every ordinary order (and 정정/취소) of ``start``..``end`` with its fills."""
        params, tr_id = self._local.orders_call(start, end or start)
        pages = self.client.pages_flow(
            "GET", PATH_DAILY_CCLD, params, ctx_keys=_CTX100, tr_id=tr_id
        )
        replies = yield from collect(pages)
        return [DailyOrder.from_row(r) for page in replies for r in page.rows("output1")]

    daily_orders = Operation(_daily_orders)

    def _report(self, day: date | None = None) -> Flow[Report]:
        """The report of session ``day`` (default: the latest session)."""
        d = day or latest_session(self.calendar, self._local.now())
        book = yield from self._book()
        orders = yield from self._daily_orders(d)
        return self._local.report(d, book, orders)

    report = Operation(_report)

    # the order a reservation became --------------------------------------------------------
    def _order_of(self, seq: str | int) -> Flow[tuple[Reservation, OrderFills]]:
        """Reservation ``seq`` and the fills of today's order it became."""
        r = yield from self.reservations._get(seq)
        today = self._local.now().date()
        orders = yield from self._daily_orders(today)
        return r, _order_of(r, orders, today)

    order_of = Operation(_order_of)

    def _cancel_order(self, seq: str | int) -> Flow[OrderChangeResult]:
        """Cancel the open remainder of today's order from reservation ``seq`` (TTTC0013U)."""
        r, fills = yield from self._order_of(seq)
        body = order_change_body(self._local.account(), fills, "cancel")
        resp = yield from self.client.request_flow(
            "POST", PATH_ORDER_RVSECNCL, body, intent="order-cancel"
        )
        return _change_result(r.seq, "cancel", fills, resp, None)

    cancel_order = Operation(_cancel_order)

    def _modify_order(
        self,
        seq: str | int,
        price: Decimal | int | str,
        *,
        check: bool = True,
        strict: bool = False,
    ) -> Flow[OrderChangeResult]:
        """Re-price the open remainder of today's order from reservation ``seq``.

        ``check`` (default) runs the tick and band pre-flight of ``place`` on the new price
        first (one quote GET, ``reservations.preflight.price_flow``): its findings come back
        as ``warnings``, or, with ``strict``, refuse
        (:class:`PreflightRefusedError`) before anything is sent.
        """
        p = Decimal(str(price))
        r, fills = yield from self._order_of(seq)
        body = order_change_body(self._local.account(), fills, "modify", p)
        warnings: tuple[str, ...] = ()
        if check:
            from stock_manager.adapters.broker.kis.reservations.models import OrderTerms
            from stock_manager.adapters.broker.kis.reservations.preflight import price_flow

            terms = OrderTerms.build(
                f"new price of order {fills.live_odno}",
                symbol=r.symbol,
                qty=max(fills.remaining_qty, 1),
                price=p,
                side=r.side,
                order_type="limit",  # a re-priced order is a limit order (order_change_body)
            )
            report = yield from price_flow(self.client, terms, strict)
            warnings = tuple(str(f) for f in report.problems)
        resp = yield from self.client.request_flow(
            "POST", PATH_ORDER_RVSECNCL, body, intent="order-modify"
        )
        return replace(_change_result(r.seq, "modify", fills, resp, p), warnings=warnings)

    modify_order = Operation(_modify_order)

    def _reconcile_orders(self) -> Flow[list[ReconcileResult]]:
        """Settle journaled order 정정/취소 requests whose outcome is unknown, from the
        orders of the day they were sent (marks the journal when the answer is certain)."""
        out = []
        for entry in (yield Call(self._local.order_entries, True)):
            orders = yield from self._daily_orders(*self._local.entry_days(entry))
            out.append((yield Call(partial(self._local.judge, entry, orders), True)))
        return out

    reconcile_orders = Operation(_reconcile_orders)

    # plan / apply --------------------------------------------------------------------------
    def _plan(self, spec: StandingSpec, *, prune: Iterable[str] = ()) -> Flow[Plan]:
        """What :meth:`apply` would do now (sends only reads; writes nothing)."""
        book = yield from self._book()
        plan: Plan
        plan, _ = yield Call(partial(self._local.plan, spec, book, prune, persist=False), True)
        return plan

    plan = Operation(_plan)

    def _apply(
        self,
        spec: StandingSpec,
        *,
        prune: Iterable[str] = (),
        wait: bool = False,
        dry_run: bool = False,
        progress: Callable[[ApplyItem], None] | None = None,
        on_wait: Callable[[datetime], None] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
    ) -> Flow[ApplyResult]:
        """Converge the book to ``spec`` through the journal (see the module docstring);
        items run one after another.

        ``progress`` is called with each item's result as it is done; ``on_wait`` with the
        opening of the entry window before each sleep of ``wait`` (so a caller can say what
        it waits for, and until when); ``on_plan`` with the plan before its first change is
        made (so an interrupted caller can name the changes not made).
        """
        if not dry_run:
            for _ in range(MAX_WAIT_ROUNDS):
                pause, opens = self._local.window(wait)
                if not pause:
                    break
                if on_wait:
                    on_wait(opens)
                yield Sleep(pause, self._sleep)
            else:
                self._local.window(False)
        with self._local.lock():
            settled = () if dry_run else (yield from self._settle_journal())
            book = yield from self._book()
            planned = partial(self._local.plan, spec, book, prune, persist=not dry_run)
            plan, details = yield Call(planned, True)
            details = settled + details
            if dry_run:
                described = tuple(
                    _describe(self.reservations, self._local, i) for i in plan.changes
                )
                return ApplyResult(plan, (), details, True, described)
            if on_plan:
                on_plan(plan)
            rows = {r.seq: r for r in book}
            results: list[ApplyItem] = []
            for item in plan.changes:
                result = yield from self._execute(spec.name, item, rows)
                results.append(result)
                if progress:
                    progress(result)
            return ApplyResult(plan, tuple(results), details)

    apply = Operation(_apply)

    def _settle_journal(self) -> Flow[tuple[str, ...]]:
        """Reconcile reservation requests an earlier run left pending/unknown (reads only)."""
        out: list[str] = []
        for entry in (yield Call(self._local.stale_entries, True)):
            try:
                result = yield from self.reservations._reconcile(entry.id)
            except KISError as exc:
                out.append(f"journal #{entry.id} ({entry.intent}): not reconciled: {exc}")
                continue
            out.append(f"journal #{entry.id} ({entry.intent}): {result.detail}")
        return tuple(out)

    def _execute(self, ns: str, item: PlanItem, rows: dict[str, Reservation]) -> Flow[ApplyItem]:
        r = self.reservations
        if item.action in ("place", "renew"):
            link_id = yield Call(partial(self._local.begin_place, ns, item), True)
            try:
                receipt = yield from r._place(
                    **self._local.place_args(item), label=self._local.place_label(ns, item, link_id)
                )
            except KISError as exc:
                failed: ApplyItem = yield Call(
                    partial(self._local.placed, link_id, item, None, exc), True
                )
                return failed
            done = yield Call(partial(self._local.placed, link_id, item, receipt.seq, None), True)
            return ApplyItem(item, True, receipt.seq, done.detail, receipt.journal_id)
        try:
            if item.action == "cancel":
                result: Any = yield from r._cancel(item.seq, current=rows.get(item.seq))
            else:
                result = yield from r._modify(item.seq, **self._local.modify_args(item))
        except KISError as exc:
            refused: ApplyItem = yield Call(partial(self._local.changed, item, None, exc), True)
            return refused
        changed: ApplyItem = yield Call(partial(self._local.changed, item, result, None), True)
        return changed


class ReservationManager(_ManagerOps[KISRestClient, Reservations], Blocking):
    """Report, order-of-reservation and plan/apply over a :class:`KISRestClient`.

    ``calendar`` defaults to :func:`default_calendar`; ``clock`` (aware datetimes) and
    ``sleep`` are injectable; the id links live in ``links_path`` (default: beside the
    journal).
    """


class AsyncReservationManager(_ManagerOps[AsyncKISRestClient, AsyncReservations], Awaiting):
    """:class:`ReservationManager` over :class:`AsyncKISRestClient`: the same methods, each a
    coroutine."""


def live_rows(book: Iterable[Reservation], next_day: date) -> list[Reservation]:
    """The reservations KIS will still send (helper for displays)."""
    return [r for r in book if is_live(r, next_day)]
