"""Which reservation each execution notice belongs to (``resv report``, issue #20).

A reservation becomes an ordinary order on its processing day; the report knows that order's
number (``odno``), and every notice names the order it is about (``ODER_NO``) and, for a
정정/취소 order, the order it changed (``OODER_NO``). So a notice belongs to the reservation
whose order it names, directly or through the chain of orders that changed it. A notice that
names no reservation's order (an order placed elsewhere, HTS or another app) is returned as
unlinked, never dropped and never guessed onto a reservation.

The notices are what ``stock-manager watch`` logged for the day (the one session per app key
publishes every event to its channel: a JSON-lines file on one host, a Redis stream across
hosts; :mod:`.shared`). Reading them sends nothing to KIS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from stock_manager.adapters.broker.kis.config import KISConfig
from stock_manager.notices.events import ExecutionEvent, event_from_json

__all__ = ["Linked", "day_notices", "link_notices"]

#: How many log entries one read returns at most (the file or stream is read to its end).
_READ_ROUNDS_MAX = 10_000


@dataclass
class Linked:
    """Notices by reservation sequence number, and those of no reservation's order."""

    by_seq: dict[str, list[ExecutionEvent]] = field(default_factory=dict)
    unlinked: list[ExecutionEvent] = field(default_factory=list)


def _odno(value: str) -> str:
    text = str(value or "").strip()
    return text.zfill(10) if text.isdigit() else text


#: What identifies a rejected reservation that never became an order: (symbol, side, qty, price).
Terms = tuple[str, str, int, int]


def link_notices(
    orders_of: Mapping[str, str],
    notices: Iterable[ExecutionEvent],
    rejected: Mapping[str, Terms] | None = None,
) -> Linked:
    """Group ``notices`` by the reservation whose order they name.

    ``orders_of`` maps each reservation's order number to its sequence number. A notice about
    an order that changed one of those (its ``original_order_no`` is known) also belongs to that
    reservation, and so does any later notice about the changed order.

    A rejection at processing makes no order, so its notice names none (zeros or blank).
    ``rejected`` (seq → terms of each rejected reservation) ties such a notice to the one
    rejected reservation with its symbol, side, quantity and price, and only when exactly one
    has them; two alike leave it unlinked rather than guessed.
    """
    owner = {_odno(odno): seq for odno, seq in orders_of.items() if _odno(odno)}
    by_terms: dict[Terms, list[str]] = {}
    for rejected_seq, terms in (rejected or {}).items():
        by_terms.setdefault(terms, []).append(rejected_seq)
    out = Linked()
    for ev in notices:
        if ev.kind == "rejected" and not _odno(ev.order_no).strip("0"):
            alike = by_terms.get((ev.symbol, ev.side, ev.order_qty or ev.qty, ev.price), [])
            if len(alike) == 1:
                out.by_seq.setdefault(alike[0], []).append(ev)
            else:
                out.unlinked.append(ev)
            continue
        seq = owner.get(_odno(ev.order_no))
        if seq is None and ev.original_order_no:
            seq = owner.get(_odno(ev.original_order_no))
            if seq is not None:
                owner[_odno(ev.order_no)] = seq  # the 정정/취소 order joins the chain
        if seq is None:
            out.unlinked.append(ev)
        else:
            out.by_seq.setdefault(seq, []).append(ev)
    return out


def day_notices(config: KISConfig, day: date) -> list[ExecutionEvent]:
    """The execution notices ``watch`` logged for ``day`` (empty when it did not run)."""
    from stock_manager.notices.shared import open_channel

    channel = open_channel(config, day)
    try:
        docs: list[Mapping[str, Any]] = []
        position = channel.start
        for _ in range(_READ_ROUNDS_MAX):
            entries = channel.read(position, 0.0)
            if not entries:
                break
            docs.extend(e.doc for e in entries)
            position = entries[-1].id
    finally:
        channel.close()
    events = (event_from_json(doc) for doc in docs)
    return [ev for ev in events if isinstance(ev, ExecutionEvent)]
