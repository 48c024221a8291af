"""Reservation orders (주식예약주문 / 정정취소 / 조회): typed, paged, journaled, reconcilable.

>>> from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
>>> from stock_manager.adapters.broker.kis.reservations import Reservations
>>> resv = Reservations(KISRestClient(KISConfig()))
>>> receipt = resv.place_reservation("005930", qty=10, price=70000, side="buy")
>>> resv.modify_reservation(receipt.seq, price=69000)   # every other term is kept
>>> resv.cancel_reservation(receipt.seq)

The modules, by role: :mod:`.drivers` (the two public classes), :mod:`.operations` (each
operation once, as a flow), :mod:`.rules` (bodies, windows, verdicts: no I/O),
:mod:`.results` (what the operations return), :mod:`.models` (a reservation and its terms),
:mod:`.schedule` (order and end dates), :mod:`.preflight` (checks before placing).
"""

from .drivers import AsyncReservations, Reservations
from .models import (
    BalanceType,
    OrderTerms,
    OrderType,
    Reservation,
    Side,
    StatusFilter,
    WindowPolicy,
    check_window,
)
from .results import (
    BulkCancelItem,
    BulkCancelResult,
    BulkInterrupted,
    ChangeResult,
    PlacePlan,
    ReconcileResult,
    ReservationNotFoundError,
    ReservationReceipt,
)
from .rules import PATH_LIST, PATH_PLACE, PATH_RVSECNCL
from .schedule import EndDatePolicy, Schedule

__all__ = [
    "PATH_LIST",
    "PATH_PLACE",
    "PATH_RVSECNCL",
    "AsyncReservations",
    "BalanceType",
    "BulkCancelItem",
    "BulkCancelResult",
    "BulkInterrupted",
    "ChangeResult",
    "EndDatePolicy",
    "OrderTerms",
    "OrderType",
    "PlacePlan",
    "ReconcileResult",
    "Reservation",
    "ReservationNotFoundError",
    "ReservationReceipt",
    "Reservations",
    "Schedule",
    "Side",
    "StatusFilter",
    "WindowPolicy",
    "check_window",
]
