"""No fill twice, none lost: the per-order fill ledger behind the notice stream.

KIS gives no fill id on either side: a WebSocket fill notice carries order number, quantity,
price and time; 주식일별주문체결조회 carries each order's cumulative filled quantity and
amount. So the identity of a fill is its place in its order's cumulative quantity, and the
ledger keeps, per order number, how much has been delivered:

* a REST row whose cumulative quantity is above what was delivered yields one ``rest`` fill
  for the difference (average price of the difference) — the fills missed while
  disconnected;
* those quantities may still be in flight as WebSocket notices (filled just before the REST
  snapshot, delivered just after): for ``window_s`` seconds a WebSocket fill of that order is
  first set against that credit and only the remainder is delivered;
* a notice can never take an order beyond its order quantity.

Absorbing errs on the side of "not twice": a genuine new fill absorbed by mistake within the
window is delivered by the next reconciliation (REST is the truth), which the stream runs as
soon as the window closes whenever something was absorbed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping

from stock_manager.notices.events import ExecutionEvent

__all__ = ["FillLedger"]


def _int(value: object) -> int:
    text = str(value or "").replace(",", "").strip()
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


class FillLedger:
    """Delivered quantity per order; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, window_s: float = 5.0) -> None:
        self._clock = clock
        self.window_s = window_s
        self._qty: dict[str, int] = {}
        self._amount: dict[str, int] = {}
        self._credit: dict[str, int] = {}
        self._credit_until = 0.0
        #: Set when a WebSocket fill was (partly) absorbed: a confirming reconcile is due.
        self.absorbed = False
        #: Duplicates suppressed so far (quantity).
        self.suppressed = 0

    def delivered(self, order_no: str) -> int:
        """Quantity of ``order_no`` delivered so far."""
        return self._qty.get(order_no.strip().zfill(10), 0)

    @property
    def window_open(self) -> bool:
        """Whether REST credit may still absorb WebSocket fills."""
        return bool(self._credit) and self._clock() < self._credit_until

    def record(self, ev: ExecutionEvent) -> None:
        """Count a fill delivered elsewhere (by the previous holder of the session, read back
        from the shared log) so that the next REST reconciliation delivers only the gap."""
        odno = ev.order_no.zfill(10)
        self._qty[odno] = self._qty.get(odno, 0) + ev.qty
        self._amount[odno] = self._amount.get(odno, 0) + ev.qty * ev.price

    def ws_fill(self, ev: ExecutionEvent) -> ExecutionEvent | None:
        """The part of a WebSocket fill not yet delivered, or ``None`` for a duplicate."""
        odno = ev.order_no.zfill(10)
        if self._credit and self._clock() >= self._credit_until:
            self._credit.clear()
        credit = self._credit.get(odno, 0)
        taken = min(ev.qty, credit)
        if taken:
            self._credit[odno] = credit - taken
            self.absorbed = True
        new = ev.qty - taken
        done = self._qty.get(odno, 0)
        if ev.order_qty > 0:
            new = min(new, max(0, ev.order_qty - done))
        self.suppressed += ev.qty - new
        if new <= 0:
            return None
        self._qty[odno] = done + new
        self._amount[odno] = self._amount.get(odno, 0) + new * ev.price
        return ev if new == ev.qty else dataclasses.replace(ev, qty=new)

    def rest_rows(self, rows: Iterable[Mapping[str, object]]) -> list[ExecutionEvent]:
        """``rest`` fills for every row whose cumulative quantity is ahead of the ledger."""
        out: list[ExecutionEvent] = []
        for row in rows:
            odno = str(row.get("odno") or "").strip().zfill(10)
            if not odno.strip("0") or str(row.get("cncl_yn") or "") == "Y":
                continue
            total, amount = _int(row.get("tot_ccld_qty")), _int(row.get("tot_ccld_amt"))
            done = self._qty.get(odno, 0)
            if total <= done:
                continue
            gap = total - done
            price = max(0, amount - self._amount.get(odno, 0)) // gap
            self._qty[odno], self._amount[odno] = total, amount
            self._credit[odno] = self._credit.get(odno, 0) + gap
            self._credit_until = self._clock() + self.window_s
            side = {"01": "sell", "02": "buy"}.get(str(row.get("sll_buy_dvsn_cd") or ""), "")
            out.append(
                ExecutionEvent(
                    kind="filled",
                    order_no=odno,
                    original_order_no=str(row.get("orgn_odno") or "").strip(),
                    symbol=str(row.get("pdno") or "").strip(),
                    side=side,  # type: ignore[arg-type]
                    qty=gap,
                    price=price,
                    order_qty=_int(row.get("ord_qty")),
                    time=str(row.get("ord_tmd") or "").strip(),
                    source="rest",
                    tr_id="inquire-daily-ccld",
                    name=str(row.get("prdt_name") or "").strip(),
                )
            )
        return out
