"""What the reservation operations return: receipts, change and bulk results, reconcile verdicts.

Plain frozen dataclasses (and the two exceptions that carry a result), shared by the blocking
and the async surface: :class:`~.drivers.Reservations` and :class:`~.drivers.AsyncReservations`
return the same types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from ..errors import KISValidationError
from .models import OrderTerms, Reservation
from .schedule import Schedule

__all__ = [
    "BulkCancelItem",
    "BulkCancelResult",
    "BulkInterrupted",
    "ChangeResult",
    "PlacePlan",
    "Progress",
    "ReconcileResult",
    "ReservationNotFoundError",
    "ReservationReceipt",
    "Verdict",
]

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
