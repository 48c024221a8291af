"""Market data of the emulator: quotes, holdings, cash — and what the processing day rejects.

Serves 주식현재가 시세 (inquire-price, FHKST01010100), 매수가능조회 (inquire-psbl-order,
TTTC8908R/VTTC8908R), 매도가능수량조회 (inquire-psbl-sell, TTTC8408R, real only) and
주식잔고조회 (inquire-balance, TTTC8434R/VTTC8434R, one page) from deterministic data that
tests set through the admin API:

| Method | Path | Body |
|---|---|---|
| GET | /_emulator/market | quotes, holdings, cash |
| POST | /_emulator/market/quote | ``{"symbol","price","upper"?,"lower"?,"base"?,"tick"?,"etf"?}`` |
| POST | /_emulator/market/holding | ``{"account"?,"symbol","qty","avg_price"?}`` |
| POST | /_emulator/market/cash | ``{"account"?,"cash"}`` |
| DELETE | /_emulator/market | forget everything |

Closed days (and chk-holiday) belong to the emulator's KRX calendar (``krx_calendar.py``,
``/_emulator/calendar``).

Seeded at start (:meth:`Market.seed`): a quote for every listed code (``fields.DEMO_QUOTES``)
and ``EmulatorConfig.starting_cash`` for every account. A code outside the listing (and never
given a quote here) is unknown: inquire-price and order-resv refuse it with ``APBK8023``, as
KIS refuses a code it does not list (KIS's own code for it is not public), unless
``EmulatorConfig.any_symbol`` is on; then a code without a quote answers ``EMU00404`` ("the
emulator has no quote") — never an invented price. ``DELETE /_emulator/market`` forgets the
seeded data too.

Fills (the processing day, ``/_emulator/orders/fill``) move holdings and cash
(:meth:`Market.apply_fill`): a filled buy adds shares at its average price and spends cash, a
filled sell removes shares and adds cash, so inquire-balance and inquire-psbl-sell show them.

On the processing day (:meth:`Market.rejections`) a due reservation is rejected, with a
``rjct_rson2`` text, when the market data says KIS would reject it: price off the tick,
outside the next session's band (close ±30 %), buy amount above the cash, sell quantity above
the holding. A symbol without a quote is not judged on price, an account without cash or
holdings data not on funds or quantity. The texts are the emulator's wording: KIS's exact
rejection texts are not documented.

The emulator keeps its own KRX rules here (tick table since 2023-01-25, ±30 % band) and
imports nothing from the client side.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stock_manager.emulator.admin_fields import as_int, need, opt_int
from stock_manager.emulator.config import EmulatorConfig
from stock_manager.emulator.fields import DEMO_ETFS, DEMO_QUOTES, SYMBOL_NAMES
from stock_manager.emulator.gateway import reject
from stock_manager.emulator.handlers import (
    Ctx,
    Reply,
    check_account,
    order_date,
    register_listed_check,
)
from stock_manager.emulator.messages import envelope

if TYPE_CHECKING:
    from stock_manager.emulator.state import EmulatorState, Reservation

__all__ = [
    "REASONS",
    "Market",
    "Quote",
    "market_of",
    "next_band",
    "tick_size",
]

QUOTATIONS = "/uapi/domestic-stock/v1/quotations"
TRADING = "/uapi/domestic-stock/v1/trading"

# KRX stock tick sizes since 2023-01-25; ETF/ETN/ELW keep a flat 5 won.
_TICKS = ((2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500))
REASONS = {
    "tick": "호가단위 오류입니다(주문단가 확인)",
    "band": "상/하한가 범위를 벗어난 주문입니다",
    "funds": "주문가능금액을 초과 하였습니다",
    "holdings": "주문가능수량을 초과 하였습니다",
}


def tick_size(price: int, *, etf: bool = False) -> int:
    """KRX tick at ``price`` won."""
    if etf:
        return 5
    for bound, tick in _TICKS:
        if price < bound:
            return tick
    return 1_000


def next_band(base: int, *, etf: bool = False) -> tuple[int, int]:
    """(lower, upper) of a session with base price ``base``: ±30 %, on ticks."""
    step = tick_size(base, etf=etf)
    width = (base * 30 // 100) // step * step
    upper = base + width
    upper -= upper % tick_size(upper, etf=etf)
    lower = max(base - width, 1)
    lt = tick_size(lower, etf=etf)
    return -(-lower // lt) * lt, upper


@dataclass
class Quote:
    """One symbol's price data (won)."""

    symbol: str
    price: int  # stck_prpr: after the close, the close = next session's base
    base: int  # stck_sdpr: today's base
    upper: int  # stck_mxpr: today's limits
    lower: int
    tick: int
    etf: bool = False

    def output(self) -> dict[str, str]:
        """The inquire-price ``output`` (the fields the client reads, and a few more)."""
        return {
            "iscd_stat_cls_code": "55",
            "rprs_mrkt_kor_name": "KOSPI200" if not self.etf else "ETF",
            "temp_stop_yn": "N",
            "stck_prpr": str(self.price),
            "prdy_vrss": str(self.price - self.base),
            "stck_sdpr": str(self.base),
            "stck_mxpr": str(self.upper),
            "stck_llam": str(self.lower),
            "aspr_unit": str(self.tick),
        }


class Market:
    """Quotes, holdings and cash of one emulator instance."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.quotes: dict[str, Quote] = {}
        self.holdings: dict[str, dict[str, tuple[int, int]]] = {}  # account -> sym -> (qty, avg)
        self.cash: dict[str, int] = {}

    # --- set-up -------------------------------------------------------------------------
    def set_quote(
        self,
        symbol: str,
        price: int,
        *,
        base: int | None = None,
        upper: int | None = None,
        lower: int | None = None,
        tick: int | None = None,
        etf: bool = False,
    ) -> Quote:
        """Set a symbol's price; limits and tick default to KRX's rules."""
        base = base or price
        lo, up = next_band(base, etf=etf)
        q = Quote(
            symbol,
            price,
            base,
            upper or up,
            lower or lo,
            tick or tick_size(price, etf=etf),
            etf,
        )
        with self.lock:
            self.quotes[symbol] = q
        return q

    def set_holding(self, account: str, symbol: str, qty: int, avg_price: int = 0) -> None:
        """Set how many shares of ``symbol`` the account holds (0 removes it)."""
        with self.lock:
            rows = self.holdings.setdefault(account, {})
            if qty <= 0:
                rows.pop(symbol, None)
            else:
                rows[symbol] = (qty, avg_price)

    def set_cash(self, account: str, cash: int) -> None:
        """Set the account's orderable cash (won)."""
        with self.lock:
            self.cash[account] = cash

    def seed(self, config: EmulatorConfig) -> None:
        """The start of a session: quotes of the listed codes, cash of every account."""
        for symbol, price in DEMO_QUOTES.items():
            self.set_quote(symbol, price, etf=symbol in DEMO_ETFS)
        if config.starting_cash is not None:
            accounts = {*config.accounts, *(a for k in config.keys for a in k.accounts)}
            for account in sorted(accounts):
                self.set_cash(account, config.starting_cash)

    def listed(self, symbol: str) -> bool:
        """Whether ``symbol`` is a code the emulator's market knows (listed or quoted)."""
        with self.lock:
            return symbol in SYMBOL_NAMES or symbol in self.quotes

    def apply_fill(self, account: str, symbol: str, side: str, qty: int, amount: int) -> None:
        """Move holdings and cash by a fill of ``qty`` shares worth ``amount`` won.

        ``side`` is KIS's code: "02" buy (shares in at the new average price, cash out),
        "01" sell (shares out, cash in). Cash moves only for accounts with cash data.
        """
        if qty <= 0:
            return
        with self.lock:
            rows = self.holdings.setdefault(account, {})
            held, avg = rows.get(symbol, (0, 0))
            if side == "02":
                total = held + qty
                rows[symbol] = (total, (held * avg + amount) // total)
                if account in self.cash:
                    self.cash[account] -= amount
            else:
                left = held - qty
                if left > 0:
                    rows[symbol] = (left, avg)
                else:
                    rows.pop(symbol, None)
                if account in self.cash:
                    self.cash[account] += amount

    def tracks(self, account: str) -> bool:
        """Whether the market has cash or holdings data of ``account`` (then sells are judged)."""
        return account in self.cash or account in self.holdings

    def clear(self) -> None:
        """Forget every quote, holding and cash figure."""
        with self.lock:
            self.quotes.clear()
            self.holdings.clear()
            self.cash.clear()

    def snapshot(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        with self.lock:
            return {
                "quotes": {k: asdict(v) for k, v in self.quotes.items()},
                "holdings": {
                    a: {s: {"qty": q, "avg_price": p} for s, (q, p) in rows.items()}
                    for a, rows in self.holdings.items()
                },
                "cash": dict(self.cash),
            }

    # --- processing day -----------------------------------------------------------------
    def rejection(
        self, r: Reservation, spent: dict[str, int], sold: dict[tuple[str, str], int]
    ) -> str:
        """Why KIS would reject reservation ``r`` on its processing day ("" = it would not).

        ``spent``/``sold`` accumulate what earlier reservations of the same day used.
        """
        q = self.quotes.get(r.pdno)
        priced = r.ord_dvsn in ("00", "02")
        if q is not None and priced:
            if r.unpr % tick_size(r.unpr, etf=q.etf):
                return REASONS["tick"]
            lower, upper = next_band(q.price, etf=q.etf)
            if not lower <= r.unpr <= upper:
                return REASONS["band"]
        remaining = r.qty - r.tot_ccld_qty
        if r.sll_buy == "02" and r.account in self.cash:
            unit = r.unpr if priced else (next_band(q.price, etf=q.etf)[1] if q else 0)
            need = remaining * unit
            if spent.get(r.account, 0) + need > self.cash[r.account]:
                return REASONS["funds"]
            spent[r.account] = spent.get(r.account, 0) + need
        if r.sll_buy == "01" and self.tracks(r.account):
            held = self.holdings.get(r.account, {}).get(r.pdno, (0, 0))[0]
            key = (r.account, r.pdno)
            if sold.get(key, 0) + remaining > held:
                return REASONS["holdings"]
            sold[key] = sold.get(key, 0) + remaining
        return ""

    def rejections(self, state: EmulatorState, now: datetime) -> dict[str, str]:
        """``{seq: rjct_rson2}`` of the reservations due at ``now`` that KIS would reject."""
        day = order_date(now).strftime("%Y%m%d")
        spent: dict[str, int] = {}
        sold: dict[tuple[str, str], int] = {}
        out: dict[str, str] = {}
        with state.lock, self.lock:
            for r in sorted(state.reservations.values(), key=lambda r: r.seq):
                if r.status != "pending" or r.ord_dt > day:
                    continue
                why = self.rejection(r, spent, sold)
                if why:
                    out[str(r.seq)] = why
        return out

    def apply_reasons(self, state: EmulatorState, reasons: dict[str, str]) -> None:
        """Write our ``rjct_rson2`` texts onto reservations processing rejected."""
        with state.lock:
            for seq, why in reasons.items():
                r = state.reservations.get(int(seq))
                if r is not None and r.prcs_rslt == "거부":
                    r.rjct_rson2 = why
                    state.save_reservation(r)

    # --- served APIs --------------------------------------------------------------------
    def inquire_price(self, ctx: Ctx) -> Reply:
        """GET inquire-price: the quote; an unknown code is refused, none is invented."""
        symbol = str(ctx.data.get("FID_INPUT_ISCD", "")).strip().upper().removeprefix("Q")
        market = str(ctx.data.get("FID_COND_MRKT_DIV_CODE", "")).strip().upper()
        if not symbol:
            raise reject("APBK8001", "FID_INPUT_ISCD")
        if market not in ("J", "NX", "UN"):
            raise reject("APBK8020", "FID_COND_MRKT_DIV_CODE")
        with self.lock:
            q = self.quotes.get(symbol)
        if q is None:
            if not self.listed(symbol) and not ctx.config.any_symbol:
                raise reject("APBK8023", f"FID_INPUT_ISCD {symbol[:12]} is not listed")
            raise reject("EMU00404", f"no quote for {symbol[:12]}")
        status, body = envelope("KIOK0460", output=q.output())
        return status, body, {}

    def inquire_psbl_order(self, ctx: Ctx) -> Reply:
        """GET inquire-psbl-order: orderable cash and the max quantity at the given price."""
        account = _account(ctx)
        symbol = str(ctx.data.get("PDNO", "")).strip()
        price_s = str(ctx.data.get("ORD_UNPR", "")).replace(",", "").strip()
        with self.lock:
            cash = self.cash.get(account, 0)
            q = self.quotes.get(symbol)
        price = int(price_s) if price_s.isdigit() and int(price_s) > 0 else 0
        if not price and q is not None:
            price = next_band(q.price, etf=q.etf)[1]  # market order: held at the upper limit
        max_qty = cash // price if price else 0
        out = {
            "ord_psbl_cash": str(cash),
            "ord_psbl_sbst": "0",
            "ruse_psbl_amt": "0",
            "psbl_qty_calc_unpr": str(price),
            "nrcvb_buy_amt": str(cash),
            "nrcvb_buy_qty": str(max_qty),
            "max_buy_amt": str(cash),
            "max_buy_qty": str(max_qty),
            "cma_evlu_amt": "0",
        }
        status, body = envelope("KIOK0460", output=out)
        return status, body, {}

    def inquire_psbl_sell(self, ctx: Ctx) -> Reply:
        """GET inquire-psbl-sell: the orderable quantity of one holding."""
        account = _account(ctx)
        symbol = str(ctx.data.get("PDNO", "")).strip()
        if not symbol:
            raise reject("APBK8001", "PDNO")
        with self.lock:
            qty, avg = self.holdings.get(account, {}).get(symbol, (0, 0))
            q = self.quotes.get(symbol)
        row = _holding_row(symbol, qty, avg, q)
        status, body = envelope("KIOK0460", output1=row)
        return status, body, {}

    def inquire_balance(self, ctx: Ctx) -> Reply:
        """GET inquire-balance: every holding (one page) and a cash summary."""
        account = _account(ctx)
        with self.lock:
            rows = [
                _holding_row(s, qty, avg, self.quotes.get(s))
                for s, (qty, avg) in sorted(self.holdings.get(account, {}).items())
            ]
            cash = self.cash.get(account, 0)
        summary = {"dnca_tot_amt": str(cash), "nxdy_excc_amt": str(cash), "tot_evlu_amt": str(cash)}
        status, body = envelope(
            "KIOK0460",
            ctx_area_fk100="".ljust(100),
            ctx_area_nk100="".ljust(100),
            output1=rows,
            output2=[summary],
        )
        return status, body, {"tr_cont": "D"}


def check_listed(ctx: Ctx, symbol: str) -> None:
    """Refuse an order for a code the market does not know (unless ``any_symbol``)."""
    if not ctx.config.any_symbol and not market_of(ctx.state).listed(symbol):
        raise reject("APBK8023", f"PDNO {symbol} is not listed")


# The order handlers ask this module whether a code is listed, without importing it (it imports
# them for the endpoint table): the check is registered with them here, once.
register_listed_check(check_listed)


def _account(ctx: Ctx) -> str:
    values = {k: str(ctx.data.get(k, "")) for k in ("CANO", "ACNT_PRDT_CD")}
    if not values["CANO"].strip():
        raise reject("OPSQ2000", "CANO")
    return check_account(ctx.config, values)


def _holding_row(symbol: str, qty: int, avg: int, q: Quote | None) -> dict[str, str]:
    now = q.price if q else avg
    return {
        "pdno": symbol,
        "prdt_name": symbol,
        "hldg_qty": str(qty),
        "cblc_qty": str(qty),
        "ord_psbl_qty": str(qty),
        "pchs_avg_pric": str(avg),
        "pchs_amt": str(qty * avg),
        "prpr": str(now),
        "now_pric": str(now),
        "evlu_amt": str(qty * now),
    }


# --- wiring -------------------------------------------------------------------------------------
_MARKETS: weakref.WeakKeyDictionary[EmulatorState, Market] = weakref.WeakKeyDictionary()
_MARKETS_LOCK = threading.Lock()


def market_of(state: EmulatorState) -> Market:
    """The market data of the emulator owning ``state`` (created on first use)."""
    with _MARKETS_LOCK:
        m = _MARKETS.get(state)
        if m is None:
            m = _MARKETS[state] = Market()
        return m


def _handler(name: str) -> Any:
    def handle(ctx: Ctx) -> Reply:
        method: Any = getattr(market_of(ctx.state), name)
        result: Reply = method(ctx)
        return result

    return handle


HANDLERS: dict[str, Any] = {
    "inquire-price": _handler("inquire_price"),
    "inquire-psbl-order": _handler("inquire_psbl_order"),
    "inquire-psbl-sell": _handler("inquire_psbl_sell"),
    "inquire-balance": _handler("inquire_balance"),
}


async def admin(
    config: EmulatorConfig, state: EmulatorState, method: str, path: str, d: dict[str, Any]
) -> tuple[int, Any]:
    """Serve ``/_emulator/market...`` (see the module docstring)."""

    m = market_of(state)
    account = str(d.get("account") or config.account)
    if path == "/market" and method == "GET":
        return 200, m.snapshot()
    if path == "/market" and method == "DELETE":
        m.clear()
        return 200, {"cleared": True}
    if path == "/market/quote" and method == "POST":
        q = m.set_quote(
            str(need(d, "symbol")),
            as_int(d, "price"),
            base=opt_int(d, "base"),
            upper=opt_int(d, "upper"),
            lower=opt_int(d, "lower"),
            tick=opt_int(d, "tick"),
            etf=bool(d.get("etf", False)),
        )
        return 200, asdict(q)
    if path == "/market/holding" and method == "POST":
        symbol, qty = str(need(d, "symbol")), as_int(d, "qty")
        m.set_holding(account, symbol, qty, as_int(d, "avg_price", 0))
        return 200, m.snapshot()["holdings"]
    if path == "/market/cash" and method == "POST":
        m.set_cash(account, as_int(d, "cash"))
        return 200, {"account": account, "cash": m.cash[account]}
    return 404, {"error": f"no admin route {method} /_emulator{path}"}
