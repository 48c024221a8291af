"""The morning report: what KIS did with each reservation on one session (pure functions).

KIS sends no notification when it turns a reservation into an order (or rejects it), so this
joins the reservation list (주식예약주문조회) with the day's orders and fills
(주식일별주문체결조회) into typed rows, one summary line and an exit status.

JSON (``Report.to_dict``; ``schema`` = 1)::

    {"schema": 1, "date": "2026-11-24", "generated_at": "...+09:00", "account": "1234****-01",
     "calendar": "krx (bundled)", "attention": true,
     "summary": {"sent": 2, "filled": 1, "partial": 1, "unfilled": 0, "rejected": 1,
                 "not_processed": 0, "waiting": 0, "ending_soon": 0},
     "text": "2026-11-24: sent 2 · filled 1 · partly filled 1 · rejected 1 · waiting 0",
     "processed": [ReportRow...], "waiting": [ReportRow...], "ending_soon": [ReportRow...]}

A ReportRow: ``seq, symbol, name, side, qty, price, order_type, end_date, result, reason,
odno, state`` (filled / partial / unfilled / rejected / not_processed / waiting), ``open``
(the order still has an open quantity in the current session), ``filled_qty, avg_price,
filled_amount, remaining_qty, cancelled_qty`` (money as strings of whole won).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from stock_manager.adapters.broker.kis.reservations.models import KST, Reservation

from .calendar import Calendar, nth_open_day
from .orders import DailyOrder, fills_of
from .plan import REJECTED, is_live

__all__ = ["REPORT_SCHEMA", "Report", "ReportRow", "build_report", "latest_session"]

REPORT_SCHEMA = 1
RowState = Literal["filled", "partial", "unfilled", "rejected", "not_processed", "waiting"]
# KIS turns the day's reservations into orders before the open (around 08:30 KST); from then
# on "today" is the session to report, before it the previous open day.
PROCESSING_TIME = time(8, 30)
MARKET_CLOSE = time(15, 30)
ENDING_SOON_OPEN_DAYS = 3


@dataclass(frozen=True)
class ReportRow:
    """One reservation in the report."""

    seq: str
    symbol: str
    name: str
    side: str
    qty: int
    price: Decimal
    order_type: str
    end_date: date | None
    result: str  # prcs_rslt as KIS wrote it
    reason: str  # rjct_rson2
    odno: str
    state: RowState
    open: bool = False
    filled_qty: int = 0
    avg_price: Decimal = Decimal(0)
    filled_amount: Decimal = Decimal(0)
    remaining_qty: int = 0
    cancelled_qty: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (money as strings)."""
        return {
            "seq": self.seq,
            "symbol": self.symbol,
            "name": self.name,
            "side": self.side,
            "qty": self.qty,
            "price": str(self.price),
            "order_type": self.order_type,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "result": self.result,
            "reason": self.reason,
            "odno": self.odno,
            "state": self.state,
            "open": self.open,
            "filled_qty": self.filled_qty,
            "avg_price": str(self.avg_price),
            "filled_amount": str(self.filled_amount),
            "remaining_qty": self.remaining_qty,
            "cancelled_qty": self.cancelled_qty,
        }


@dataclass(frozen=True)
class Report:
    """The report of one session."""

    date: date
    generated_at: datetime
    account: str
    processed: tuple[ReportRow, ...]
    waiting: tuple[ReportRow, ...]
    ending_soon: tuple[ReportRow, ...]
    calendar: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: "future": no session of ``date`` has been processed yet; "closed": ``date`` is no KRX
    #: session (weekend/holiday); "" for a session that was processed.
    kind: Literal["", "future", "closed"] = ""

    def count(self, state: RowState) -> int:
        """Processed rows in ``state``."""
        return sum(1 for r in self.processed if r.state == state)

    @property
    def summary(self) -> dict[str, int]:
        """sent / filled / partial / unfilled / rejected / not_processed / waiting counts."""
        return {
            "sent": sum(1 for r in self.processed if r.odno),
            "filled": self.count("filled"),
            "partial": self.count("partial"),
            "unfilled": self.count("unfilled"),
            "rejected": self.count("rejected"),
            "not_processed": self.count("not_processed"),
            "waiting": len(self.waiting),
            "ending_soon": len(self.ending_soon),
        }

    @property
    def attention(self) -> bool:
        """Something was rejected or not processed (exit code 4)."""
        s = self.summary
        return bool(s["rejected"] or s["not_processed"])

    @property
    def note(self) -> str:
        """What a future or closed date means ("" for a processed session)."""
        d = self.date.isoformat()
        if self.kind == "future":
            return (
                f"{d} is in the future: KIS has processed nothing for it yet; 'waiting' lists"
                " the reservations still to be sent as of now"
            )
        if self.kind == "closed":
            return f"{d} is not a KRX session (weekend or holiday): KIS processes nothing on it"
        return ""

    @property
    def text(self) -> str:
        """The one summary line; rejected reservations are named (seq, symbol, reason)."""
        s = self.summary
        d = self.date.isoformat()
        if self.kind == "future":
            line = f"{d}: in the future, nothing processed yet · waiting {s['waiting']}"
        elif self.kind == "closed" and not self.processed:
            line = f"{d}: no KRX session, nothing processed · waiting {s['waiting']}"
        else:
            line = (
                f"{d}: sent {s['sent']} · filled {s['filled']} · partly filled {s['partial']}"
                f" · rejected {s['rejected']} · waiting {s['waiting']}"
            )
        if s["unfilled"]:
            line += f" · unfilled {s['unfilled']}"
        if s["not_processed"]:
            line += f" · NOT PROCESSED {s['not_processed']}"
        if s["ending_soon"]:
            line += f" · ending within {ENDING_SOON_OPEN_DAYS} open days {s['ending_soon']}"
        rejected = [r for r in self.processed if r.state == "rejected"]
        if rejected:
            line += " · rejected: " + "; ".join(
                f"{r.seq} {r.symbol} ({r.reason.strip() or r.result or 'no reason given'})"
                for r in rejected
            )
        return line

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON form (no secrets; the account number masked)."""
        return {
            "schema": REPORT_SCHEMA,
            "date": self.date.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "account": self.account,
            "calendar": self.calendar,
            "attention": self.attention,
            "summary": self.summary,
            "text": self.text,
            "note": self.note,
            "processed": [r.to_dict() for r in self.processed],
            "waiting": [r.to_dict() for r in self.waiting],
            "ending_soon": [r.to_dict() for r in self.ending_soon],
        }


def latest_session(calendar: Calendar, now: datetime) -> date:
    """Today once its reservations have been processed (08:30 KST) on an open day, else the
    previous open day (closed days are skipped)."""
    local = now.astimezone(KST)
    d = local.date()
    if calendar.is_open(d) and local.time() >= PROCESSING_TIME:
        return d
    # Step back day by day to the previous open day (a calendar only answers "next").
    d -= timedelta(days=1)
    while not calendar.is_open(d):
        d -= timedelta(days=1)
    return d


def _row(r: Reservation, state: RowState, **fills: Any) -> ReportRow:
    return ReportRow(
        seq=r.seq,
        symbol=r.symbol,
        name=r.name,
        side=r.side.label if r.side else "",
        qty=r.qty,
        price=r.price,
        order_type=r.order_type,
        end_date=r.end_date,
        result=r.result,
        reason=r.reject_reason,
        odno=r.order_no,
        state=state,
        **fills,
    )


def build_report(
    day: date,
    now: datetime,
    book: Iterable[Reservation],
    orders: Iterable[DailyOrder],
    calendar: Calendar,
    *,
    account: str = "",
    calendar_source: str = "",
) -> Report:
    """Join the reservation list with the orders of ``day`` into a :class:`Report`.

    A ``day`` whose reservations have not been processed yet (a later date, or today before
    08:30 KST) reports nothing processed and every reservation still to be sent as waiting; a
    closed ``day`` says so (``Report.kind``, ``Report.note``).
    """
    local = now.astimezone(KST)
    if day > local.date() or (day == local.date() and local.time() < PROCESSING_TIME):
        return _future_report(day, local, book, calendar, account, calendar_source)
    day_orders = [o for o in orders if o.order_date is None or o.order_date == day]
    odnos = {o.odno.zfill(10) for o in day_orders}
    session_running = local.date() == day and local.time() < MARKET_CLOSE
    next_day = calendar.next_open_day(day)
    horizon = nth_open_day(calendar, day, ENDING_SOON_OPEN_DAYS)
    processed: list[ReportRow] = []
    waiting: list[ReportRow] = []
    ending: list[ReportRow] = []
    for r in sorted(book, key=lambda r: int(r.seq) if r.seq.isdigit() else 0):
        if r.cancelled and not r.order_no:
            continue
        if r.order_no and r.order_no.zfill(10) in odnos:
            f = fills_of(r.order_no, day_orders)
            state: RowState = "unfilled" if f.state == "none" else f.state
            processed.append(
                _row(
                    r,
                    state,
                    open=session_running and f.remaining_qty > 0,
                    filled_qty=f.filled_qty,
                    avg_price=f.avg_price,
                    filled_amount=f.filled_amount,
                    remaining_qty=f.remaining_qty,
                    cancelled_qty=f.cancelled_qty,
                )
            )
        elif r.result == REJECTED and r.order_date == day:
            processed.append(_row(r, "rejected"))
        elif (
            r.status_at(next_day) == "waiting"  # never sent: not an active period one
            and r.order_date is not None
            and (
                r.order_date < day
                or (r.order_date == day and local.date() > day)
                or (r.order_date == day and local.time() >= PROCESSING_TIME and local.date() == day)
            )
        ):
            processed.append(_row(r, "not_processed"))
            continue
        # Sent again on a later day: still waiting for a later order date, or a period
        # reservation already sent that stays active past this session.
        if is_live(r, next_day) and (
            (r.order_date or day) > day or r.status_at(next_day) == "active"
        ):
            row = _row(r, "waiting")
            waiting.append(row)
            if r.end_date is not None and r.end_date <= horizon:
                ending.append(row)
    return Report(
        date=day,
        generated_at=local,
        account=account,
        processed=tuple(processed),
        waiting=tuple(waiting),
        ending_soon=tuple(ending),
        calendar=calendar_source,
        kind="" if calendar.is_open(day) else "closed",
    )


def _future_report(
    day: date,
    local: datetime,
    book: Iterable[Reservation],
    calendar: Calendar,
    account: str,
    calendar_source: str,
) -> Report:
    """Nothing processed for ``day`` yet: every reservation KIS will still send is waiting."""
    next_day = calendar.next_open_day(local.date() - timedelta(days=1))
    horizon = nth_open_day(calendar, next_day, ENDING_SOON_OPEN_DAYS - 1)
    waiting: list[ReportRow] = []
    ending: list[ReportRow] = []
    for r in sorted(book, key=lambda r: int(r.seq) if r.seq.isdigit() else 0):
        if r.cancelled or not is_live(r, next_day):
            continue
        row = _row(r, "waiting")
        waiting.append(row)
        if r.end_date is not None and r.end_date <= horizon:
            ending.append(row)
    return Report(
        date=day,
        generated_at=local,
        account=account,
        processed=(),
        waiting=tuple(waiting),
        ending_soon=tuple(ending),
        calendar=calendar_source,
        kind="future",
    )
