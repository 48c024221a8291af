"""The two public reservation classes: the operations of :mod:`.operations`, driven blocking
(:class:`Reservations`) or awaited (:class:`AsyncReservations`).

Each is a base class and a marker, nothing more (see :mod:`.._surface`): a method of one has
the name, signature and docstring of the other, only the calling convention differs.
"""

from __future__ import annotations

from .._surface import Awaiting, Blocking
from ..client import AsyncKISRestClient, KISRestClient
from .operations import _ReservationOps

__all__ = ["AsyncReservations", "Reservations"]


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
