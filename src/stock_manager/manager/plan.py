"""Declared state × observed book × id links → a plan (pure functions, no I/O).

The shape is Terraform's: :func:`reconcile_links` brings the links up to date with the live
book, :func:`make_plan` diffs the declarations against it and says, per item, what ``apply``
would do and why:

* **place**  — declared, never placed (or the declaration changed after the last one ended);
* **modify** — the declaration (or the live reservation, changed outside the file) differs;
* **cancel** — no longer declared, a duplicate for the same id, past ``until``, or not owned
  by the file but named by ``--prune SYMBOL``;
* **renew**  — ``renew = true`` and the last one ended unfilled, partly filled or expired:
  a new reservation for the still-unfilled quantity, ending on an open day;
* **keep**   — nothing to do (up to date, done, rejected until the declaration changes, ...).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, cast

from stock_manager.adapters.broker.kis import constants as C
from stock_manager.adapters.broker.kis.reservations.models import KST, Reservation

from .calendar import Calendar, nth_open_day
from .links import Link
from .spec import Declaration, StandingSpec

__all__ = [
    "Action",
    "JournalPlace",
    "LinkUpdate",
    "Plan",
    "PlanItem",
    "desired_end",
    "is_live",
    "journal_place",
    "link_label",
    "make_plan",
    "order_day",
    "reconcile_links",
]

Action = Literal["place", "modify", "cancel", "renew", "keep", "wait"]
REJECTED = "거부"
# How far a placing link's receipt may precede its recorded intent (clock skew with KIS).
_SLACK = timedelta(seconds=C.RECONCILE_CLOCK_SLACK_S)
_SETTLE = timedelta(seconds=C.MANAGER_PLACE_SETTLE_S)


@dataclass(frozen=True)
class PlanItem:
    """One line of a plan."""

    action: Action
    id: str  # declared id ("" for a reservation not owned by the file)
    reason: str
    seq: str = ""  # the reservation acted on (modify/cancel/keep)
    symbol: str = ""
    side: str = ""  # buy / sell
    qty: int = 0
    price: Decimal = Decimal(0)
    order_type: str = ""  # KIS code 00/01/02/05
    balance_type: str = "10"
    end_date: date | None = None  # None: one-day reservation (일반예약)
    spec_hash: str = ""
    link_id: int = 0  # the link a modify/cancel updates
    attention: bool = False  # the user should look at this (rejected, not processed, ...)

    @property
    def sends(self) -> bool:
        """Whether applying this item sends an order request."""
        return self.action in ("place", "modify", "cancel", "renew")

    def terms(self) -> dict[str, Any]:
        """Terms as stored in a link."""
        return {
            "symbol": self.symbol,
            "side": "01" if self.side == "sell" else "02",
            "qty": self.qty,
            "price": format(self.price.quantize(Decimal(1)), "f"),
            "order_type": self.order_type,
            "end_date": self.end_date.strftime("%Y%m%d") if self.end_date else "",
        }


@dataclass(frozen=True)
class Plan:
    """What apply would do, in execution order (cancels, modifies, then places/renewals)."""

    namespace: str
    items: tuple[PlanItem, ...]
    order_day: date
    notes: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[PlanItem, ...]:
        """The items that send an order request."""
        return tuple(i for i in self.items if i.sends)

    def counts(self) -> dict[str, int]:
        """How many items of each action."""
        out = dict.fromkeys(("place", "modify", "cancel", "renew", "keep", "wait"), 0)
        for i in self.items:
            out[i.action] += 1
        return out


@dataclass(frozen=True)
class LinkUpdate:
    """A change to a link found while reconciling it with the book."""

    link_id: int
    fields: dict[str, Any] = field(default_factory=dict)
    detail: str = ""


@dataclass(frozen=True)
class JournalPlace:
    """What the order journal says about the place request(s) made for one link.

    ``state``: ``applied`` (KIS took it: ``seq`` is the reservation, from its answer or from
    reconcile), ``unknown`` (in flight, or its outcome is still open: nothing may be placed
    for the link's declaration), ``not_applied`` (never sent, refused, or reconciled as not
    taken).
    """

    state: Literal["applied", "unknown", "not_applied"]
    entry_id: int
    seq: str = ""
    #: KIS accepted it (a reservation exists) but did not name it: only the book can.
    accepted: bool = False


def link_label(namespace: str, decl_id: str, link_id: int) -> str:
    """The label a link's place request carries in the journal (no secrets)."""
    return f"manager:{namespace}:{decl_id}:link-{link_id}"


def journal_place(entries: Iterable[Any]) -> JournalPlace | None:
    """Summarise the journal entries of one link's place (``None``: there are none).

    Applied wins (a reservation exists); then unknown (it may exist); not applied only when
    every entry is final and none took effect. An entry KIS accepted without naming the
    reservation is unknown until reconcile names it.
    """
    from stock_manager.journal import Outcome

    unknown: JournalPlace | None = None
    last: JournalPlace | None = None
    for e in entries:
        if e.outcome in (Outcome.OK, Outcome.RECONCILED_APPLIED) and e.reference:
            return JournalPlace("applied", e.id, str(e.reference))
        if e.outcome in (Outcome.OK, Outcome.RECONCILED_APPLIED):
            unknown = JournalPlace("unknown", e.id, accepted=True)
        elif e.outcome in (Outcome.PENDING, Outcome.UNKNOWN):
            unknown = unknown or JournalPlace("unknown", e.id)
        else:
            last = JournalPlace("not_applied", e.id)
    return unknown or last


# --- dates ------------------------------------------------------------------------------------
def order_day(calendar: Calendar, now: datetime) -> date:
    """The open day a reservation entered at ``now`` is sent on.

    Asked of the calendar when it can answer (the KRX calendar knows late-session mornings,
    whose reservations are taken until 08:30); otherwise the plain rule: the same day before
    07:30 on an open day, else the next open day (a weekend's or holiday's entry: the next
    open day).
    """
    decide = getattr(calendar, "order_day", None)
    if callable(decide):
        return cast(date, decide(now))
    local = now.astimezone(KST)
    today = local.date()
    if calendar.is_open(today) and local.time() < time(*C.RESERVATION_WINDOW_CLOSE):
        return today
    return calendar.next_open_day(today)


def _snap_back(calendar: Calendar, d: date) -> date:
    while not calendar.is_open(d):
        d -= timedelta(days=1)
    return d


def desired_end(decl: Declaration, calendar: Calendar, now: datetime) -> date | None:
    """End date of a reservation placed now for ``decl``; None for a one-day reservation.

    ``days = N``: the N-th open day counting the order day as the first; ``until``: that day
    at the latest; both: the earlier. Capped at 30 days from today (KIS) and snapped back to
    an open day; anything not after the order day becomes a one-day reservation.
    """
    n = order_day(calendar, now)
    today = now.astimezone(KST).date()
    ends: list[date] = []
    if decl.days:
        ends.append(nth_open_day(calendar, n, decl.days - 1) if decl.days > 1 else n)
    if decl.until:
        ends.append(decl.until)
    if not ends:
        return None
    end = min([*ends, today + timedelta(days=C.RESERVATION_MAX_PERIOD_DAYS)])
    end = _snap_back(calendar, end)
    return end if end > n and end > today else None


def is_live(row: Reservation, next_order_day: date) -> bool:
    """Whether KIS will still act on this reservation: ``waiting``, or an ``active`` period
    reservation (already sent, sent again on a later open day up to its end date).

    ``next_order_day`` is the manager's "today": the first open day KIS can still process
    reservations on (:func:`order_day`). Everything live can be modified and cancelled.
    """
    return row.status_at(next_order_day) in ("waiting", "active")


def _outcome(row: Reservation) -> str:
    if row.cancelled:
        return "cancelled"
    if row.result == REJECTED:
        return "rejected"
    if row.qty and row.filled_qty >= row.qty:
        return "filled"
    if row.filled_qty:
        return "partial"
    return "unfilled"


def _matches(row: Reservation, link: Link) -> bool:
    price = format(row.price.quantize(Decimal(1)), "f")
    end = row.end_date.strftime("%Y%m%d") if row.end_date else ""
    return (
        row.symbol == link.symbol
        and (row.side.value if row.side else "") == link.side
        and row.qty == link.qty
        and price == link.price
        and row.order_type == link.order_type
        and end == link.end_date
    )


def _received_at(row: Reservation) -> datetime | None:
    if row.receipt_date is None:
        return None
    t = (row.receipt_time or "000000").ljust(6, "0")[:6]
    try:
        at = datetime.strptime(row.receipt_date.strftime("%Y%m%d") + t, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return at.replace(tzinfo=KST)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own earlier attempt in this process has finished
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


# --- reconcile --------------------------------------------------------------------------------
def reconcile_links(
    links: Sequence[Link],
    book: Iterable[Reservation],
    linked_seqs: set[str],
    next_order_day: date,
    *,
    now: datetime | None = None,
    alive: Any = _alive,
    journal: Mapping[int, JournalPlace] | None = None,
    skew_s: float | None = 0.0,
) -> list[LinkUpdate]:
    """Bring ``links`` up to date with the live book (adopt, end, or drop them).

    ``skew_s``: our clock − KIS's (upper bound) for the receipt-time fallback; see
    :func:`_book_match`.

    ``journal`` (link id → :class:`JournalPlace`) is what the order journal says about each
    ``placing`` (or ``failed``) link's place request; where it says anything, it decides:
    applied → the link adopts the reservation reconcile or KIS named; unknown → the link stays
    ``placing`` (the plan waits, nothing is placed); not applied → the link is dropped and the
    declaration may be placed again.

    Without a journal entry (journal off, or a run that died before recording it), a
    ``placing`` link the book does not show is dropped only when its process is gone **and**
    :data:`MANAGER_PLACE_SETTLE_S` has passed since it was recorded; until then it stays, and
    the plan says "wait".
    """
    rows = {r.seq: r for r in book}
    taken = set(linked_seqs)
    updates: list[LinkUpdate] = []

    for link in links:
        record = (journal or {}).get(link.id)
        if record is not None and record.accepted and link.state == "placing":
            # Accepted without its sequence number: match it in the book (below), but never
            # drop the link — the reservation exists.
            record = None if _book_match(link, rows, taken, skew_s) else record
        if record is not None and link.state in ("placing", "failed"):
            # The journal knows what became of this link's place: it decides, never the
            # book's receipt times (they rest on two clocks agreeing).
            update = _from_journal(link, record, taken)
            if update is not None:
                updates.append(update)
            continue
        if link.state == "placing":
            found = _book_match(link, rows, taken, skew_s)
            if found:
                row = found[0]
                taken.add(row.seq)
                updates.append(
                    LinkUpdate(
                        link.id,
                        {"seq": row.seq, "state": "live"},
                        f"{link.decl_id}: adopted reservation {row.seq} placed by an earlier run",
                    )
                )
            elif not alive(link.pid) and (now is None or now - link.created_at >= _SETTLE):
                updates.append(
                    LinkUpdate(
                        link.id,
                        {"state": "failed", "note": "not in the book: the place never arrived"},
                        f"{link.decl_id}: an earlier place did not reach KIS; it will be placed",
                    )
                )
            continue
        if link.state != "live":
            continue
        found_row = rows.get(link.seq)
        if found_row is None:
            updates.append(
                LinkUpdate(
                    link.id,
                    {"state": "ended", "outcome": "gone"},
                    f"{link.decl_id}: reservation {link.seq} is no longer listed",
                )
            )
            continue
        row = found_row
        if is_live(row, next_order_day):
            if row.filled_qty != link.filled_qty:
                updates.append(LinkUpdate(link.id, {"filled_qty": row.filled_qty}))
            continue
        updates.append(
            LinkUpdate(
                link.id,
                {"state": "ended", "outcome": _outcome(row), "filled_qty": row.filled_qty},
                f"{link.decl_id}: reservation {link.seq} ended ({_outcome(row)})",
            )
        )
    return updates


def _book_match(
    link: Link, rows: Mapping[str, Reservation], taken: set[str], skew_s: float | None
) -> list[Reservation]:
    """Unlinked reservations with the link's terms received after it was recorded (oldest
    first). Receipt times are KIS's clock, ``created_at`` ours: only a fallback.

    ``skew_s`` (our clock − KIS's, an upper bound) puts ``created_at`` on KIS's clock. ``None``
    (unmeasured): no time comparison at all — every unlinked match counts, so that a clock that
    is off can never make a reservation KIS holds look absent (and be placed twice).
    """
    since = None if skew_s is None else link.created_at - timedelta(seconds=skew_s) - _SLACK
    return sorted(
        (
            r
            for r in rows.values()
            if r.seq not in taken
            and _matches(r, link)
            and (since is None or (at := _received_at(r)) is None or at >= since)
        ),
        key=lambda r: int(r.seq) if r.seq.isdigit() else 0,
    )


def _from_journal(link: Link, record: JournalPlace, taken: set[str]) -> LinkUpdate | None:
    """The link update the journal's word on its place calls for (``None``: none)."""
    entry = f"journal #{record.entry_id}"
    if record.state == "applied":
        if record.seq in taken:
            # Linked elsewhere already: never guess which link owns it; look at it by hand.
            note = f"{entry} names reservation {record.seq}, which another link holds"
            return None if link.note == note else LinkUpdate(link.id, {"note": note})
        taken.add(record.seq)
        return LinkUpdate(
            link.id,
            {"seq": record.seq, "state": "live", "note": ""},
            f"{link.decl_id}: adopted reservation {record.seq} ({entry}: the place took effect)",
        )
    if record.state == "unknown":
        note = (
            f"{entry}: the place's outcome is unknown; nothing is placed until it is"
            " settled (stock-manager resv reconcile --pending)"
        )
        if record.accepted:
            note = (
                f"{entry}: KIS accepted the place without naming the reservation and the"
                " book shows no match; nothing is placed again (check resv list)"
            )
        if link.state == "placing" and link.note == note:
            return None
        return LinkUpdate(link.id, {"state": "placing", "note": note})
    if link.state == "failed":
        return None
    return LinkUpdate(
        link.id,
        {"state": "failed", "note": f"{entry}: the place did not take effect"},
        f"{link.decl_id}: an earlier place did not take effect ({entry}); it will be placed",
    )


# --- plan -------------------------------------------------------------------------------------
def _item(
    action: Action,
    decl: Declaration,
    reason: str,
    calendar: Calendar,
    now: datetime,
    *,
    qty: int | None = None,
    seq: str = "",
    link_id: int = 0,
) -> PlanItem:
    return PlanItem(
        action=action,
        id=decl.id,
        reason=reason,
        seq=seq,
        symbol=decl.symbol,
        side=decl.side.label,
        qty=decl.qty if qty is None else qty,
        price=decl.price,
        order_type=decl.order_type.value,
        balance_type=decl.balance_type.value,
        end_date=desired_end(decl, calendar, now) if action != "keep" else None,
        spec_hash=decl.spec_hash,
        link_id=link_id,
    )


def _keep(decl_id: str, reason: str, seq: str = "", *, attention: bool = False) -> PlanItem:
    return PlanItem("keep", decl_id, reason, seq=seq, attention=attention)


def _cancel(row: Reservation, decl_id: str, reason: str, link_id: int = 0) -> PlanItem:
    return PlanItem(
        "cancel",
        decl_id,
        reason,
        seq=row.seq,
        symbol=row.symbol,
        side=row.side.label if row.side else "",
        qty=row.qty,
        price=row.price,
        order_type=row.order_type,
        end_date=row.end_date,
        link_id=link_id,
    )


def _differs(row: Reservation, link: Link, decl: Declaration) -> str:
    """Why the live reservation must be modified ('' when it need not)."""
    if link.spec_hash != decl.spec_hash:
        return "the declaration changed"
    if not _matches(row, link):
        return "the reservation was changed outside the file"
    return ""


def make_plan(
    spec: StandingSpec,
    links: Sequence[Link],
    book: Iterable[Reservation],
    linked_seqs: set[str],
    calendar: Calendar,
    now: datetime,
    *,
    prune: Iterable[str] = (),
) -> Plan:
    """The plan for ``spec`` against the (already reconciled) ``links`` and ``book``."""
    rows = {r.seq: r for r in book}
    n = order_day(calendar, now)
    decls = spec.by_id()
    cancels: list[PlanItem] = []
    modifies: list[PlanItem] = []
    places: list[PlanItem] = []
    keeps: list[PlanItem] = []
    by_id: dict[str, list[Link]] = {}
    for link in links:
        by_id.setdefault(link.decl_id, []).append(link)

    # Links of ids no longer declared: cancel what is still live.
    for decl_id, its in by_id.items():
        if decl_id in decls:
            continue
        for link in its:
            row = rows.get(link.seq)
            if link.state == "live" and row is not None and is_live(row, n):
                # A period reservation already sent (active) is cancelled too: that stops its
                # later days; the order KIS made of it today is separate (cancel-order).
                cancels.append(_cancel(row, decl_id, _why("no longer declared", row, n), link.id))

    for decl in spec.declarations:
        its = by_id.get(decl.id, [])
        placing = [link for link in its if link.state == "placing"]
        if placing:
            keeps.append(
                PlanItem(
                    "wait",
                    decl.id,
                    placing[-1].note
                    or "an earlier place is not in the book yet (in flight, or settling);"
                    " run apply again in a minute",
                    attention=True,
                )
            )
            continue
        live = [
            (link, rows[link.seq])
            for link in its
            if link.state == "live" and link.seq in rows and is_live(rows[link.seq], n)
        ]
        if len(live) > 1:
            live.sort(key=lambda lr: (not _matches(lr[1], lr[0]), int(lr[1].seq)))
            for link, row in live[1:]:
                cancels.append(
                    _cancel(row, decl.id, _why("a duplicate for the same id", row, n), link.id)
                )
            live = live[:1]
        if live:
            link, row = live[0]
            if decl.until and decl.until < n:
                why_until = _why(f"until {decl.until} has passed", row, n)
                cancels.append(_cancel(row, decl.id, why_until, link.id))
                continue
            why = _differs(row, link, decl)
            if not why:
                state = row.status_at(n)
                keeps.append(
                    _keep(decl.id, f"up to date (reservation {row.seq}, {state})", row.seq)
                )
            else:
                remaining = max(1, decl.qty - _filled_before(its, decl, exclude=link.id))
                item = _item(
                    "modify",
                    decl,
                    _why(why, row, n),
                    calendar,
                    now,
                    qty=remaining,
                    seq=row.seq,
                    link_id=link.id,
                )
                if row.status_at(n) == "active" and not decl.until and row.end_date:
                    # ``days`` counted from the first order day, which has passed: an active
                    # period reservation keeps its end date (re-counting would extend it).
                    item = replace(item, end_date=row.end_date)
                modifies.append(item)
            continue
        # Nothing live for this id.
        ended = [link for link in its if link.state == "ended"]
        if decl.until and decl.until < n:
            keeps.append(_keep(decl.id, f"until {decl.until} has passed"))
            continue
        same = [link for link in ended if link.spec_hash == decl.spec_hash]
        if not same:
            reason = "declared, not placed" if not ended else "the declaration changed"
            places.append(_item("place", decl, reason, calendar, now))
            continue
        last = same[-1]
        filled = sum(link.filled_qty for link in same)
        remaining = decl.qty - filled
        if remaining <= 0:
            keeps.append(_keep(decl.id, f"done: {filled} of {decl.qty} filled", last.seq))
        elif last.outcome == "rejected":
            keeps.append(
                _keep(
                    decl.id,
                    f"reservation {last.seq} was rejected; change the declaration to try again",
                    last.seq,
                    attention=True,
                )
            )
        elif not decl.renew:
            keeps.append(
                _keep(
                    decl.id, f"reservation {last.seq} ended {last.outcome}; renew = false", last.seq
                )
            )
        else:
            places.append(
                _item(
                    "renew",
                    decl,
                    f"reservation {last.seq} ended {last.outcome}; {remaining} of {decl.qty}"
                    " still to fill",
                    calendar,
                    now,
                    qty=remaining,
                )
            )

    prune_set = {s.strip().upper() for s in prune if s.strip()}
    if prune_set:
        for row in sorted(rows.values(), key=lambda r: r.seq):
            if row.seq in linked_seqs or row.symbol not in prune_set or not is_live(row, n):
                continue
            cancels.append(
                _cancel(row, "", _why(f"not owned by the file; --prune {row.symbol}", row, n))
            )
    return Plan(spec.name, (*cancels, *modifies, *places, *keeps), n)


def _why(reason: str, row: Reservation, n: date) -> str:
    """``reason``, saying so when the reservation is an active period one (already sent)."""
    if row.status_at(n) != "active":
        return reason
    sent = f" as order {row.order_no}" if row.order_no else ""
    return (
        f"{reason} (active period reservation until {row.end_date}, already sent{sent}:"
        " its later days change; that order is separate, see resv cancel-order)"
    )


def _filled_before(its: Sequence[Link], decl: Declaration, *, exclude: int) -> int:
    return sum(
        link.filled_qty
        for link in its
        if link.id != exclude and link.state == "ended" and link.spec_hash == decl.spec_hash
    )
