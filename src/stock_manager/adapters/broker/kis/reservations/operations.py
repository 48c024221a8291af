"""The reservation-order lifecycle, each operation once, as a flow: place, list, modify,
cancel, bulk cancel, reconcile.

Thin flows over the core client: the client owns headers, tokens, retries, the rate limit and
the journal of the requests it sends; the decisions (bodies, windows, verdicts) made by
:class:`~.rules._Rules`. Each operation is a flow of :class:`_ReservationOps` that composes the
client's own flows (``request_flow``, ``pages_flow``); :class:`~.drivers.Reservations`
(blocking) and :class:`~.drivers.AsyncReservations` are that one class driven two ways (see
:mod:`.._surface`), so their surfaces are equal by construction.

Nothing in a flow blocks (``_flow``'s rule): the journal reads and writes of reconcile and
the loading of the calendar (a cache file; KIS's chk-holiday for the blocking client) are
yielded as blocking calls (:class:`~.._flow.Call`), which the async driver runs in a worker
thread.

Money-safety rules that live here:

* every request is validated before the network; paper mode is refused before the network;
* modify re-sends every order term, merged from the *current* reservation, so changing the
  price cannot silently change anything else;
* success of modify/cancel needs ``rt_cd == "0"`` **and** ``NRML_PRCS_YN == "Y"``;
* after :class:`OrderOutcomeUnknownError` nothing is resent: :meth:`Reservations.reconcile`
  lists the reservations and says whether the change took effect.

Reconcile has three answers (``shared/design.md``): **applied** (the book shows the change, and
for a place exactly one matching reservation, received after the send and credited to no other
journal entry); **not applied** (the book does not show it *and* the settle window after the
last send has passed *and* no live process still has it in flight); **still unknown** (anything
else: too early — ``retry_at`` says when to ask again — or two candidates, listed, never
guessed). The settle window is ``read_timeout + settle_s`` after the last send, measured with
the journal's clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Generic, TypeVar

from .. import constants as C
from .._flow import Call, Flow, Gather, GatherInterrupted, collect, relay
from .._surface import Listing, Operation
from ..client import AsyncKISRestClient, KISRestClient
from ..errors import KISBusinessError, KISValidationError
from ..response import KISResponse
from .models import (
    OrderTerms,
    OrderType,
    Reservation,
    Side,
    StatusFilter,
    WindowPolicy,
    strict_date,
)
from .results import (
    BulkCancelItem,
    BulkCancelResult,
    BulkInterrupted,
    ChangeResult,
    PlacePlan,
    Progress,
    ReconcileResult,
    ReservationReceipt,
)
from .rules import (
    PATH_LIST,
    PATH_PLACE,
    PATH_RVSECNCL,
    _changes,
    _place_args,
    _receipt,
    _reconcile_window,
    _Rules,
    _seq,
    _seq_targets,
    _terms_changes,
    _wire,
)
from .schedule import EndDatePolicy, Schedule, as_window_error

__all__: list[str] = []  # the public classes are :mod:`.drivers`'

log = logging.getLogger("stock_manager.kis.reservations")

C_ = TypeVar("C_", KISRestClient, AsyncKISRestClient)


class _ReservationOps(Generic[C_]):
    """Every reservation operation, once, as a flow; :class:`Reservations` and
    :class:`AsyncReservations` only say how the flows are driven (see :mod:`.._surface`)."""

    def __init__(
        self,
        client: C_,
        *,
        window_policy: WindowPolicy = "warn",
        clock: Callable[[], datetime] | None = None,
        concurrency: int = C.BULK_CANCEL_CONCURRENCY,
        settle_s: float = C.RECONCILE_SETTLE_S,
        calendar: Any = None,
        end_date_policy: EndDatePolicy = "snap",
    ) -> None:
        self.client: C_ = client
        self._rules = _Rules(client, window_policy, clock, calendar, end_date_policy)
        #: How many cancels a bulk cancel runs at a time (threads, or tasks when async).
        self.concurrency = concurrency
        #: Seconds after the last send's read timeout before reconcile may say "not applied".
        self.settle_s = settle_s

    # place -------------------------------------------------------------------------------------
    def _place(
        self,
        symbol: str,
        qty: int | str,
        price: Decimal | int | str | None = None,
        side: Side | str = Side.BUY,
        order_type: OrderType | str = OrderType.LIMIT,
        end_date: date | None = None,
        *,
        balance_type: str = "10",
        loan_date: date | None = None,
        days: int | None = None,
        end_date_policy: EndDatePolicy | None = None,
        check: bool = False,
        strict: bool = False,
        label: str = "",
    ) -> Flow[ReservationReceipt]:
        """Place a reservation (CTSC0008U); returns its ``RSVN_ORD_SEQ``.

        The end date is checked against the KRX calendar (``end_date_policy`` snap/refuse;
        ``days`` counts open days instead). ``check`` runs the pre-flight (tick, band,
        sellable, buying power) first; ``strict`` turns its findings into a refusal.
        ``label`` is recorded on the request's journal entry (who asked for it).
        With the async client the calendar is read from the disk cache a blocking client keeps
        (the async client does not call chk-holiday itself), else the bundled table.
        """
        args = (symbol, qty, price, side, order_type, end_date, balance_type, loan_date, days)
        # The calendar's I/O first, in blocking calls: its cache file (no request); then, once
        # the input is known to be good, whatever the calendar that decides still needs (KIS's
        # chk-holiday, when due, for the blocking client).
        yield from self._calendar_ready(self._rules.offline_calendar)
        decides = self._rules.calendar
        if _io_due(decides):
            # Bad input and a closed window are refused before any request.
            self._rules.plan_place_full(*args, end_date_policy, offline=True)
            yield from self._calendar_ready(decides)
        body, warnings, sched, terms = self._rules.plan_place_full(*args, end_date_policy)
        findings: tuple[Any, ...] = ()
        if check or strict:
            report = yield from self._preflight(terms, strict=strict)
            findings = report.findings
            warnings += tuple(str(f) for f in report.problems)
        try:
            resp = yield from self.client.request_flow(
                "POST", PATH_PLACE, body, intent="place", label=label
            )
        except KISBusinessError as exc:
            raise as_window_error(exc) or exc from None
        return _receipt(resp, warnings, sched, findings)

    place_reservation = Operation(_place)

    def _calendar_ready(self, calendar: Any) -> Flow[None]:
        """Do the I/O ``calendar``'s next answers would do (its cache file; KIS when due) in a
        blocking call, which the async driver runs in a worker thread; nothing when none is
        due (a calendar without ``io_due`` does no I/O)."""
        if _io_due(calendar):
            yield Call(calendar.prepare, True)

    def schedule(
        self,
        end_date: date | None = None,
        *,
        days: int | None = None,
        end_date_policy: EndDatePolicy | None = None,
        offline: bool = False,
    ) -> Schedule:
        """Order date and checked end date of a reservation placed now.

        Sends at most the daily chk-holiday request, with the blocking client only (none with
        ``offline``, none with the async client: it reads the calendar's disk cache).
        """
        return self._rules.schedule(end_date, days, end_date_policy, offline=offline)

    def plan_place(self, *args: Any, offline: bool = False, **kwargs: Any) -> PlacePlan:
        """Everything :meth:`place_reservation` would decide, without placing anything.

        Returns the body, warnings, schedule and validated terms (for :meth:`preflight`).
        """
        kwargs.pop("check", None)
        kwargs.pop("strict", None)
        sig = _place_args(*args, **kwargs)
        body, warnings, sched, terms = self._rules.plan_place_full(**sig, offline=offline)
        return PlacePlan(body, warnings, sched, terms)

    def _preflight(
        self, terms: OrderTerms, *, strict: bool = False, exclude_seq: str | None = None
    ) -> Flow[Any]:
        """Run the pre-flight checks of ``terms`` (see :mod:`.preflight`); GETs only."""
        from .preflight import check_flow

        pending = collect(self._list(status="pending"))
        return (yield from check_flow(self.client, terms, strict, exclude_seq, pending))

    preflight = Operation(_preflight)

    def describe_place(self, *args: Any, offline: bool = True, **kwargs: Any) -> dict[str, Any]:
        """The exact request :meth:`place_reservation` would send (masked); places nothing.

        Validated like a place; the entry window is not judged (it decides whether, not what
        is sent): :meth:`plan_place` says whether a place now would be refused. The end date
        is decided by the local calendar (cache/bundled, no request at all); with
        ``offline=False`` by the calendar a place uses (at most the daily chk-holiday GET), so
        a closure only KIS knows moves it exactly as a real place would.
        """
        kwargs.pop("check", None)
        kwargs.pop("strict", None)
        sig = _place_args(*args, **kwargs)
        # Without judging the window: the window decides *whether* a reservation is sent, not
        # *what* is sent, so a dry run shows the request at any hour.
        body, _, _, _ = self._rules.plan_place_full(**sig, offline=offline, judge_window=False)
        return self.client.describe("POST", PATH_PLACE, body)

    # list --------------------------------------------------------------------------------------
    def _list(
        self,
        start: date | None = None,
        end: date | None = None,
        *,
        seq: str | None = None,
        symbol: str | None = None,
        side: Side | str | None = None,
        status: StatusFilter = "all",
        include_cancelled: bool = False,
        max_pages: int | None = None,
    ) -> Flow[None]:
        """Every matching reservation, page after page (CTSC0004R, 20 rows a page)."""
        params = self._rules.list_params(start, end, seq, symbol, side, status, include_cancelled)
        kw: dict[str, Any] = {"max_pages": max_pages} if max_pages else {}
        as_of = self._rules.as_of_once()

        def rows(page: KISResponse) -> Flow[tuple[list[Reservation], bool]]:
            parsed = [Reservation.from_row(raw) for raw in page.rows()]
            if any(r.needs_as_of for r in parsed):
                # Their status needs the calendar (only then is it loaded: start-up, #14).
                yield from self._calendar_ready(self._rules.offline_calendar)
            dated = (r.dated(as_of) for r in parsed)
            return [r for r in dated if self._rules.keep(r, params, status)], False

        yield from relay(self.client.pages_flow("GET", PATH_LIST, params, **kw), rows)

    list_reservations = Listing(Reservation, _list)

    def _get(self, seq: str | int) -> Flow[Reservation]:
        """One reservation by sequence number (cancelled ones included)."""
        s = _seq(seq)
        # The listing stops at the match: no page after it is asked for.
        found = lambda row: row.seq == s  # noqa: E731 - a predicate, named for the line below
        rows = yield from collect(self._list(seq=s, include_cancelled=True), until=found)
        return self._rules.find(rows, s)

    get_reservation = Operation(_get)

    # change ------------------------------------------------------------------------------------
    def _cancel(self, seq: str | int, *, current: Reservation | None = None) -> Flow[ChangeResult]:
        """Cancel a reservation that can still act (CTSC0009U): a waiting one, or an active
        period reservation — then only its later days stop; the order KIS already made of it
        is separate (cancel it with :meth:`ReservationManager.cancel_order`, 주식주문(정정취소)).
        An ended one (``sent``, ``filled``, ``rejected``, ``cancelled``) is refused locally."""
        target = current or (yield from self._get(seq))
        return (yield from self._cancel_known(target))

    cancel_reservation = Operation(_cancel)

    def _cancel_known(self, target: Reservation) -> Flow[ChangeResult]:
        body = self._rules.plan_cancel(target)
        resp = yield from self.client.request_flow(
            "POST", PATH_RVSECNCL, body, action="cancel", intent="cancel"
        )
        return self._rules.interpret_change("cancel", target, body, resp)

    def _modify(
        self,
        seq: str | int,
        *,
        qty: int | str | None = None,
        price: Decimal | int | str | None = None,
        order_type: OrderType | str | None = None,
        end_date: date | None = None,
        balance_type: str | None = None,
        check: bool = False,
        strict: bool = False,
    ) -> Flow[ChangeResult]:
        """Modify a reservation that can still act (CTSC0013U: waiting, or an active period
        reservation, whose later days get the new terms), re-sending every term of the current
        one.

        The changes are validated before the current reservation is even listed.
        ``check``/``strict``: run the pre-flight on the merged terms first (this reservation
        itself is not counted as "other pending").
        """
        changes = _changes(qty, price, order_type, end_date, balance_type)
        self._rules.guard("change")
        new_end = changes.get("end_date") is not None
        if new_end:  # checked with the calendar's cache file (no request)
            yield from self._calendar_ready(self._rules.offline_calendar)
        self._rules.check_changes(changes)
        current = yield from self._get(seq)
        if new_end:
            yield from self._calendar_ready(self._rules.calendar)
        body = self._rules.plan_modify(current, changes)
        warnings: tuple[str, ...] = ()
        if new_end:
            warnings += self._rules.schedule(strict_date(changes["end_date"])).warnings  # type: ignore[arg-type]
        if check or strict:
            terms = current.terms(today=self._rules.today(), **_terms_changes(changes, body))
            report = yield from self._preflight(terms, strict=strict, exclude_seq=current.seq)
            warnings += tuple(str(f) for f in report.problems)
        try:
            resp = yield from self.client.request_flow(
                "POST", PATH_RVSECNCL, body, action="modify", intent="modify"
            )
        except KISBusinessError as exc:
            raise as_window_error(exc) or exc from None
        result = self._rules.interpret_change("modify", current, body, resp)
        return replace(result, warnings=warnings) if warnings else result

    modify_reservation = Operation(_modify)

    def describe_cancel(self, seq: str | int) -> dict[str, Any]:
        """The cancel request for ``seq`` (masked); sends nothing."""
        self._rules.guard("change")
        body = {**self._rules.account(), "RSVN_ORD_SEQ": _seq(seq)}
        return self.client.describe("POST", PATH_RVSECNCL, body, action="cancel")

    def describe_modify(
        self, seq: str | int, *, offline: bool = True, **changes: Any
    ) -> dict[str, Any]:
        """The modify request for ``seq`` (masked); sends nothing.

        The current terms are not fetched (that would be a request): they show as
        ``<current>``; the real call fetches and merges them. A new end date is decided by the
        local calendar (cache/bundled, no request at all); with ``offline=False`` by the
        calendar a modify uses (at most the daily chk-holiday GET), so a closure only KIS knows
        moves it exactly as a real modify would.
        """
        self._rules.guard("change")
        body: dict[str, Any] = {**self._rules.account(), "RSVN_ORD_SEQ": _seq(seq)}
        checked = self._rules.check_changes(changes)  # what the real call would refuse
        end_date = checked.end_date
        if end_date is not None and not offline:
            # As plan_modify does: the date asked for, scheduled by the calendar that decides.
            end_date = self._rules.schedule(strict_date(changes["end_date"])).end_date  # type: ignore[arg-type]
        for key in ("PDNO", "ORD_QTY", "ORD_UNPR", "SLL_BUY_DVSN_CD", "ORD_DVSN_CD"):
            body[key] = "<current>"
        body["ORD_OBJT_CBLC_DVSN_CD"] = "<current>"
        if checked.qty is not None:
            body["ORD_QTY"] = str(checked.qty)
        if checked.price is not None:
            body["ORD_UNPR"] = format(checked.price.quantize(Decimal(1)), "f")
        if checked.order_type is not None:
            body["ORD_DVSN_CD"] = checked.order_type.value
        if end_date is not None:
            body["RSVN_ORD_END_DT"] = _wire("end_date", end_date)
        return self.client.describe("POST", PATH_RVSECNCL, body, action="modify")

    # bulk --------------------------------------------------------------------------------------
    def _cancel_many(
        self,
        *,
        symbol: str | None = None,
        side: Side | str | None = None,
        seqs: Iterable[str | int] | None = None,
        start: date | None = None,
        end: date | None = None,
        progress: Progress | None = None,
    ) -> Flow[BulkCancelResult]:
        """Cancel every reservation that matches and can still act (waiting or active), at the
        full rate limit, ``concurrency`` at a time (threads; tasks when async).

        With ``seqs`` the listed reservations are cancelled without listing first (one request
        each); otherwise the pending reservations matching the filters are listed, then
        cancelled. One failure never stops the rest; see the per-item results.
        """
        self._rules.guard("change")
        if seqs is not None:
            targets = _seq_targets(seqs)
        else:
            listing = self._list(start, end, symbol=symbol, side=side, status="pending")
            targets = yield from collect(listing)
        try:
            items = yield Gather(
                [self._cancel_item(t) for t in targets], self.concurrency, progress
            )
        except GatherInterrupted as stop:
            raise BulkInterrupted(
                BulkCancelResult(tuple(map(self._rules.interrupted_item, targets, stop.values)))
            ) from None
        return BulkCancelResult(tuple(items))

    cancel_reservations = Operation(_cancel_many)

    def _cancel_item(self, target: Reservation) -> Flow[BulkCancelItem]:
        try:
            result = yield from self._cancel_known(target)
        except Exception as exc:  # per-item isolation: one failure must not stop the rest
            return self._rules.bulk_item(target.seq, exc)
        return self._rules.bulk_item(target.seq, None, result)

    # reconcile ---------------------------------------------------------------------------------
    def _reconcile(self, entry_id: int, *, force: bool = False) -> Flow[ReconcileResult]:
        """Find out from the reservation list whether journal entry ``entry_id`` took effect.

        Three answers (see the module docstring): ``applied`` True, False, or None with
        ``retry_at`` saying when to ask again. Marks the entry reconciled in the journal only
        when the answer is final. An entry whose process is still running is in flight, not
        lost: it is not listed unless ``force``, and never judged "not applied".
        """
        # Every journal read and write is I/O (SQLite, up to its busy timeout): blocking calls.
        journal = yield Call(partial(_journal, self.client), True)
        entry = yield Call(partial(journal.get, entry_id), True)
        early, settled, deadline = self._rules.before_listing(
            journal, entry, force=force, settle_s=self.settle_s
        )
        if early:
            return early
        skew_s = self._rules.skew_hint(entry)
        for listing in range(2):  # again once, if the measured skew moves the window
            start, end = _reconcile_window(entry, skew_s)
            mark = self.client.skew.mark()
            rows = yield from collect(self._list(start, end, include_cancelled=True))
            measured = self.client.skew.since(mark)
            if listing or not self._rules.rewindow(entry, skew_s, measured):
                break
            skew_s = measured.high if measured else None
        credited = yield Call(partial(journal.credited, "place", exclude=entry.id), True)
        result = self._rules.judge(
            entry,
            rows,
            credited=credited,
            settled=settled,
            retry_at=deadline,
            skew=measured,
        )
        yield Call(partial(_record, journal, entry, result), True)
        return result

    reconcile = Operation(_reconcile)

    def _reconcile_pending(self) -> Flow[list[ReconcileResult]]:
        """Reconcile every journal entry left pending or unknown (in-flight ones reported)."""
        journal = yield Call(partial(_journal, self.client), True)
        out: list[ReconcileResult] = []
        for e in (yield Call(journal.needs_reconcile, True)):
            out.append((yield from self._reconcile(e.id)))
        return out

    reconcile_pending = Operation(_reconcile_pending)


def _io_due(calendar: Any) -> bool:
    due = getattr(calendar, "io_due", None)
    return bool(due is not None and due())


def _journal(client: KISRestClient | AsyncKISRestClient) -> Any:
    journal = client.journal
    if journal is None:
        raise KISValidationError("the order journal is switched off (KIS_JOURNAL=false)")
    return journal


def _record(journal: Any, entry: Any, result: ReconcileResult) -> None:
    if result.applied is None or not entry.needs_reconcile:
        return
    ref = result.reservation.seq if result.reservation and entry.intent == "place" else None
    try:
        journal.mark_reconciled(entry.id, applied=result.applied, note=result.detail, reference=ref)
    except ValueError:  # completed meanwhile by its own sender: its answer stands
        log.info("journal entry %d was completed while being reconciled", entry.id)
