"""The ordinary order a reservation became: typed rows of 주식일별주문체결조회 and the
정정/취소 request for it.

Pure pieces only (request parameters, parsing, the fill summary of an order chain); the
drivers in :mod:`stock_manager.manager.manager` send them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from stock_manager.adapters.broker.kis.errors import KISValidationError

__all__ = [
    "DAILY_CCLD_OLD_TR_ID",
    "DAILY_CCLD_TR_ID",
    "PATH_DAILY_CCLD",
    "PATH_ORDER_RVSECNCL",
    "DailyOrder",
    "OrderFills",
    "daily_ccld_params",
    "daily_ccld_tr_id",
    "fills_of",
    "judge_order_change",
    "order_change_body",
]

PATH_DAILY_CCLD = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"
PATH_ORDER_RVSECNCL = "/uapi/domestic-stock/v1/trading/order-rvsecncl"
DAILY_CCLD_TR_ID = "TTTC0081R"  # orders of the last three months
DAILY_CCLD_OLD_TR_ID = "CTSC9215R"  # older orders
DAILY_CCLD_PAPER = {"TTTC0081R": "VTTC0081R", "CTSC9215R": "VTSC9215R"}
# "Within three months" counted conservatively in days (KIS does not say how it counts).
_THREE_MONTHS = timedelta(days=89)


def daily_ccld_tr_id(start: date, today: date, *, paper: bool = False) -> str:
    """TTTC0081R when ``start`` lies within three months of ``today``, else CTSC9215R."""
    tr = DAILY_CCLD_TR_ID if start >= today - _THREE_MONTHS else DAILY_CCLD_OLD_TR_ID
    return DAILY_CCLD_PAPER[tr] if paper else tr


def daily_ccld_params(
    account: Mapping[str, str], start: date, end: date, *, odno: str = "", symbol: str = ""
) -> dict[str, str]:
    """Query of 주식일별주문체결조회: every order of ``start``..``end`` (all sides, all fills)."""
    if start > end:
        raise KISValidationError(f"start {start} is after end {end}")
    return {
        **account,
        "INQR_STRT_DT": start.strftime("%Y%m%d"),
        "INQR_END_DT": end.strftime("%Y%m%d"),
        "SLL_BUY_DVSN_CD": "00",
        "PDNO": symbol,
        "ORD_GNO_BRNO": "",
        "ODNO": odno,
        "CCLD_DVSN": "00",
        "INQR_DVSN": "01",
        "INQR_DVSN_1": "",
        "INQR_DVSN_3": "00",
        "EXCG_ID_DVSN_CD": "KRX",
        "CTX_AREA_FK100": "",
        "CTX_AREA_NK100": "",
    }


def _int(value: Any) -> int:
    text = str(value or "").replace(",", "").strip()
    if not text:
        return 0
    return int(Decimal(text))


def _dec(value: Any) -> Decimal:
    text = str(value or "").replace(",", "").strip()
    return Decimal(text) if text else Decimal(0)


@dataclass(frozen=True)
class DailyOrder:
    """One row (``output1``) of 주식일별주문체결조회."""

    order_date: date | None
    odno: str
    original_odno: str
    branch: str
    symbol: str
    name: str
    side: str  # "01" sell, "02" buy
    order_type: str
    qty: int
    price: Decimal
    order_time: str
    filled_qty: int
    filled_amount: Decimal
    avg_price: Decimal
    cancel: bool
    cancelled_qty: int
    remaining_qty: int
    rejected_qty: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DailyOrder:
        """Parse a KIS row (any key case, string values)."""
        low = {str(k).lower(): v for k, v in row.items()}

        def s(key: str) -> str:
            return str(low.get(key, "") or "").strip()

        d = s("ord_dt")
        return cls(
            order_date=date(int(d[:4]), int(d[4:6]), int(d[6:8])) if len(d) == 8 else None,
            odno=s("odno"),
            original_odno=s("orgn_odno"),
            branch=s("ord_gno_brno"),
            symbol=s("pdno"),
            name=s("prdt_name"),
            side=s("sll_buy_dvsn_cd"),
            order_type=s("ord_dvsn_cd"),
            qty=_int(s("ord_qty")),
            price=_dec(s("ord_unpr")),
            order_time=s("ord_tmd"),
            filled_qty=_int(s("tot_ccld_qty")),
            filled_amount=_dec(s("tot_ccld_amt")),
            avg_price=_dec(s("avg_prvs")),
            cancel=s("cncl_yn").upper() == "Y",
            cancelled_qty=_int(s("cnc_cfrm_qty")),
            remaining_qty=_int(s("rmn_qty")),
            rejected_qty=_int(s("rjct_qty")),
        )


FillState = Literal["filled", "partial", "unfilled", "none"]


@dataclass(frozen=True)
class OrderFills:
    """The fills of the order a reservation became, its 정정 orders included."""

    odno: str
    live_odno: str  # the order to modify/cancel now (the latest 정정 with an open quantity)
    branch: str
    order_type: str
    ordered_qty: int
    filled_qty: int
    filled_amount: Decimal
    avg_price: Decimal
    cancelled_qty: int
    remaining_qty: int
    found: bool = True

    @property
    def state(self) -> FillState:
        """filled / partial / unfilled (``none``: the order was not found)."""
        if not self.found:
            return "none"
        if self.filled_qty and self.filled_qty >= self.ordered_qty:
            return "filled"
        return "partial" if self.filled_qty else "unfilled"


def fills_of(odno: str, orders: Iterable[DailyOrder]) -> OrderFills:
    """Sum the fills of order ``odno`` and every 정정/취소 order chained to it."""
    rows = list(orders)
    by_parent: dict[str, list[DailyOrder]] = {}
    for o in rows:
        if o.original_odno:
            by_parent.setdefault(o.original_odno.zfill(10), []).append(o)
    root = next((o for o in rows if o.odno.zfill(10) == odno.zfill(10)), None)
    if root is None:
        z = Decimal(0)
        return OrderFills(odno, "", "", "", 0, 0, z, z, 0, 0, found=False)
    chain, todo = [root], [root]
    while todo:
        for child in by_parent.get(todo.pop().odno.zfill(10), []):
            chain.append(child)
            todo.append(child)
    live = [o for o in chain if not o.cancel]
    filled = sum(o.filled_qty for o in live)
    amount = sum((o.filled_amount for o in live), Decimal(0))
    open_rows = [o for o in live if o.remaining_qty > 0]
    current = open_rows[-1] if open_rows else root
    return OrderFills(
        odno=root.odno,
        live_odno=current.odno if open_rows else "",
        branch=current.branch or root.branch,
        order_type=current.order_type or root.order_type,
        ordered_qty=root.qty,
        filled_qty=filled,
        filled_amount=amount,
        avg_price=(amount / filled).quantize(Decimal(1)) if filled else Decimal(0),
        cancelled_qty=sum(o.qty for o in chain if o.cancel),
        remaining_qty=sum(o.remaining_qty for o in live),
    )


def order_change_body(
    account: Mapping[str, str],
    fills: OrderFills,
    action: Literal["cancel", "modify"],
    price: Decimal | None = None,
) -> dict[str, str]:
    """The 주식주문(정정취소) body that cancels, or re-prices, the whole open remainder."""
    if not fills.found:
        raise KISValidationError(f"order {fills.odno} is not in today's order list")
    if not fills.live_odno or fills.remaining_qty <= 0:
        raise KISValidationError(
            f"order {fills.odno} has nothing open (filled {fills.filled_qty},"
            f" cancelled {fills.cancelled_qty}); nothing to {action}"
        )
    if action == "modify":
        if price is None or price <= 0 or price != price.to_integral_value():
            raise KISValidationError("modify-order needs --price, a whole number of won above 0")
        unpr = format(price.quantize(Decimal(1)), "f")
    else:
        unpr = "0"
    return {
        **account,
        "KRX_FWDG_ORD_ORGNO": fills.branch,
        "ORGN_ODNO": fills.live_odno,
        # A re-priced market order becomes a limit order; a cancel keeps the order's type.
        "ORD_DVSN": "00" if action == "modify" and fills.order_type == "01" else fills.order_type,
        "RVSE_CNCL_DVSN_CD": "02" if action == "cancel" else "01",
        "ORD_QTY": "0",
        "ORD_UNPR": unpr,
        "QTY_ALL_ORD_YN": "Y",
        "EXCG_ID_DVSN_CD": "KRX",
    }


def judge_order_change(
    request: Mapping[str, Any], orders: Iterable[DailyOrder]
) -> tuple[bool | None, str]:
    """Whether a journaled 정정/취소 of an ordinary order took effect, from that day's orders.

    Applied: a cancel row (or a 정정 row at the requested price) names the order as its
    original. Not applied: the order is listed and carries no such row. Unknown: the order is
    not listed at all.
    """
    orgn = str(request.get("ORGN_ODNO", "")).strip().zfill(10)
    kind = str(request.get("RVSE_CNCL_DVSN_CD", "")).strip()
    rows = list(orders)
    children = [o for o in rows if o.original_odno.zfill(10) == orgn]
    if kind == "02":
        match = [c for c in children if c.cancel]
    else:
        price = _dec(request.get("ORD_UNPR", "0"))
        match = [c for c in children if not c.cancel and c.price == price]
    if match:
        verb = "cancelled" if kind == "02" else "re-priced"
        return True, f"order {orgn} was {verb} as order {match[-1].odno}"
    if not any(o.odno.zfill(10) == orgn for o in rows):
        return None, f"order {orgn} is not in that day's order list"
    return False, f"order {orgn} shows no {'cancel' if kind == '02' else 'modify'}"
