"""What ``stock-manager watch`` keeps and says: the day's orders, a summary, webhook texts.

Written once for any front end: :class:`WatchBook` folds events into per-order rows and
counts; :func:`notice_text` is the one line a person reads (terminal, Slack-style ``text``);
:class:`Webhook` posts fills and rejections in the background, in order, so a slow webhook
never delays the notice stream. Account numbers arrive masked in the events
(:mod:`.events`); nothing here sees a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from stock_manager.notices.events import (
    Connected,
    Disconnected,
    ErrorEvent,
    Event,
    ExecutionEvent,
    Role,
)

__all__ = [
    "NOTIFY_KINDS",
    "NOTIFY_TIMEOUT_S",
    "OrderRow",
    "WatchBook",
    "Webhook",
    "krx_symbol",
    "notice_text",
    "webhook_payload",
]

#: The notices posted to ``--notify``.
NOTIFY_KINDS = frozenset({"filled", "rejected"})
#: As ``resv report --notify`` (manager.NOTIFY_TIMEOUT_S): a webhook gets 10 s per post.
NOTIFY_TIMEOUT_S = 10.0
_SYMBOL = re.compile(r"[0-9][0-9A-Z]{4}[0-9]")


def krx_symbol(value: str) -> str:
    """A 6-character KRX code (``005930``, ``0009K0``; a leading ``A`` is dropped), upper-case;
    :class:`ValueError` otherwise. The same rule as the reservation terms' symbol."""
    text = value.strip().upper().removeprefix("A") if value.isascii() else ""
    if not _SYMBOL.fullmatch(text):
        raise ValueError(f"{value!r} is not a 6-character KRX code like 005930")
    return text


def notice_text(ev: ExecutionEvent) -> str:
    """One line for a person: ``filled: buy 4 x 005930 삼성전자 @ 69,900 (order …, rest)``."""
    what = f"{ev.side or '?'} {ev.qty:,} x {ev.symbol} {ev.name}".rstrip()
    price = f" @ {ev.price:,}" if ev.price else ""
    where = f"order {ev.order_no}" + (
        f" (was {ev.original_order_no})" if ev.original_order_no.strip("0") else ""
    )
    extra = f", account {ev.account}" if ev.account else ""
    src = ", from REST" if ev.source == "rest" else ""
    return f"{ev.kind}: {what}{price} — {where}{extra}{src}"


def webhook_payload(ev: ExecutionEvent) -> dict[str, Any]:
    """The JSON posted for one notice: Slack-style ``text`` plus the event's plain facts
    (masked account, no raw fields, no secret)."""
    facts = {k: v for k, v in ev.to_json().items() if k not in ("fields", "tr_id", "layout")}
    return {"text": notice_text(ev), "event": facts}


@dataclass
class OrderRow:
    """One order as the notices told it."""

    order_no: str
    symbol: str = ""
    name: str = ""
    side: str = ""
    order_qty: int = 0
    price: int = 0
    filled: int = 0
    amount: int = 0
    state: str = ""
    time: str = ""

    @property
    def avg_price(self) -> int:
        """Average fill price (0 before any fill)."""
        return self.amount // self.filled if self.filled else 0


@dataclass
class WatchBook:
    """Orders and counts folded from events (what the live view and the summary show)."""

    symbols: frozenset[str] = frozenset()
    orders: dict[str, OrderRow] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    filled_qty: int = 0
    filled_amount: int = 0
    rest_fills: int = 0
    connects: int = 0
    disconnects: int = 0
    errors: int = 0
    role: str = ""
    takeovers: int = 0
    notified: int = 0
    notify_failed: int = 0

    def wants(self, ev: Event) -> bool:
        """Whether ``ev`` passes the ``--symbol`` filter (non-execution events always do)."""
        return not (
            self.symbols and isinstance(ev, ExecutionEvent) and ev.symbol not in self.symbols
        )

    def add(self, ev: Event) -> None:
        """Fold one (wanted) event in."""
        if isinstance(ev, Role):
            if ev.role == "holder" and self.role == "follower":
                self.takeovers += 1
            self.role = ev.role
        elif isinstance(ev, Connected):
            self.connects += 1
        elif isinstance(ev, Disconnected):
            self.disconnects += 1
        elif isinstance(ev, ErrorEvent):
            self.errors += 1
        if not isinstance(ev, ExecutionEvent):
            return
        self.counts[ev.kind] = self.counts.get(ev.kind, 0) + 1
        row = self.orders.get(ev.order_no)
        if row is None:
            row = self.orders[ev.order_no] = OrderRow(ev.order_no)
        row.symbol = ev.symbol or row.symbol
        row.name = ev.name or row.name
        row.side = ev.side or row.side
        row.order_qty = ev.order_qty or row.order_qty
        row.time = ev.time or row.time
        if ev.kind == "filled":
            row.filled += ev.qty
            row.amount += ev.qty * ev.price
            self.filled_qty += ev.qty
            self.filled_amount += ev.qty * ev.price
            self.rest_fills += ev.source == "rest"
            done = row.order_qty and row.filled >= row.order_qty
            row.state = "filled" if done else "partly filled"
        else:
            if ev.price and not row.price:
                row.price = ev.price
            row.state = ev.kind

    def summary(self) -> dict[str, Any]:
        """The summary printed on Ctrl-C (JSON-able)."""
        return {
            "type": "Summary",
            "orders": len(self.orders),
            "notices": dict(sorted(self.counts.items())),
            "fills": self.counts.get("filled", 0),
            "filled_qty": self.filled_qty,
            "filled_amount": self.filled_amount,
            "rest_fills": self.rest_fills,
            "connects": self.connects,
            "disconnects": self.disconnects,
            "errors": self.errors,
            "role": self.role,
            "takeovers": self.takeovers,
            "notified": self.notified,
            "notify_failed": self.notify_failed,
        }

    def summary_text(self) -> str:
        """The summary as one line."""
        s = self.summary()
        kinds = ", ".join(f"{k} {v}" for k, v in s["notices"].items()) or "no notices"
        return (
            f"{s['orders']} orders, {kinds}; filled {s['filled_qty']:,} shares"
            f" for {s['filled_amount']:,} KRW ({s['rest_fills']} fills from REST);"
            f" {s['connects']} connects, {s['disconnects']} drops; this process was the"
            f" {s['role'] or '?'}"
            + (f", notified {s['notified']}" if s["notified"] or s["notify_failed"] else "")
            + (f", {s['notify_failed']} posts failed" if s["notify_failed"] else "")
        )


class Webhook:
    """Posts notices to a URL, one at a time and in order, off the event path."""

    def __init__(self, url: str, book: WatchBook, *, timeout: float = NOTIFY_TIMEOUT_S) -> None:
        self.url = url
        self.book = book
        self.timeout = timeout
        self.problems: list[str] = []
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def offer(self, ev: Event) -> None:
        """Queue ``ev`` when it is a fill or a rejection."""
        if isinstance(ev, ExecutionEvent) and ev.kind in NOTIFY_KINDS:
            if self._task is None:
                self._task = asyncio.create_task(self._run())
            self._queue.put_nowait(webhook_payload(ev))

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            while (doc := await self._queue.get()) is not None:
                try:
                    resp = await http.post(self.url, json=doc)
                except httpx.HTTPError as exc:
                    problem: str | None = f"notify failed: {type(exc).__name__}: {exc}"
                else:
                    problem = (
                        f"notify failed: HTTP {resp.status_code}"
                        if resp.status_code >= 300
                        else None
                    )
                if problem:
                    self.book.notify_failed += 1
                    self.problems.append(problem)
                else:
                    self.book.notified += 1

    async def drain(self, timeout: float) -> None:
        """Send what is queued (waiting at most ``timeout``), then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
