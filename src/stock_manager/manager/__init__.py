"""The reservation manager: the layer above the reservation API.

* the morning report — what KIS did with each reservation on a session, with the fills of the
  ordinary order it became (:meth:`ReservationManager.report`, :func:`notify`);
* the order a reservation became — cancel or re-price today's order from reservation SEQ
  (:meth:`ReservationManager.cancel_order`, :meth:`ReservationManager.modify_order`);
* standing reservations declared in a TOML file — :func:`load_spec`, then
  :meth:`ReservationManager.plan` / :meth:`ReservationManager.apply` (Terraform-shaped:
  declared × observed → diff → idempotent convergence, ids linked to sequence numbers in a
  local SQLite file beside the journal).

>>> from stock_manager.adapters.broker.kis import KISRestClient
>>> from stock_manager.manager import ReservationManager, load_spec
>>> m = ReservationManager(KISRestClient())
>>> print(m.report().text)
>>> result = m.apply(load_spec("standing.toml"))

:class:`AsyncReservationManager` offers the same over the async client.
"""

from .calendar import Calendar, WeekendCalendar, default_calendar
from .links import Link, LinkStore, default_links_path
from .manager import (
    ApplyItem,
    ApplyResult,
    AsyncReservationManager,
    ManagerBusyError,
    OrderChangeResult,
    OutsideWindowError,
    ReservationManager,
    notify,
)
from .orders import DailyOrder, OrderFills, fills_of
from .plan import Plan, PlanItem, desired_end, make_plan, order_day
from .report import REPORT_SCHEMA, Report, ReportRow, build_report, latest_session
from .spec import Declaration, SpecError, StandingSpec, load_spec, parse_spec

__all__ = [
    "REPORT_SCHEMA",
    "ApplyItem",
    "ApplyResult",
    "AsyncReservationManager",
    "Calendar",
    "DailyOrder",
    "Declaration",
    "Link",
    "LinkStore",
    "ManagerBusyError",
    "OrderChangeResult",
    "OrderFills",
    "OutsideWindowError",
    "Plan",
    "PlanItem",
    "Report",
    "ReportRow",
    "ReservationManager",
    "SpecError",
    "StandingSpec",
    "WeekendCalendar",
    "build_report",
    "default_calendar",
    "default_links_path",
    "desired_end",
    "fills_of",
    "latest_session",
    "load_spec",
    "make_plan",
    "notify",
    "order_day",
    "parse_spec",
]
