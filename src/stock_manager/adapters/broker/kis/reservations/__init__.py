"""Reservation orders (주식예약주문 / 정정취소 / 조회): typed, paged, journaled, reconcilable.

>>> from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
>>> from stock_manager.adapters.broker.kis.reservations import Reservations
>>> resv = Reservations(KISRestClient(KISConfig()))
>>> receipt = resv.place_reservation("005930", qty=10, price=70000, side="buy")
>>> resv.modify_reservation(receipt.seq, price=69000)   # every other term is kept
>>> resv.cancel_reservation(receipt.seq)
"""

from .api import (
    PATH_LIST,
    PATH_PLACE,
    PATH_RVSECNCL,
    AsyncReservations,
    BulkCancelItem,
    BulkCancelResult,
    BulkInterrupted,
    ChangeResult,
    PlacePlan,
    ReconcileResult,
    ReservationNotFoundError,
    ReservationReceipt,
    Reservations,
)
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
