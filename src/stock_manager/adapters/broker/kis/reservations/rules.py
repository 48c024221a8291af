"""The rules of the reservation operations, without I/O: bodies, windows, verdicts.

What :mod:`.operations` asks between the steps of a flow: refuse paper mode and bad input
before the network, build the request bodies (a modify re-sends every term, merged from the
*current* reservation), judge the entry window and the schedule with the KRX calendar,
interpret KIS's answers (modify/cancel succeed only with ``rt_cd == "0"`` **and**
``NRML_PRCS_YN == "Y"``) and decide reconcile's three answers (see :mod:`.operations`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from stock_manager.masking import mask_request

from .. import constants as C
from .._flow import NOT_STARTED
from ..client import AsyncKISRestClient, KISRestClient
from ..errors import (
    KISBusinessError,
    KISError,
    KISValidationError,
    OrderOutcomeUnknownError,
    OutsideReservationWindowError,
    PaperTradingNotSupportedError,
)
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
from .results import (
    BulkCancelItem,
    ChangeResult,
    ReconcileResult,
    ReservationNotFoundError,
    ReservationReceipt,
)
from .schedule import EndDatePolicy, Schedule, plan_schedule

__all__ = ["PATH_LIST", "PATH_PLACE", "PATH_RVSECNCL"]

log = logging.getLogger("stock_manager.kis.reservations")

_API_ID = {"place": "v1_국내주식-017", "change": "v1_국내주식-018,019", "list": "v1_국내주식-020"}
# Paths, TR_IDs and field rules come from the API catalog (generated from the KIS spec).
PATH_PLACE = CATALOG[_API_ID["place"]].path
PATH_RVSECNCL = CATALOG[_API_ID["change"]].path
PATH_LIST = CATALOG[_API_ID["list"]].path
_LOOKBACK = timedelta(days=C.RESERVATION_LOOKBACK_DAYS)
_LOOKAHEAD = timedelta(days=C.RESERVATION_LOOKAHEAD_DAYS)
_CLOCK_SLACK = timedelta(seconds=C.RECONCILE_CLOCK_SLACK_S)


class _Rules:
    """The decisions of every reservation operation: what may be sent, what is sent, and
    what an answer means. Nothing here sends a request or touches the journal; the flows of
    :class:`~.operations._ReservationOps` do that and ask this class between their steps.

    The calendar is the one thing read from disk (its cache file) or asked of KIS (the
    blocking client's daily chk-holiday): the flows load it first, in a blocking
    :class:`~.._flow.Call` (see :meth:`~.operations._ReservationOps._calendar_ready`), so
    what is decided here never waits on I/O on an event loop.
    """

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
            sent={k: str(v) for k, v in mask_request(body).items()},
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


def _masked(plans: _Rules) -> str:
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
