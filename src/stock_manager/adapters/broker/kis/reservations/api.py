"""The reservation-order lifecycle: place, list, modify, cancel, bulk cancel, reconcile.

Thin functions over the core client: this module builds bodies and interprets results; the
client owns headers, tokens, retries, the rate limit and the journal. Each operation is
written once, as a flow of :class:`_ReservationOps` that composes the client's own flows
(``request_flow``, ``pages_flow``); :class:`Reservations` (blocking) and
:class:`AsyncReservations` are that one class driven two ways (see :mod:`.._surface`), so their
surfaces are equal by construction. The pure steps (bodies, verdicts) live in :class:`_Plans`.

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
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from .. import constants as C
from .._flow import NOT_STARTED, Flow, Gather, GatherInterrupted, collect, relay
from .._surface import Awaiting, Blocking, Listing, Operation
from ..client import AsyncKISRestClient, KISRestClient
from ..errors import (
    KISBusinessError,
    KISError,
    KISValidationError,
    OrderOutcomeUnknownError,
    OutsideReservationWindowError,
    PaperTradingNotSupportedError,
)
from ..masking import mask_body
from ..response import KISResponse
from ..skew import SkewSample
from ..tr_ids import CATALOG
from .models import (
    KST,
    STATUS_FILTERS,
    OrderChanges,
    OrderTerms,
    OrderType,
    Reservation,
    Side,
    StatusFilter,
    WindowPolicy,
    parse_side,
    strict_date,
)
from .schedule import EndDatePolicy, Schedule, as_window_error, plan_schedule

__all__ = [
    "PATH_LIST",
    "PATH_PLACE",
    "PATH_RVSECNCL",
    "AsyncReservations",
    "BulkCancelItem",
    "BulkCancelResult",
    "BulkInterrupted",
    "ChangeResult",
    "PlacePlan",
    "ReconcileResult",
    "ReservationNotFoundError",
    "ReservationReceipt",
    "Reservations",
    "Verdict",
]

log = logging.getLogger("stock_manager.kis.reservations")

_API_ID = {"place": "v1_국내주식-017", "change": "v1_국내주식-018,019", "list": "v1_국내주식-020"}
# Paths, TR_IDs and field rules come from the API catalog (generated from the KIS spec).
PATH_PLACE = CATALOG[_API_ID["place"]].path
PATH_RVSECNCL = CATALOG[_API_ID["change"]].path
PATH_LIST = CATALOG[_API_ID["list"]].path
_LOOKBACK = timedelta(days=C.RESERVATION_LOOKBACK_DAYS)
_LOOKAHEAD = timedelta(days=C.RESERVATION_LOOKAHEAD_DAYS)
_CLOCK_SLACK = timedelta(seconds=C.RECONCILE_CLOCK_SLACK_S)
Verdict = Literal["applied", "not_applied", "unknown"]


class BulkInterrupted(KeyboardInterrupt):
    """Ctrl-C during :meth:`Reservations.cancel_reservations`: ``result`` has every target's
    true outcome — cancelled, failed, unknown (reconcile it) or not started (nothing sent).

    The async API's task, cancelled midway (``task.cancel()``, ``asyncio.timeout``), ends
    with ``CancelledError`` (or the timeout's ``TimeoutError``) as asyncio requires; this
    exception, with the same result, is on its cause chain: :meth:`of` finds it.
    """

    def __init__(self, result: BulkCancelResult) -> None:
        super().__init__("bulk cancel interrupted")
        self.result = result

    @classmethod
    def of(cls, exc: BaseException) -> BulkInterrupted | None:
        """``exc`` itself or the one on its ``__cause__``/``__context__`` chain (None: none)."""
        seen: set[int] = set()
        found: BaseException | None = exc
        while found is not None and id(found) not in seen:
            if isinstance(found, cls):
                return found
            seen.add(id(found))
            found = found.__cause__ or found.__context__
        return None


class ReservationNotFoundError(KISValidationError):
    """No reservation with that sequence number exists in the account (nothing was sent)."""


@dataclass(frozen=True)
class ReservationReceipt:
    """Result of placing a reservation."""

    seq: str
    msg_cd: str
    msg1: str
    journal_id: int | None = None
    warnings: tuple[str, ...] = ()
    #: The open day the reservation is first sent on, and its end date (None: one-day).
    order_date: date | None = None
    end_date: date | None = None
    #: The schedule in words: "one-day reservation (일반예약): sent on ... only", ...
    schedule: str = ""
    #: Pre-flight findings (see :mod:`.preflight`), when the check ran.
    findings: tuple[Any, ...] = ()


@dataclass(frozen=True)
class PlacePlan:
    """What placing a reservation would send and when (see :meth:`Reservations.plan_place`)."""

    body: dict[str, str]
    warnings: tuple[str, ...]
    schedule: Schedule
    terms: OrderTerms


@dataclass(frozen=True)
class ChangeResult:
    """Result of a modify or cancel that KIS accepted and processed (``NRML_PRCS_YN=Y``)."""

    seq: str
    action: Literal["modify", "cancel"]
    ok: bool
    msg_cd: str
    msg1: str
    journal_id: int | None = None
    before: Reservation | None = None
    #: The body that was sent, account number masked.
    sent: dict[str, str] = field(default_factory=dict)
    #: Warnings (end date snapped, pre-flight findings) of a modify.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class BulkCancelItem:
    """Outcome of one cancel in a bulk cancel: ``ok`` is None when the outcome is unknown."""

    seq: str
    ok: bool | None
    msg_cd: str = ""
    msg1: str = ""
    error: str = ""
    journal_id: int | None = None
    #: False: interrupted before its request was made (nothing was sent for it).
    started: bool = True


@dataclass(frozen=True)
class BulkCancelResult:
    """Per-item results of :meth:`Reservations.cancel_reservations`."""

    items: tuple[BulkCancelItem, ...]

    @property
    def not_started(self) -> int:
        """How many were never sent (the run was interrupted first)."""
        return sum(1 for i in self.items if not i.started)

    @property
    def succeeded(self) -> int:
        """How many were cancelled."""
        return sum(1 for i in self.items if i.ok)

    @property
    def failed(self) -> int:
        """How many KIS refused or could not be sent."""
        return sum(1 for i in self.items if i.ok is False and i.started)

    @property
    def unknown(self) -> int:
        """How many may or may not have been cancelled (reconcile them)."""
        return sum(1 for i in self.items if i.ok is None)


@dataclass(frozen=True)
class ReconcileResult:
    """Whether a journaled change took effect: ``applied`` None when it cannot be told yet.

    ``retry_at`` (with ``applied`` None) is when asking again can give a verdict: the end of
    the settle window, or soon for an entry still in flight. It is ``None`` when waiting alone
    will not help (two candidate reservations, listed in ``candidates``; the reservation is
    gone from the list) — look at the reservations yourself.
    """

    entry_id: int
    intent: str
    applied: bool | None
    detail: str
    reservation: Reservation | None = None
    retry_at: datetime | None = None
    candidates: tuple[str, ...] = ()
    #: This machine's clock minus KIS's, measured from the listing's ``Date`` (None: no Date).
    clock_skew_s: float | None = None

    @property
    def verdict(self) -> Verdict:
        """``applied``, ``not_applied`` or ``unknown``."""
        if self.applied is None:
            return "unknown"
        return "applied" if self.applied else "not_applied"


Progress = Callable[[int, int, BulkCancelItem], None]


# --- pure steps shared by the sync and async APIs ---------------------------------------------
class _Plans:
    def __init__(
        self,
        client: KISRestClient | AsyncKISRestClient,
        window_policy: WindowPolicy,
        clock: Any,
        calendar: Any = None,
        end_date_policy: EndDatePolicy = "snap",
    ) -> None:
        self.client = client
        self.window_policy = window_policy
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(KST))
        self._calendar = calendar
        self._offline: Any = None
        self.end_date_policy: EndDatePolicy = end_date_policy

    @property
    def calendar(self) -> Any:
        """The KRX calendar deciding windows and dates (KIS + cache in real mode, built lazily)."""
        if self._calendar is None:
            from stock_manager.calendar import calendar_for

            if isinstance(self.client, KISRestClient):
                self._calendar = calendar_for(self.client, clock=self.clock)
            else:
                # The async client cannot be driven from here: read what sync processes cached.
                self._calendar = self.offline_calendar
        return self._calendar

    @property
    def offline_calendar(self) -> Any:
        """The same calendar without requests: the disk cache of KIS's answers, then bundled.

        Local decisions are made with it first, so a refusal (bad end date, closed window)
        and a dry run send nothing at all; the KIS-refreshed calendar decides before sending.
        """
        if self._offline is None:
            if self._calendar is not None and getattr(self._calendar, "_fetch", None) is None:
                self._offline = self._calendar
            else:
                from stock_manager.calendar import KRXCalendar, cache_path_for

                cfg = self.client.config
                path = (
                    None
                    if cfg.is_paper
                    else cache_path_for(cfg.token_cache_dir, self.client.base_url)
                )
                self._offline = KRXCalendar(cache_path=path, clock=self.clock)
        return self._offline

    def schedule(
        self,
        end_date: date | None,
        days: int | None = None,
        policy: EndDatePolicy | None = None,
        *,
        offline: bool = False,
    ) -> Schedule:
        """Order date and checked end date of a reservation entered now."""
        return plan_schedule(
            self.offline_calendar if offline else self.calendar,
            self.clock(),
            end_date=end_date,
            days=days,
            policy=policy or self.end_date_policy,
        )

    def guard(self, api: str) -> None:
        """Refuse real-only APIs in paper mode before anything else happens."""
        if self.client.is_paper_trading and not CATALOG[_API_ID[api]].paper_supported:
            raise PaperTradingNotSupportedError(
                f"reservation orders are real-trading only (KIS: 모의투자 미지원, {_API_ID[api]});"
                " try them safely against the local emulator: stock-manager emulator serve"
            )

    def account(self) -> dict[str, str]:
        cfg = self.client.config
        return {"CANO": cfg.cano, "ACNT_PRDT_CD": cfg.acnt_prdt_cd}

    def today(self) -> date:
        return self.clock().astimezone(KST).date()

    def window(self, *, offline: bool = False) -> tuple[str, ...]:
        """Warnings about the entry window now; raises when the policy (or KIS) refuses.

        The 23:40-00:10 blackout is refused under ``warn`` too: KIS refuses every reservation
        then (KIER3672), so sending would only fail. Outside the window on an open day, ``warn``
        sends with a warning. ``ignore`` checks nothing (emulators run with ``--no-window``).
        """
        if self.window_policy == "ignore":
            return ()
        w = (self.offline_calendar if offline else self.calendar).window(self.clock())
        if w.inside:
            return ()
        if w.inside is None:
            return (f"cannot check the reservation window: {w.reason}",)
        if self.window_policy == "refuse" or w.blackout:
            raise OutsideReservationWindowError(
                f"outside the reservation window: {w.reason}",
                window=w.reason,
                opens_at=w.opens_at.isoformat() if w.opens_at else "",
            )
        log.warning("outside the reservation window: %s", w.reason)
        return (f"outside the reservation window: {w.reason}",)

    def plan_place_full(
        self,
        symbol: str,
        qty: int | str,
        price: Decimal | int | str | None,
        side: Side | str,
        order_type: OrderType | str,
        end_date: date | None,
        balance_type: str,
        loan_date: date | None,
        days: int | None = None,
        end_date_policy: EndDatePolicy | None = None,
        *,
        offline: bool = False,
        judge_window: bool = True,
    ) -> tuple[dict[str, str], tuple[str, ...], Schedule, OrderTerms]:
        self.guard("place")
        account = self.account()
        values: dict[str, Any] = {
            "symbol": symbol,
            "qty": qty,
            "price": price if price is not None else Decimal(0),
            "side": side,
            "order_type": order_type,
            "balance_type": balance_type,
            "loan_date": loan_date,
            "today": self.today(),
        }
        # Terms first (bad input is reported before date questions), then the schedule.
        # Every field's type and rule first (the 30-day bound is the calendar's, below).
        end_date = OrderTerms.build(
            "reservation order", **values, end_date=end_date, max_end_date=date.max
        ).end_date
        # Decide with what is known locally first (no request), then with KIS's calendar.
        sched = self.schedule(end_date, days, end_date_policy, offline=True)
        warnings = self.window(offline=True) if judge_window else ()
        if not offline:
            sched = self.schedule(end_date, days, end_date_policy)
            warnings = self.window() if judge_window else ()
        terms = OrderTerms.build(
            "reservation order",
            **values,
            end_date=sched.end_date,
            max_end_date=sched.max_end_date,
        )
        return {**account, **terms.body()}, sched.warnings + warnings, sched, terms

    def list_params(
        self,
        start: date | None,
        end: date | None,
        seq: str | None,
        symbol: str | None,
        side: Side | str | None,
        status: StatusFilter,
        include_cancelled: bool,
    ) -> dict[str, str]:
        self.guard("list")
        today = self.today()
        start = start or today - _LOOKBACK
        end = end or today + _LOOKAHEAD
        if start > end:
            raise KISValidationError(f"start {start} is after end {end}")
        if status not in STATUS_FILTERS:
            raise KISValidationError(
                f"status must be one of {', '.join(STATUS_FILTERS)}, not {status!r}"
            )
        # The spec marks every key required: send them all, blanks included (spec §5).
        return {
            "RSVN_ORD_ORD_DT": start.strftime("%Y%m%d"),
            "RSVN_ORD_END_DT": end.strftime("%Y%m%d"),
            "RSVN_ORD_SEQ": _seq(seq) if seq else "",
            "TMNL_MDIA_KIND_CD": "00",
            **self.account(),
            # Only "waiting" is surely KIS's "unprocessed" (2): whether KIS files a period
            # reservation it already sent (still active) under 1 or 2 is not documented, so
            # every other filter asks for all (0) and is decided locally (see ``keep``).
            "PRCS_DVSN_CD": "2" if status == "waiting" else "0",
            "CNCL_YN": "N" if include_cancelled else "Y",
            "PDNO": symbol.strip().upper() if symbol else "",
            "SLL_BUY_DVSN_CD": parse_side(side).value if side else "",
            "CTX_AREA_FK200": "",
            "CTX_AREA_NK200": "",
        }

    @staticmethod
    def keep(
        row: Reservation,
        params: Mapping[str, str],
        status: StatusFilter,
    ) -> bool:
        """Filter again locally: whether KIS honours each filter is not documented."""
        if params["RSVN_ORD_SEQ"] and row.seq != params["RSVN_ORD_SEQ"]:
            return False
        if params["PDNO"] and row.symbol != params["PDNO"]:
            return False
        if params["SLL_BUY_DVSN_CD"] and row.side and row.side.value != params["SLL_BUY_DVSN_CD"]:
            return False
        if params["CNCL_YN"] == "Y" and row.cancelled:
            return False
        return row.matches_status(status)

    def as_of(self) -> date:
        """The first open day KIS can still process reservations on, by the injected clock
        and the local calendar (no request): what "still active" is measured against."""
        return self.offline_calendar.order_date(self.clock()).day  # type: ignore[no-any-return]

    def as_of_once(self) -> Callable[[], date]:
        """:meth:`as_of`, computed at most once, on first use (a listing of rows whose status
        does not depend on it never loads the calendar: start-up time, issue #14)."""
        memo: list[date] = []

        def once() -> date:
            if not memo:
                memo.append(self.as_of())
            return memo[0]

        return once

    def plan_cancel(self, current: Reservation) -> dict[str, str]:
        self.guard("change")
        _require_pending(current, "cancelled")
        body = {**self.account(), "RSVN_ORD_SEQ": current.seq}
        if current.order_date:
            body["RSVN_ORD_ORD_DT"] = current.order_date.strftime("%Y%m%d")
        return body

    def plan_modify(self, current: Reservation, changes: Mapping[str, Any]) -> dict[str, str]:
        self.guard("change")
        _require_pending(current, "modified")
        if not any(v is not None for v in changes.values()):
            raise KISValidationError("nothing to modify: give qty, price, order_type or end_date")
        if current.loan_date and changes.get("balance_type") is None:
            # The list does not return the balance type of a credit/loan order; guessing
            # "cash" could change the order's nature, so the caller must say it.
            raise KISValidationError(
                f"reservation {current.seq} has a loan date; pass balance_type explicitly"
            )
        if changes.get("end_date") is not None:
            sched = self.schedule(strict_date(changes["end_date"]))  # type: ignore[arg-type]
            changes = {**changes, "end_date": sched.end_date, "max_end_date": sched.max_end_date}
            for warning in sched.warnings:
                log.warning("reservation %s: %s", current.seq, warning)
        terms = current.terms(today=self.today(), **changes)
        body = {**self.account(), "RSVN_ORD_SEQ": current.seq}
        if current.order_date:
            body["RSVN_ORD_ORD_DT"] = current.order_date.strftime("%Y%m%d")
        # RSVN_ORD_ORGNO is never returned to us, and CTAL/CTAC_TLNO's key is disputed (spec
        # §1.3): both are left out rather than guessed.
        body.update(terms.body())
        return body

    @staticmethod
    def interpret_change(
        action: Literal["modify", "cancel"],
        current: Reservation,
        body: dict[str, str],
        response: KISResponse,
    ) -> ChangeResult:
        flag = str(response.first().get("NRML_PRCS_YN", "")).strip().upper()
        if flag != "Y":
            raise KISBusinessError(
                f"{action} of reservation {current.seq} was answered but not processed"
                f" normally (NRML_PRCS_YN={flag or 'missing'}): {response.msg1}",
                msg_cd=response.msg_cd,
                msg1=response.msg1,
                rt_cd=response.rt_cd,
                tr_id=response.tr_id,
                http_status=response.http_status,
            )
        return ChangeResult(
            seq=current.seq,
            action=action,
            ok=True,
            msg_cd=response.msg_cd,
            msg1=response.msg1,
            journal_id=response.journal_id,
            before=current,
            sent={k: str(v) for k, v in mask_body(body).items()},
        )

    def find(self, rows: Iterable[Reservation], seq: str) -> Reservation:
        for row in rows:
            if row.seq == seq:
                return row
        raise ReservationNotFoundError(f"no reservation {seq} in account {_masked(self)}")

    def interrupted_item(self, target: Reservation, value: Any) -> BulkCancelItem:
        """One item of an interrupted bulk cancel, from what its flow left (see Gather)."""
        if value is NOT_STARTED:
            return BulkCancelItem(target.seq, False, error="nothing was sent", started=False)
        if isinstance(value, BulkCancelItem):
            return value
        # Still running (a second Ctrl-C) or stopped unexpectedly: it may have been sent.
        return BulkCancelItem(target.seq, None, error=f"interrupted: {value}")

    def bulk_item(self, seq: str, exc: BaseException | None, result: Any = None) -> BulkCancelItem:
        if exc is None:
            assert isinstance(result, ChangeResult)
            return BulkCancelItem(seq, True, result.msg_cd, result.msg1, "", result.journal_id)
        if isinstance(exc, OrderOutcomeUnknownError):
            return BulkCancelItem(seq, None, "", "", str(exc), exc.journal_id)
        if isinstance(exc, KISError):
            return BulkCancelItem(seq, False, exc.msg_cd, exc.msg1, str(exc), exc.journal_id)
        return BulkCancelItem(seq, False, "", "", f"{type(exc).__name__}: {exc}")

    def check_changes(self, changes: Mapping[str, Any]) -> OrderChanges:
        """Validate a modify's changes on their own, before anything is listed or sent.

        A new end date is checked with the local calendar (cache/bundled, no request) under
        the end-date policy: snapped back (then checked) or refused.
        """
        values = dict(changes)
        if values.get("end_date") is not None:
            # Types and "after today" first, without the 30-day bound the calendar decides.
            first = OrderChanges.build(
                "modification", today=self.today(), **values, max_end_date=date.max
            )
            if first.end_date is not None:
                sched = self.schedule(first.end_date, offline=True)
                values["end_date"] = sched.end_date
                values["max_end_date"] = sched.max_end_date
        return OrderChanges.build("modification", today=self.today(), **values)

    def judge(
        self,
        entry: Any,
        rows: list[Reservation],
        *,
        credited: Mapping[str, int],
        settled: bool,
        retry_at: datetime | None,
        skew: SkewSample | None,
    ) -> ReconcileResult:
        """Decide from the current reservations whether a journaled change took effect.

        ``settled``: the request can no longer take effect (settle window over, no live
        process holds it), so absence means "not applied". ``credited``: reservations already
        owned by other journal entries (seq → entry id). ``skew``: our clock against KIS's,
        measured while listing ``rows``; ``None`` (no ``Date``) means unbounded, and then no
        verdict compares our times with KIS's.
        """
        result = self._judge(entry, rows, credited, settled, retry_at, skew)
        if skew is not None:
            result = replace(result, clock_skew_s=skew.estimate)
        return result

    def _judge(
        self,
        entry: Any,
        rows: list[Reservation],
        credited: Mapping[str, int],
        settled: bool,
        retry_at: datetime | None,
        skew: SkewSample | None,
    ) -> ReconcileResult:
        req: dict[str, Any] = entry.request
        intent = entry.intent
        eid = entry.id

        def absent(what: str, row: Reservation | None = None) -> ReconcileResult:
            if settled:
                return ReconcileResult(eid, intent, False, what, row)
            when = _fmt_time(retry_at)
            return ReconcileResult(
                eid,
                intent,
                None,
                f"{what}; KIS may still be processing it: ask again after {when}",
                row,
                retry_at,
            )

        if intent in ("cancel", "modify"):
            seq = str(req.get("RSVN_ORD_SEQ", ""))
            row = next((r for r in rows if r.seq == seq), None)
            if row is None:
                return ReconcileResult(eid, intent, None, f"reservation {seq} not found")
            if intent == "cancel":
                if row.cancelled:
                    return ReconcileResult(eid, intent, True, "cancelled", row)
                return absent(f"reservation {seq} is {row.status}, not cancelled", row)
            if _matches(row, req):
                return ReconcileResult(
                    eid, intent, True, "the reservation carries the new terms", row
                )
            return absent(f"reservation {seq} still has its old terms", row)
        if intent == "place":
            matching = [r for r in rows if _matches(r, req) and r.seq not in credited]
            # Our clock minus KIS's, at most: as known at the send (journal) and as measured
            # now; the larger bound puts the send earliest on KIS's clock (never a "not
            # applied" because a clock moved between the send and now).
            highs = [h for h in (entry.sent_skew_s, skew.high if skew else None) if h is not None]
            if not highs:
                # KIS's answers carried no Date: its receipt times cannot be put on our clock,
                # so no time comparison is made. An empty book is still an answer; a matching
                # reservation may be an older one, so it is never credited on a guess.
                if not matching:
                    return absent("no matching reservation is in the book")
                seqs = tuple(r.seq for r in matching)
                return ReconcileResult(
                    eid,
                    intent,
                    None,
                    f"reservation(s) {', '.join(seqs)} carry the same terms, but KIS's answers"
                    " carried no Date, so the clock difference is unknown and whether they were"
                    " received after the send cannot be told: check them",
                    candidates=seqs,
                )
            # The send time moved onto KIS's clock: KIS stamped it no earlier than
            # last_sent_at - high (high >= our clock - KIS's), less the tolerance.
            since = entry.last_sent_at - timedelta(seconds=max(highs)) - _CLOCK_SLACK
            candidates = [r for r in matching if _received_after(r, since)]
            if not candidates:
                return absent("no matching reservation was received")
            if len(candidates) > 1:
                seqs = tuple(r.seq for r in candidates)
                return ReconcileResult(
                    eid,
                    intent,
                    None,
                    f"{len(seqs)} identical reservations ({', '.join(seqs)}) were received after"
                    " the send and none is credited to another journal entry: check them; at"
                    " most one is this order's",
                    candidates=seqs,
                )
            row = candidates[0]
            return ReconcileResult(eid, intent, True, f"placed as reservation {row.seq}", row)
        return ReconcileResult(eid, intent, None, f"cannot reconcile intent {intent!r}")

    def skew_hint(self, entry: Any) -> float | None:
        """Our clock − KIS's as best known before listing: at the send, else the latest."""
        if entry.sent_skew_s is not None:
            return float(entry.sent_skew_s)
        latest = self.client.skew.latest
        return latest.high if latest is not None else None

    def rewindow(self, entry: Any, used: float | None, measured: SkewSample | None) -> bool:
        """Whether the listing must be asked again: the skew it measured moves the window."""
        if measured is None or used == measured.high:
            return False
        return _reconcile_window(entry, used) != _reconcile_window(entry, measured.high)

    def before_listing(
        self, journal: Any, entry: Any, *, force: bool, settle_s: float
    ) -> tuple[ReconcileResult | None, bool, datetime]:
        """(answer without listing, settled, settle deadline) of journal ``entry``.

        A final entry is answered from the journal. An entry in flight in a live process is
        "still unknown" without a request, unless ``force`` (then it may be found applied,
        but never "not applied" while its process lives).
        """
        deadline = entry.last_sent_at + timedelta(
            seconds=self.client.config.read_timeout + settle_s
        )
        if not entry.needs_reconcile:
            return _from_journal(entry), True, deadline
        now = journal.now()
        live = _in_flight(entry)
        if live and not force:
            soon = max(deadline, now + timedelta(seconds=1))
            return (
                ReconcileResult(
                    entry.id,
                    entry.intent,
                    None,
                    f"still in flight in process {entry.pid}; ask again after"
                    f" {_fmt_time(soon)} (or force)",
                    retry_at=soon,
                ),
                False,
                deadline,
            )
        return None, (now >= deadline and not live), deadline


def _seq(value: str | int) -> str:
    s = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (s.isascii() and s.isdigit()) or len(s) > 10:
        raise KISValidationError(f"reservation sequence number must be 1-10 digits, not {s!r}")
    return s


def _changes(
    qty: int | str | None,
    price: Decimal | int | str | None,
    order_type: OrderType | str | None,
    end_date: date | None,
    balance_type: str | None,
) -> dict[str, Any]:
    """The modify arguments as :meth:`Reservation.terms` takes them (``None`` = keep)."""
    changes: dict[str, Any] = {
        "qty": qty,
        "price": price,
        "order_type": order_type,
        "end_date": end_date,
    }
    if balance_type is not None:
        changes["balance_type"] = balance_type
    return changes


def _seq_targets(seqs: Iterable[str | int]) -> list[Reservation]:
    """Bulk-cancel targets named by sequence number only (no listing first)."""
    return [Reservation(seq=_seq(s)) for s in seqs]


def _masked(plans: _Plans) -> str:
    return plans.client.config.masked_account


def _require_pending(current: Reservation, verb: str) -> None:
    """Refuse, before any request, to change a reservation that can no longer act."""
    if current.is_pending:
        return
    status = current.status
    why = f"reservation {current.seq} is {status}; it cannot be {verb} any more"
    if status == "sent":
        kind = "a period reservation past its end date" if current.end_date else "one-day"
        order = f" order {current.order_no}" if current.order_no else " an order"
        why = (
            f"reservation {current.seq} was sent as{order} and has ended ({kind}); it cannot"
            f" be {verb} any more. To stop that order's open quantity, cancel the order:"
            f" stock-manager resv cancel-order {current.seq}"
        )
    raise KISValidationError(why)


def _matches(row: Reservation, req: Mapping[str, Any]) -> bool:
    def same(key: str, value: str) -> bool:
        return key not in req or str(req[key]).strip() == value

    return (
        same("PDNO", row.symbol)
        and same("ORD_QTY", str(row.qty))
        and same("ORD_UNPR", format(row.price.quantize(Decimal(1)), "f"))
        and same("SLL_BUY_DVSN_CD", row.side.value if row.side else "")
        and same("ORD_DVSN_CD", row.order_type)
        and same("RSVN_ORD_END_DT", row.end_date.strftime("%Y%m%d") if row.end_date else "")
    )


def _received_after(row: Reservation, since: datetime) -> bool:
    if row.receipt_date is None:
        return True
    t = row.receipt_time.ljust(6, "0")[:6]
    try:
        at = datetime.strptime(row.receipt_date.strftime("%Y%m%d") + t, "%Y%m%d%H%M%S")
    except ValueError:
        return row.receipt_date >= since.astimezone(KST).date()
    return at.replace(tzinfo=KST) >= since.astimezone(UTC)


def _reconcile_window(entry: Any, skew_s: float | None) -> tuple[date, date]:
    """The dates to list for ``entry``: around its creation, on KIS's clock.

    ``skew_s`` (our clock − KIS's, None: unknown) moves the creation onto KIS's calendar: a
    client clock days off would otherwise ask for days on which KIS booked nothing.
    """
    created = (entry.created_at - timedelta(seconds=skew_s or 0.0)).astimezone(KST).date()
    return created - timedelta(days=1), created + _LOOKAHEAD


# --- the operations, written once --------------------------------------------------------------
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
        self._p = _Plans(client, window_policy, clock, calendar, end_date_policy)
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
        body, warnings, sched, terms = self._p.plan_place_full(
            symbol,
            qty,
            price,
            side,
            order_type,
            end_date,
            balance_type,
            loan_date,
            days,
            end_date_policy,
        )
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
        return self._p.schedule(end_date, days, end_date_policy, offline=offline)

    def plan_place(self, *args: Any, offline: bool = False, **kwargs: Any) -> PlacePlan:
        """Everything :meth:`place_reservation` would decide, without placing anything.

        Returns the body, warnings, schedule and validated terms (for :meth:`preflight`).
        """
        kwargs.pop("check", None)
        kwargs.pop("strict", None)
        sig = _place_args(*args, **kwargs)
        body, warnings, sched, terms = self._p.plan_place_full(**sig, offline=offline)
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
        body, _, _, _ = self._p.plan_place_full(**sig, offline=offline, judge_window=False)
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
        params = self._p.list_params(start, end, seq, symbol, side, status, include_cancelled)
        kw: dict[str, Any] = {"max_pages": max_pages} if max_pages else {}
        as_of = self._p.as_of_once()

        def rows(page: KISResponse) -> tuple[list[Reservation], bool]:
            dated = (Reservation.from_row(raw).dated(as_of) for raw in page.rows())
            return [r for r in dated if self._p.keep(r, params, status)], False

        yield from relay(self.client.pages_flow("GET", PATH_LIST, params, **kw), rows)

    list_reservations = Listing(Reservation, _list)

    def _get(self, seq: str | int) -> Flow[Reservation]:
        """One reservation by sequence number (cancelled ones included)."""
        s = _seq(seq)
        # The listing stops at the match: no page after it is asked for.
        found = lambda row: row.seq == s  # noqa: E731 - a predicate, named for the line below
        rows = yield from collect(self._list(seq=s, include_cancelled=True), until=found)
        return self._p.find(rows, s)

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
        body = self._p.plan_cancel(target)
        resp = yield from self.client.request_flow(
            "POST", PATH_RVSECNCL, body, action="cancel", intent="cancel"
        )
        return self._p.interpret_change("cancel", target, body, resp)

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
        self._p.guard("change")
        self._p.check_changes(changes)
        current = yield from self._get(seq)
        body = self._p.plan_modify(current, changes)
        warnings: tuple[str, ...] = ()
        if changes.get("end_date") is not None:
            warnings += self._p.schedule(strict_date(changes["end_date"])).warnings  # type: ignore[arg-type]
        if check or strict:
            terms = current.terms(today=self._p.today(), **_terms_changes(changes, body))
            report = yield from self._preflight(terms, strict=strict, exclude_seq=current.seq)
            warnings += tuple(str(f) for f in report.problems)
        try:
            resp = yield from self.client.request_flow(
                "POST", PATH_RVSECNCL, body, action="modify", intent="modify"
            )
        except KISBusinessError as exc:
            raise as_window_error(exc) or exc from None
        result = self._p.interpret_change("modify", current, body, resp)
        return replace(result, warnings=warnings) if warnings else result

    modify_reservation = Operation(_modify)

    def describe_cancel(self, seq: str | int) -> dict[str, Any]:
        """The cancel request for ``seq`` (masked); sends nothing."""
        self._p.guard("change")
        body = {**self._p.account(), "RSVN_ORD_SEQ": _seq(seq)}
        return self.client.describe("POST", PATH_RVSECNCL, body, action="cancel")

    def describe_modify(self, seq: str | int, **changes: Any) -> dict[str, Any]:
        """The modify request for ``seq`` (masked); sends nothing.

        The current terms are not fetched (that would be a request): they show as
        ``<current>``; the real call fetches and merges them.
        """
        self._p.guard("change")
        body: dict[str, Any] = {**self._p.account(), "RSVN_ORD_SEQ": _seq(seq)}
        checked = self._p.check_changes(changes)  # what the real call would refuse
        for key in ("PDNO", "ORD_QTY", "ORD_UNPR", "SLL_BUY_DVSN_CD", "ORD_DVSN_CD"):
            body[key] = "<current>"
        body["ORD_OBJT_CBLC_DVSN_CD"] = "<current>"
        if checked.qty is not None:
            body["ORD_QTY"] = str(checked.qty)
        if checked.price is not None:
            body["ORD_UNPR"] = format(checked.price.quantize(Decimal(1)), "f")
        if checked.order_type is not None:
            body["ORD_DVSN_CD"] = checked.order_type.value
        if checked.end_date is not None:
            body["RSVN_ORD_END_DT"] = _wire("end_date", checked.end_date)
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
        self._p.guard("change")
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
                BulkCancelResult(tuple(map(self._p.interrupted_item, targets, stop.values)))
            ) from None
        return BulkCancelResult(tuple(items))

    cancel_reservations = Operation(_cancel_many)

    def _cancel_item(self, target: Reservation) -> Flow[BulkCancelItem]:
        try:
            result = yield from self._cancel_known(target)
        except Exception as exc:  # per-item isolation: one failure must not stop the rest
            return self._p.bulk_item(target.seq, exc)
        return self._p.bulk_item(target.seq, None, result)

    # reconcile ---------------------------------------------------------------------------------
    def _reconcile(self, entry_id: int, *, force: bool = False) -> Flow[ReconcileResult]:
        """Find out from the reservation list whether journal entry ``entry_id`` took effect.

        Three answers (see the module docstring): ``applied`` True, False, or None with
        ``retry_at`` saying when to ask again. Marks the entry reconciled in the journal only
        when the answer is final. An entry whose process is still running is in flight, not
        lost: it is not listed unless ``force``, and never judged "not applied".
        """
        journal = _journal(self.client)
        entry = journal.get(entry_id)
        early, settled, deadline = self._p.before_listing(
            journal, entry, force=force, settle_s=self.settle_s
        )
        if early:
            return early
        skew_s = self._p.skew_hint(entry)
        for listing in range(2):  # again once, if the measured skew moves the window
            start, end = _reconcile_window(entry, skew_s)
            mark = self.client.skew.mark()
            rows = yield from collect(self._list(start, end, include_cancelled=True))
            measured = self.client.skew.since(mark)
            if listing or not self._p.rewindow(entry, skew_s, measured):
                break
            skew_s = measured.high if measured else None
        result = self._p.judge(
            entry,
            rows,
            credited=journal.credited("place", exclude=entry.id),
            settled=settled,
            retry_at=deadline,
            skew=measured,
        )
        _record(journal, entry, result)
        return result

    reconcile = Operation(_reconcile)

    def _reconcile_pending(self) -> Flow[list[ReconcileResult]]:
        """Reconcile every journal entry left pending or unknown (in-flight ones reported)."""
        journal = _journal(self.client)
        out: list[ReconcileResult] = []
        for e in journal.needs_reconcile():
            out.append((yield from self._reconcile(e.id)))
        return out

    reconcile_pending = Operation(_reconcile_pending)


class Reservations(_ReservationOps[KISRestClient], Blocking):
    """Reservation orders (예약주문) through a :class:`KISRestClient`.

    ``window_policy`` says what happens outside the entry window (KIS: 15:40 until 07:30 of
    the next business day; weekends and holidays inside; decided by the KRX calendar):
    ``"warn"`` (default: the receipt carries a warning), ``"refuse"`` (raise
    :class:`OutsideReservationWindowError` before sending) or ``"ignore"``. The 23:40-00:10
    blackout is refused before sending under ``"warn"`` too (KIS refuses everything then).
    ``calendar`` is a :class:`stock_manager.calendar.KRXCalendar` (default: KIS 국내휴장일조회
    cached per host in real mode); ``end_date_policy`` is ``"snap"`` or ``"refuse"``.
    """


class AsyncReservations(_ReservationOps[AsyncKISRestClient], Awaiting):
    """:class:`Reservations` for :class:`AsyncKISRestClient`: the same methods, each a
    coroutine (``list_reservations`` an async iterator); bulk cancel runs tasks."""


# --- helpers ----------------------------------------------------------------------------------
def _terms_changes(changes: Mapping[str, Any], body: Mapping[str, str]) -> dict[str, Any]:
    """The modify changes with the end date as it will be sent (after snapping)."""
    out = dict(changes)
    if changes.get("end_date") is not None and body.get("RSVN_ORD_END_DT"):
        out["end_date"] = datetime.strptime(body["RSVN_ORD_END_DT"], "%Y%m%d").date()
        out["max_end_date"] = out["end_date"]
    return out


def _receipt(
    resp: KISResponse,
    warnings: tuple[str, ...],
    sched: Schedule | None = None,
    findings: tuple[Any, ...] = (),
) -> ReservationReceipt:
    seq = str(resp.first().get("RSVN_ORD_SEQ", "")).strip()
    if not seq:
        # Accepted (rt_cd 0) but without its handle: the reservation exists and we cannot name
        # it. Reconcile finds it; resending would duplicate it.
        raise OrderOutcomeUnknownError(
            "reservation accepted without RSVN_ORD_SEQ; reconcile before placing it again",
            cause="no RSVN_ORD_SEQ in output",
            msg_cd=resp.msg_cd,
            msg1=resp.msg1,
            tr_id=resp.tr_id,
        )
    return ReservationReceipt(
        seq,
        resp.msg_cd,
        resp.msg1,
        resp.journal_id,
        warnings,
        order_date=sched.order_date if sched else None,
        end_date=sched.end_date if sched else None,
        schedule=sched.describe() if sched else "",
        findings=findings,
    )


def _place_args(*args: Any, **kwargs: Any) -> dict[str, Any]:
    names = ("symbol", "qty", "price", "side", "order_type", "end_date")
    values: dict[str, Any] = {
        "price": None,
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "end_date": None,
        "balance_type": "10",
        "loan_date": None,
    }
    values.update(dict(zip(names, args, strict=False)))
    values.update(kwargs)
    return values


def _wire(key: str, value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    if key == "order_type":
        from .models import parse_order_type

        return parse_order_type(value).value
    return str(value)


def _in_flight(entry: Any) -> bool:
    """Whether the entry is PENDING and its process is alive on this machine.

    Judging it now could find nothing yet and mark it "not applied" just before KIS accepts
    it. (A recycled pid can make a dead process look alive: ``force=True`` then.)
    """
    from stock_manager.journal import Outcome  # loaded with the entry's journal

    if entry.outcome is not Outcome.PENDING or not entry.pid:
        return False
    if entry.pid == os.getpid():
        return True  # another thread or task of this process is sending it
    try:
        os.kill(entry.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    except OSError:
        return False
    return True


def _from_journal(entry: Any) -> ReconcileResult:
    """The verdict an already-final journal entry carries (no request needed)."""
    from stock_manager.journal import Outcome  # loaded with the entry's journal

    outcome = entry.outcome
    applied = {
        Outcome.OK: True,
        Outcome.RECONCILED_APPLIED: True,
        Outcome.REJECTED: False,
        Outcome.NOT_SENT: False,
        Outcome.RECONCILED_NOT_APPLIED: False,
    }.get(outcome)
    ref = f" (reservation {entry.reference})" if entry.reference else ""
    note = f": {entry.note}" if entry.note else ""
    return ReconcileResult(
        entry.id, entry.intent, applied, f"recorded in the journal as {outcome}{ref}{note}"
    )


def _fmt_time(moment: datetime | None) -> str:
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S KST") if moment else "-"


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
