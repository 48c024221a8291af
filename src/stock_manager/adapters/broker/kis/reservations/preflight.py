"""Pre-flight: catch before sending what KIS would reject on the processing day, unannounced.

A reservation KIS accepts in the evening is turned into an ordinary order the next morning and
can fail there without anyone being told (spec §1.5 "Rejection causes"). This module asks KIS
the same questions first, with read-only GETs that go through the client's shared rate budget:

=============  ===========================================================================
check          source
=============  ===========================================================================
tick           ``aspr_unit`` of 주식현재가 시세 (v1_국내주식-008, FHKST01010100), else the KRX
               tick table in force since 2023-01-25 (:data:`TICK_TABLE`)
band           next session's limits derived from ``stck_prpr`` (the close) ±30 %
               (``stck_mxpr``/``stck_llam`` are today's and are shown for reference)
sellable       ``ord_psbl_qty`` of 매도가능수량조회 (국내주식-165, TTTC8408R), minus the other
               pending sell reservations of the symbol
buying power   ``ord_psbl_cash`` / ``max_buy_qty`` of 매수가능조회 (v1_국내주식-007,
               TTTC8908R), minus the other pending buy reservations of the account
=============  ===========================================================================

Each finding carries the numbers that decided it; it is a warning, or a refusal with
``strict`` (:class:`PreflightRefusedError`, raised before anything is sent).

Tick table source: KRX 호가가격단위 개편, effective 2023-01-25 — 2,000원 미만 1원 / 5,000원 미만
5원 / 20,000원 미만 10원 / 50,000원 미만 50원 / 200,000원 미만 100원 / 500,000원 미만 500원 /
그 이상 1,000원, identical for KOSPI, KOSDAQ and KONEX; ETF, ETN and ELW stay at 5원
(조선일보 2022-11-01 via v.daum.net/v/20221101161150796; 에너지경제 2023-01-17,
m.ekn.kr/view.php?key=20230117010003826).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from .._flow import Flow
from .._surface import Awaiting, Blocking, Operation
from ..errors import KISError, KISValidationError
from .models import OrderTerms, Reservation, Side

__all__ = [
    "ETF_TICK",
    "PATH_BALANCE",
    "PATH_PRICE",
    "PATH_PSBL_ORDER",
    "PATH_PSBL_SELL",
    "TICK_TABLE",
    "AsyncPreflight",
    "Finding",
    "Preflight",
    "PreflightRefusedError",
    "PreflightReport",
    "check_flow",
    "next_band",
    "price_flow",
    "tick_size",
]

PATH_PRICE = "/uapi/domestic-stock/v1/quotations/inquire-price"
PATH_PSBL_ORDER = "/uapi/domestic-stock/v1/trading/inquire-psbl-order"
PATH_PSBL_SELL = "/uapi/domestic-stock/v1/trading/inquire-psbl-sell"
PATH_BALANCE = "/uapi/domestic-stock/v1/trading/inquire-balance"
# TR_IDs are passed explicitly: the client's catalog need not know these APIs (checked against
# shared/kis-openapi/catalog.json: real / paper).
TR_PRICE = "FHKST01010100"
TR_PSBL_ORDER = ("TTTC8908R", "VTTC8908R")
TR_PSBL_SELL = "TTTC8408R"  # 모의투자 미지원: paper mode reads 주식잔고조회 instead
TR_BALANCE = ("TTTC8434R", "VTTC8434R")

#: (upper bound exclusive, tick) — KRX stock tick sizes since 2023-01-25 (module docstring).
TICK_TABLE: tuple[tuple[int, int], ...] = (
    (2_000, 1),
    (5_000, 5),
    (20_000, 10),
    (50_000, 50),
    (200_000, 100),
    (500_000, 500),
)
TOP_TICK = 1_000
ETF_TICK = 5  # ETF / ETN / ELW
PRICE_LIMIT_PCT = 30

Severity = Literal["info", "warning", "refusal"]


def tick_size(price: int, *, etf: bool = False) -> int:
    """The KRX tick size at ``price`` won."""
    if etf:
        return ETF_TICK
    for bound, tick in TICK_TABLE:
        if price < bound:
            return tick
    return TOP_TICK


def next_band(base: int, *, etf: bool = False) -> tuple[int, int]:
    """(lower, upper) limits of a session whose base price is ``base`` (±30 %, on ticks).

    KRX truncates the 30 % width to the tick of the base price, then puts each limit on a
    tick of its own price range (upper rounded down, lower rounded up).
    """
    step = tick_size(base, etf=etf)
    width = (base * PRICE_LIMIT_PCT // 100) // step * step
    upper = base + width
    upper -= upper % tick_size(upper, etf=etf)
    lower = max(base - width, 1)
    lt = tick_size(lower, etf=etf)
    lower = -(-lower // lt) * lt
    return lower, upper


@dataclass(frozen=True)
class Finding:
    """One pre-flight result; ``ok`` False means KIS would probably reject the order."""

    check: str
    ok: bool
    severity: Severity
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass(frozen=True)
class PreflightReport:
    """Every finding of one pre-flight check."""

    findings: tuple[Finding, ...]
    strict: bool = False

    @property
    def problems(self) -> tuple[Finding, ...]:
        """Findings that predict a rejection (or could not be checked)."""
        return tuple(f for f in self.findings if f.severity != "info")

    @property
    def refused(self) -> bool:
        """Whether a strict check refuses to send."""
        return any(f.severity == "refusal" for f in self.findings)


class PreflightRefusedError(KISValidationError):
    """``strict`` pre-flight found what KIS would reject on the processing day; nothing sent."""

    def __init__(self, report: PreflightReport) -> None:
        lines = "; ".join(str(f) for f in report.findings if f.severity == "refusal")
        super().__init__(f"pre-flight refused the reservation: {lines}")
        self.report = report


# --- pure judgements ----------------------------------------------------------------------------
def judge_price(
    terms: OrderTerms, quote: Mapping[str, Any] | None, severity: Severity
) -> list[Finding]:
    """Tick and band findings of a priced order (market orders have neither)."""
    if not terms.order_type.priced:
        return []
    price = int(terms.price)
    out: list[Finding] = []
    close = _int(quote, "stck_prpr") if quote else 0
    unit = _int(quote, "aspr_unit") if quote else 0
    # aspr_unit is the tick at the *current* price: 5 where the stock table says otherwise
    # means an ETF/ETN (flat 5-won tick).
    etf = bool(close and unit == ETF_TICK and tick_size(close) != ETF_TICK)
    tick = tick_size(price, etf=etf)
    numbers: dict[str, Any] = {"price": price, "tick": tick, "source": "KIS" if quote else "table"}
    if unit:
        numbers["aspr_unit"] = unit
    if price % tick:
        below = price - price % tick
        out.append(
            Finding(
                "tick",
                False,
                severity,
                f"{price:,} won is not on the {tick:,}-won tick; nearest valid prices"
                f" {below:,} / {below + tick:,}",
                numbers,
            )
        )
    else:
        out.append(Finding("tick", True, "info", f"{price:,} is on the {tick:,}-won tick", numbers))
    if not close:
        out.append(
            Finding("band", False, "warning", "no quote: the price band could not be checked", {})
        )
        return out
    lower, upper = next_band(close, etf=etf)
    band = {
        "price": price,
        "base": close,
        "lower": lower,
        "upper": upper,
        "today_lower": _int(quote, "stck_llam"),
        "today_upper": _int(quote, "stck_mxpr"),
    }
    if not lower <= price <= upper:
        out.append(
            Finding(
                "band",
                False,
                severity,
                f"{price:,} won is outside the next session's band {lower:,}-{upper:,}"
                f" (base {close:,} ±{PRICE_LIMIT_PCT}%)",
                band,
            )
        )
    else:
        out.append(Finding("band", True, "info", f"{price:,} is inside {lower:,}-{upper:,}", band))
    return out


def judge_sell(
    terms: OrderTerms, sellable: int | None, pending_qty: int, severity: Severity
) -> Finding:
    """Quantity versus what can be sold, net of other pending sell reservations."""
    numbers = {"qty": terms.qty, "sellable": sellable, "pending_sell_qty": pending_qty}
    if sellable is None:
        return Finding("sellable", False, "warning", "sellable quantity unknown", numbers)
    free = sellable - pending_qty
    if terms.qty > free:
        return Finding(
            "sellable",
            False,
            severity,
            f"selling {terms.qty:,} but only {sellable:,} can be sold"
            + (f", {pending_qty:,} of them already reserved" if pending_qty else ""),
            numbers,
        )
    return Finding("sellable", True, "info", f"{terms.qty:,} ≤ {free:,} free to sell", numbers)


def judge_buy(
    terms: OrderTerms,
    unit_price: int,
    cash: int | None,
    max_qty: int | None,
    pending_amount: int,
    severity: Severity,
) -> Finding:
    """Amount versus buying power, net of other pending buy reservations."""
    amount = terms.qty * unit_price
    numbers = {
        "qty": terms.qty,
        "unit_price": unit_price,
        "amount": amount,
        "ord_psbl_cash": cash,
        "max_buy_qty": max_qty,
        "pending_buy_amount": pending_amount,
    }
    if cash is None:
        return Finding("buying-power", False, "warning", "buying power unknown", numbers)
    free = cash - pending_amount
    if amount > free or (max_qty is not None and terms.qty > max_qty):
        msg = (
            f"buying {terms.qty:,} x {unit_price:,} = {amount:,} won but only {cash:,} is available"
        )
        if pending_amount:
            msg += f", {pending_amount:,} of it already reserved by pending buys"
        if max_qty is not None and terms.qty > max_qty:
            msg += f" (KIS max_buy_qty {max_qty:,})"
        return Finding("buying-power", False, severity, msg, numbers)
    return Finding("buying-power", True, "info", f"{amount:,} ≤ {free:,} won free", numbers)


# --- the check --------------------------------------------------------------------------------
class _PreflightOps:
    """The check, once, as a flow; :class:`Preflight` and :class:`AsyncPreflight` drive it."""

    def __init__(
        self, client: Any, *, pending: Callable[[], Flow[list[Reservation]]] | None = None
    ) -> None:
        self.client = client
        #: A flow listing the account's pending reservations (usually
        #: ``collect(Reservations(client)._list(status="pending"))``); None: none counted.
        self.pending = pending

    def _check(
        self,
        terms: OrderTerms,
        *,
        strict: bool = False,
        exclude_seq: str | None = None,
    ) -> Flow[PreflightReport]:
        """Run every check that applies to ``terms``; raise when ``strict`` finds a problem."""
        pending = self.pending() if self.pending else None
        return (yield from check_flow(self.client, terms, strict, exclude_seq, pending))

    check = Operation(_check)


class Preflight(_PreflightOps, Blocking):
    """Runs the checks against a blocking KIS client (each GET under the shared rate limit)."""


class AsyncPreflight(_PreflightOps, Awaiting):
    """:class:`Preflight` for :class:`AsyncKISRestClient`."""


def check_flow(
    client: Any,
    terms: OrderTerms,
    strict: bool,
    exclude_seq: str | None,
    pending: Flow[list[Reservation]] | None,
) -> Flow[PreflightReport]:
    """The pre-flight as a flow: its GETs go through ``client``'s flows (``request_flow``);
    ``pending`` lists the other pending reservations (None: none are counted). Raises
    :class:`PreflightRefusedError` when ``strict`` finds a problem."""
    rows: list[Reservation] | KISError = []
    if pending is not None:
        try:
            rows = yield from pending
        except KISError as exc:
            rows = exc

    def get(path: str, params: dict[str, str], tr_id: str) -> Flow[Any]:
        return client.request_flow("GET", path, params, tr_id=tr_id)  # type: ignore[no-any-return]

    report = yield from _judge_flow(client.config, terms, strict, exclude_seq, rows, get)
    if report.refused:
        raise PreflightRefusedError(report)
    return report


def price_flow(client: Any, terms: OrderTerms, strict: bool) -> Flow[PreflightReport]:
    """Only the tick and band checks of ``terms`` (one quote GET): the pre-flight of a new
    price for an order already in the market (``modify-order``), where quantity and funds
    were settled when the order was made. Raises :class:`PreflightRefusedError` when
    ``strict`` finds a problem."""

    def get(path: str, params: dict[str, str], tr_id: str) -> Flow[Any]:
        return client.request_flow("GET", path, params, tr_id=tr_id)  # type: ignore[no-any-return]

    findings: list[Finding] = []
    quote = yield from _quote_flow(terms.symbol, get, findings)
    findings += judge_price(terms, quote, "refusal" if strict else "warning")
    report = PreflightReport(tuple(findings), strict)
    if report.refused:
        raise PreflightRefusedError(report)
    return report


def _quote_flow(
    symbol: str,
    get: Callable[[str, dict[str, str], str], Flow[Any]],
    findings: list[Finding],
) -> Flow[Mapping[str, Any] | None]:
    """The quote of ``symbol`` (None, with a finding, when KIS gives none)."""
    try:
        reply = yield from get(
            PATH_PRICE, {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol}, TR_PRICE
        )
    except KISError as exc:
        findings.append(Finding("quote", False, "warning", f"no quote ({exc})", {}))
        return None
    return reply.first()  # type: ignore[no-any-return]


def _judge_flow(
    config: Any,
    terms: OrderTerms,
    strict: bool,
    exclude_seq: str | None,
    pending: list[Reservation] | KISError,
    get: Callable[[str, dict[str, str], str], Flow[Any]],
) -> Flow[PreflightReport]:
    severity: Severity = "refusal" if strict else "warning"
    paper = bool(config.is_paper)
    account = {"CANO": config.cano, "ACNT_PRDT_CD": config.acnt_prdt_cd}
    findings: list[Finding] = []
    quote = yield from _quote_flow(terms.symbol, get, findings)
    findings += judge_price(terms, quote, severity)
    if isinstance(pending, KISError):
        note = f"pending reservations could not be listed ({pending}); not counted"
        findings.append(Finding("pending", False, "warning", note, {}))
        others: list[Reservation] = []
    else:
        others = [r for r in pending if r.is_pending and r.seq != exclude_seq]
    if terms.side is Side.SELL:
        sellable: int | None = None
        try:
            if paper:  # 매도가능수량조회 is real only: read 주식잔고조회's ord_psbl_qty
                reply = yield from get(PATH_BALANCE, {**account, **_BALANCE_QUERY}, TR_BALANCE[1])
            else:
                reply = yield from get(
                    PATH_PSBL_SELL, {**account, "PDNO": terms.symbol}, TR_PSBL_SELL
                )
            sellable = _sellable(reply, terms.symbol)
        except KISError as exc:
            findings.append(Finding("sellable", False, "warning", f"no answer ({exc})", {}))
        pending_qty = sum(
            r.qty - r.filled_qty for r in others if r.side is Side.SELL and r.symbol == terms.symbol
        )
        findings.append(judge_sell(terms, sellable, pending_qty, severity))
    else:
        priced = terms.order_type.priced
        unit = int(terms.price)
        if not priced:
            # KIS holds a market buy at the upper limit.
            close = _int(quote, "stck_prpr") if quote else 0
            unit = next_band(close)[1] if close else 0
        pending_amount = sum(
            (r.qty - r.filled_qty) * int(r.price) for r in others if r.side is Side.BUY
        )
        cash: int | None = None
        max_qty: int | None = None
        params = {
            **account,
            "PDNO": terms.symbol,
            "ORD_UNPR": str(int(terms.price)) if priced else "",
            "ORD_DVSN": "00" if priced else "01",
            "CMA_EVLU_AMT_ICLD_YN": "N",
            "OVRS_ICLD_YN": "N",
        }
        try:
            reply = yield from get(PATH_PSBL_ORDER, params, TR_PSBL_ORDER[1 if paper else 0])
            out = reply.first()
            cash = _int(out, "ord_psbl_cash")
            max_qty = _int(out, "max_buy_qty") if "max_buy_qty" in out else None
        except KISError as exc:
            findings.append(Finding("buying-power", False, "warning", f"no answer ({exc})", {}))
        findings.append(judge_buy(terms, unit, cash, max_qty, pending_amount, severity))
    return PreflightReport(tuple(findings), strict)


_BALANCE_QUERY = {
    "AFHR_FLPR_YN": "N",
    "OFL_YN": "",
    "INQR_DVSN": "02",
    "UNPR_DVSN": "01",
    "FUND_STTL_ICLD_YN": "N",
    "FNCG_AMT_AUTO_RDPT_YN": "N",
    "PRCS_DVSN": "00",
    "CTX_AREA_FK100": "",
    "CTX_AREA_NK100": "",
}


def _sellable(reply: Any, symbol: str) -> int:
    """``ord_psbl_qty`` of ``symbol`` in a psbl-sell or balance reply (0 when not held)."""
    rows = reply.rows("output1") or reply.rows("output")
    for row in rows:
        if str(row.get("pdno", "")).strip() in ("", symbol):
            return _int(row, "ord_psbl_qty")
    return 0


def _int(row: Mapping[str, Any] | None, key: str) -> int:
    if not row:
        return 0
    raw = str(row.get(key, "") or "").replace(",", "").strip()
    try:
        return int(Decimal(raw or "0"))
    except ArithmeticError:
        return 0
