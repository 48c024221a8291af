"""What the notice stream yields: typed events, each saying where it came from.

``source`` is ``"ws"`` for a WebSocket notice and ``"rest"`` for a fill learnt from
주식일별주문체결조회 (REST is the truth; the WebSocket is a hint). Account numbers are masked
before an event is built, so an event can be printed, logged or posted as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from stock_manager.masking import mask_account, mask_hts_id

__all__ = [
    "Connected",
    "Disconnected",
    "ErrorEvent",
    "Event",
    "ExecutionEvent",
    "ExecutionKind",
    "GenericEvent",
    "PriceEvent",
    "Reconciled",
    "Role",
    "Source",
    "SubscriptionEvent",
    "event_from_json",
    "execution_event",
    "price_event",
]

Source = Literal["ws", "rest"]
ExecutionKind = Literal["accepted", "modified", "cancelled", "rejected", "filled"]
_PRIVATE = frozenset({"ACNT_NO", "ACNT_NAME", "CUST_ID"})


def _int(value: str | None) -> int:
    text = (value or "").strip()
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


def _masked(fields: Mapping[str, str]) -> dict[str, str]:
    out = dict(fields)
    if out.get("ACNT_NO"):
        out["ACNT_NO"] = mask_account(out["ACNT_NO"])
    if out.get("ACNT_NAME"):
        out["ACNT_NAME"] = "***"
    if out.get("CUST_ID"):  # the HTS login ID (config check shows it masked too)
        out["CUST_ID"] = mask_hts_id(out["CUST_ID"].strip())
    return out


@dataclass(frozen=True)
class Event:
    """Base of every event; ``type`` names the class for JSON output."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict with a ``type`` key."""
        return {"type": type(self).__name__, **asdict(self)}


@dataclass(frozen=True)
class ExecutionEvent(Event):
    """A domestic execution notice (H0STCNI0/H0STCNI9) or a fill learnt from REST.

    ``qty``/``price`` are the filled quantity and price for ``filled``; for the other kinds
    they are the order's quantity and price as the notice gives them. ``order_no`` and
    ``original_order_no`` are 10-digit strings (the original is blank for a new order).
    """

    kind: ExecutionKind
    order_no: str
    original_order_no: str
    symbol: str
    side: Literal["buy", "sell", ""]
    qty: int
    price: int
    order_qty: int
    time: str
    source: Source = "ws"
    tr_id: str = ""
    account: str = ""
    name: str = ""
    layout: int = 0
    fields: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class PriceEvent(Event):
    """One H0STCNT0 trade (실시간체결가)."""

    symbol: str
    time: str
    price: int
    change: int
    volume: int
    cumulative_volume: int
    source: Source = "ws"
    tr_id: str = "H0STCNT0"
    fields: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class GenericEvent(Event):
    """A record of any catalogued WebSocket TR, keyed by the catalog's field names."""

    tr_id: str
    fields: Mapping[str, str]
    source: Source = "ws"


@dataclass(frozen=True)
class ErrorEvent(Event):
    """Something the stream could not use; nothing is silently dropped.

    ``code`` is the KIS ``msg_cd`` for a refused request, or one of ``width`` (a frame whose
    field count fits no known layout; ``width`` says what arrived), ``decrypt``, ``frame``,
    ``no-key`` (an encrypted frame before its key), ``reconcile`` (REST failed).
    """

    code: str
    message: str
    tr_id: str = ""
    width: float | None = None
    source: Source = "ws"


@dataclass(frozen=True)
class SubscriptionEvent(Event):
    """A reply to (un)subscribe: ``msg_cd`` OPSP0000/0001/0002/0003.

    For the execution notice ``tr_key`` is the HTS ID, masked (``ab****``)."""

    tr_id: str
    tr_key: str
    msg_cd: str
    message: str
    active: bool
    source: Source = "ws"


@dataclass(frozen=True)
class Connected(Event):
    """A session is open (``attempt`` counts connects, from 1)."""

    url: str
    attempt: int
    source: Source = "ws"


@dataclass(frozen=True)
class Disconnected(Event):
    """The session ended; ``retry_in`` is the back-off chosen before the next attempt."""

    reason: str
    retry_in: float
    source: Source = "ws"


@dataclass(frozen=True)
class Reconciled(Event):
    """A REST reconciliation finished; ``filled_in`` fills were delivered from it."""

    orders: int
    filled_in: int
    source: Source = "rest"


@dataclass(frozen=True)
class Role(Event):
    """This process's part in the one session of its app key (:mod:`.shared`), local only.

    ``role`` is ``holder`` (this process holds the WebSocket session and publishes every event)
    or ``follower`` (it receives the holder's events); ``backend`` is ``file`` or ``redis``.
    """

    role: Literal["holder", "follower"]
    backend: str
    detail: str = ""
    source: Source = "ws"


_TYPES: dict[str, type[Event]] = {}


def event_from_json(doc: Mapping[str, Any]) -> Event:
    """The event :meth:`Event.to_json` wrote (as a holder publishes it to its followers)."""
    if not _TYPES:
        for known in (
            ExecutionEvent,
            PriceEvent,
            GenericEvent,
            ErrorEvent,
            SubscriptionEvent,
            Connected,
            Disconnected,
            Reconciled,
            Role,
        ):
            _TYPES[known.__name__] = known
    name = str(doc.get("type", ""))
    cls: type[Event] | None = _TYPES.get(name)
    if cls is None:
        raise ValueError(f"unknown event type {name!r}")
    return cls(**{k: v for k, v in doc.items() if k != "type"})


def _kind(f: Mapping[str, str]) -> ExecutionKind:
    if f.get("RFUS_YN", "0").strip() == "1":
        return "rejected"
    if f.get("CNTG_YN", "").strip() == "2":
        return "filled"
    rctf = f.get("RCTF_CLS", "0").strip()
    return "modified" if rctf == "1" else "cancelled" if rctf == "2" else "accepted"


def execution_event(tr_id: str, fields: Mapping[str, str], layout: int) -> ExecutionEvent:
    """The typed event of one notice record (either layout)."""
    kind = _kind(fields)
    price = _int(fields.get("CNTG_UNPR"))
    if kind != "filled" and not price:
        price = _int(fields.get("ODER_PRC"))  # a market order's receipt has no price of its own
    side = {"01": "sell", "02": "buy"}.get(fields.get("SELN_BYOV_CLS", "").strip(), "")
    return ExecutionEvent(
        kind=kind,
        order_no=fields.get("ODER_NO", "").strip(),
        original_order_no=fields.get("OODER_NO", "").strip(),
        symbol=fields.get("STCK_SHRN_ISCD", "").strip(),
        side=side,  # type: ignore[arg-type]
        qty=_int(fields.get("CNTG_QTY")),
        price=price,
        order_qty=_int(fields.get("ODER_QTY")),
        time=fields.get("STCK_CNTG_HOUR", "").strip(),
        tr_id=tr_id,
        account=mask_account(fields.get("ACNT_NO", "").strip()) if fields.get("ACNT_NO") else "",
        name=(fields.get("CNTG_ISNM40") or fields.get("CNTG_ISNM") or "").strip(),
        layout=layout,
        fields=_masked(fields),
    )


def price_event(tr_id: str, fields: Mapping[str, str]) -> PriceEvent:
    """The typed event of one H0STCNT0 record."""
    return PriceEvent(
        symbol=fields.get("MKSC_SHRN_ISCD", "").strip(),
        time=fields.get("STCK_CNTG_HOUR", "").strip(),
        price=_int(fields.get("STCK_PRPR")),
        change=_int(fields.get("PRDY_VRSS")),
        volume=_int(fields.get("CNTG_VOL")),
        cumulative_volume=_int(fields.get("ACML_VOL")),
        tr_id=tr_id,
        fields=dict(fields),
    )


def record_event(tr_id: str, fields: Mapping[str, str]) -> Event:
    """The event of one record of any TR: typed where known, generic otherwise."""
    from stock_manager.notices.frames import NOTICE_TRS

    if tr_id in NOTICE_TRS:
        return execution_event(tr_id, fields, len(fields))
    if tr_id == "H0STCNT0":
        return price_event(tr_id, fields)
    return GenericEvent(tr_id, _masked(fields) if _PRIVATE & fields.keys() else dict(fields))
