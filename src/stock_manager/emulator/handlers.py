"""Business logic of the served KIS APIs (after the gateway has accepted the request).

Handlers are synchronous and run under the state lock, so each request is applied atomically.
They return ``(http_status, body, extra_headers)`` or raise :class:`Reject`.

Decisions where KIS is silent (see also the package docstring):

* Order date of a reservation (``rsvn_ord_ord_dt``): the same day when received on an open
  day before the window's morning end, otherwise the next open day (see
  :mod:`stock_manager.emulator.krx_calendar`).
* ``RSVN_ORD_END_DT`` must be after today, at most 30 calendar days after the order date and
  an open day (a closed day is refused with APBK8022, as KIS refuses it - tofulim/auto_trade
  #63; KIS's own code for it is not public).
* Paging (주식예약주문조회): 20 rows a page by ascending sequence. ``ctx_area_fk200`` is shaped
  like the spec example ``20220520!^null!^0!^Y!^!^`` (start date, sequence or ``null``,
  processing code, CNCL_YN, PDNO, each followed by ``!^``) and ``ctx_area_nk200`` like
  ``<seq>!^<order date>!^`` while more rows follow and `` !^ !^`` on the last page; both
  space padded to 200. msg: KIOK0500 while more rows follow, KIOK0460 "(마지막 자료)" on the
  last page, KIOK0560 when nothing matches. A page costs O(page + rows skipped by the
  filter): the per-account sequence index is bisected to the continuation point.
* The list filter's date range matches a row when its receipt date **or** its order date lies
  in [start, end]; blank bounds are open.
* ``CNCL_YN`` "Y" hides cancelled rows, "N" or blank shows them. ``PRCS_DVSN_CD`` "1" = processed
  (sent to the market), "2" = pending; cancelled rows only appear with "0"/blank.
* Cancel/modify accept ``RSVN_ORD_ORD_DT`` blank, or equal to the row's order or receipt date.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from stock_manager.emulator.config import EmulatorConfig, split_account
from stock_manager.emulator.fields import (
    DEFAULT_REFERENCE_PRICE,
    ORDER_RVSECNCL_BODY,
    PSBL_QUERY,
    REFERENCE_PRICES,
    RESV_CANCEL_BODY,
    RESV_LIST_QUERY,
    RESV_MODIFY_BODY,
    RESV_PLACE_BODY,
    Field,
)
from stock_manager.emulator.gateway import reject
from stock_manager.emulator.krx_calendar import KrxCalendar
from stock_manager.emulator.messages import envelope
from stock_manager.emulator.state import BRANCH_NO, EmulatorState, Order, Reservation

Reply = tuple[int, dict[str, Any], dict[str, str]]

RESV_PAGE_SIZE = 20
PSBL_PAGE_SIZE = 50
_CTX_SEP = "!^"

# Fields whose bad value has a specific (emulator-chosen) code; others get APBK8020.
_VALUE_CODES = {
    "ORD_DVSN_CD": "APBK8002",
    "SLL_BUY_DVSN_CD": "APBK8003",
    "ORD_OBJT_CBLC_DVSN_CD": "APBK8015",
    "RVSE_CNCL_DVSN_CD": "APBK8018",
}
_ACCOUNT_FIELDS = ("CANO", "ACNT_PRDT_CD")


@dataclass
class Ctx:
    """What a handler needs about one request."""

    config: EmulatorConfig
    state: EmulatorState
    now: datetime
    tr_id: str
    tr_cont: str
    data: Mapping[str, Any]  # JSON body (POST) or query parameters (GET)
    calendar: KrxCalendar = field(default_factory=KrxCalendar)
    # Accounts of the calling app key (empty = the config's accounts).
    accounts: tuple[str, ...] = ()


def read_fields(data: Mapping[str, Any], table: tuple[Field, ...]) -> dict[str, str]:
    """Validate ``data`` against ``table``; return every field as a string ('' when absent)."""
    out: dict[str, str] = {}
    for f in table:
        raw = data.get(f.name)
        if raw is None:
            val = ""
        elif isinstance(raw, str):
            val = raw
        elif isinstance(raw, int) and not isinstance(raw, bool):
            val = str(raw)  # tolerated: KIS documents strings, numbers are a common slip
        else:
            raise reject("APBK8020", f"{f.name} must be a string")
        if f.length and len(val) > f.length:
            raise reject("OPSQ2002", f"{f.name} longer than {f.length}")
        if f.required and not val.strip():
            code = "OPSQ2000" if f.name in _ACCOUNT_FIELDS else "APBK8001"
            raise reject(code, f"{f.name} is required")
        if f.allowed and val not in f.allowed:
            raise reject(_VALUE_CODES.get(f.name, "APBK8020"), f"{f.name} not allowed")
        out[f.name] = val
    return out


def check_account(
    config: EmulatorConfig, values: Mapping[str, str], accounts: tuple[str, ...] = ()
) -> str:
    """The request's account must belong to the app key; return it as ``CANO-PRDT``."""
    cano, prdt = values.get("CANO", ""), values.get("ACNT_PRDT_CD", "")
    for acct in accounts or config.accounts:
        if split_account(acct) == (cano, prdt):
            return acct
    raise reject("OPSQ2000", "account does not belong to this app key")


_DEFAULT_CALENDAR = KrxCalendar()


def order_date(now: datetime, calendar: KrxCalendar | None = None) -> date:
    """Open day on which a reservation received at ``now`` is sent to the market."""
    return (calendar or _DEFAULT_CALENDAR).order_date(now)


def parse_date(text: str) -> date | None:
    """``YYYYMMDD`` → date, None if malformed."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


@dataclass
class Terms:
    """Validated order terms shared by place and modify."""

    pdno: str
    qty: int
    unpr: int
    sll_buy: str
    ord_dvsn: str
    objt_cblc: str
    loan_dt: str
    end_dt: str


def validate_terms(
    v: Mapping[str, str], now: datetime, calendar: KrxCalendar | None = None
) -> Terms:
    """Apply the reservation business rules to already length-checked values."""
    pdno = v["PDNO"].strip()
    # New KRX codes may contain letters (e.g. 0015N0), so 6 alphanumerics are accepted.
    if len(pdno) != 6 or not pdno.isalnum() or not pdno.isascii():
        raise reject("APBK8007", "PDNO must be 6 letters/digits")
    qty_s = v["ORD_QTY"].strip()
    if not qty_s.isdigit() or int(qty_s) <= 0:
        raise reject("APBK8006", "ORD_QTY")
    ord_dvsn = v["ORD_DVSN_CD"]
    unpr_s = v["ORD_UNPR"].strip()
    if ord_dvsn in ("01", "05"):
        if not unpr_s.isdigit() or int(unpr_s) != 0:
            raise reject("APBK8004")
    elif not unpr_s.isdigit() or int(unpr_s) <= 0:
        raise reject("APBK8005")
    if v["SLL_BUY_DVSN_CD"] == "02" and v["ORD_OBJT_CBLC_DVSN_CD"] != "10":
        # The spec lists every code but 10 as sell-side only.
        raise reject("APBK8015")
    end_dt = v["RSVN_ORD_END_DT"].strip()
    if end_dt:
        cal = calendar or _DEFAULT_CALENDAR
        end = parse_date(end_dt)
        today = now.date()
        if end is None or end <= today or end > cal.order_date(now) + timedelta(days=30):
            raise reject("APBK8008", f"RSVN_ORD_END_DT {end_dt[:8]}: after today, <= 30 days")
        if not cal.is_open(end):
            raise reject("APBK8022", f"RSVN_ORD_END_DT {end_dt} is a closed day")
    return Terms(
        pdno=pdno,
        qty=int(qty_s),
        unpr=int(unpr_s),
        sll_buy=v["SLL_BUY_DVSN_CD"],
        ord_dvsn=ord_dvsn,
        objt_cblc=v["ORD_OBJT_CBLC_DVSN_CD"],
        loan_dt=v["LOAN_DT"].strip(),
        end_dt=end_dt,
    )


def _check_period_limit(ctx: Ctx, account: str, exclude_seq: int = 0) -> None:
    if ctx.state.pending_period_count(account, exclude_seq) >= ctx.config.max_period_reservations:
        raise reject("APBK8009", f"{ctx.config.max_period_reservations} pending")


_listed_check: Callable[[Ctx, str], None] | None = None


def register_listed_check(check: Callable[[Ctx, str], None]) -> None:
    """Install the market's "is this code listed" check (market.py, which imports this module
    for its endpoint table, registers it; so this module never imports market.py)."""
    global _listed_check
    _listed_check = check


def _check_listed(ctx: Ctx, symbol: str) -> None:
    if _listed_check is not None:
        _listed_check(ctx, symbol)


def _check_window(ctx: Ctx) -> None:
    if ctx.config.enforce_window:
        refusal = ctx.calendar.window_refusal(ctx.now)
        if refusal:
            window, reason = refusal
            start, end = window.split("~")
            raise reject("KIER3672", reason, start=start, end=end)


# --- 주식예약주문 -------------------------------------------------------------------------
def place_reservation(ctx: Ctx) -> Reply:
    """POST order-resv (CTSC0008U)."""
    v = read_fields(ctx.data, RESV_PLACE_BODY)
    account = check_account(ctx.config, v, ctx.accounts)
    _check_window(ctx)
    terms = validate_terms(v, ctx.now, ctx.calendar)
    _check_listed(ctx, terms.pdno)
    if terms.end_dt:
        _check_period_limit(ctx, account)
    r = Reservation(
        seq=ctx.state.next_seq(),
        account=account,
        pdno=terms.pdno,
        qty=terms.qty,
        unpr=terms.unpr,
        sll_buy=terms.sll_buy,
        ord_dvsn=terms.ord_dvsn,
        objt_cblc=terms.objt_cblc,
        loan_dt=terms.loan_dt,
        end_dt=terms.end_dt,
        ldng_dt=v["LDNG_DT"].strip(),
        ctac_tlno="",
        rcit_dt=_ymd(ctx.now.date()),
        rcit_tmd=ctx.now.strftime("%H%M%S"),
        ord_dt=_ymd(ctx.calendar.order_date(ctx.now)),
    )
    ctx.state.save_reservation(r)
    status, body = envelope("APBK2938", output={"RSVN_ORD_SEQ": str(r.seq)})
    return status, body, {}


def _find_reservation(ctx: Ctx, v: Mapping[str, str], account: str) -> Reservation:
    seq_s = v["RSVN_ORD_SEQ"].strip()
    r = ctx.state.reservations.get(int(seq_s)) if seq_s.isdigit() else None
    if r is None or r.account != account:
        raise reject("APBK8012", f"RSVN_ORD_SEQ {seq_s[:10]}")
    ord_dt = v.get("RSVN_ORD_ORD_DT", "").strip()
    if ord_dt and ord_dt not in (r.ord_dt, r.rcit_dt):
        raise reject("APBK8012", f"RSVN_ORD_ORD_DT {ord_dt[:8]} does not match {seq_s}")
    if r.status == "cancelled":
        raise reject("APBK8010", f"RSVN_ORD_SEQ {seq_s}")
    if r.status == "processed":
        raise reject("APBK8011", f"RSVN_ORD_SEQ {seq_s}")
    return r


def cancel_or_modify_reservation(ctx: Ctx) -> Reply:
    """POST order-resv-rvsecncl: CTSC0009U cancel, CTSC0013U modify (full replacement)."""
    if ctx.tr_id == "CTSC0009U":
        v = read_fields(ctx.data, RESV_CANCEL_BODY)
        account = check_account(ctx.config, v, ctx.accounts)
        _check_window(ctx)
        r = _find_reservation(ctx, v, account)
        r.status = "cancelled"
        r.cncl_ord_dt = _ymd(ctx.now.date())
        r.cncl_rcit_tmd = ctx.now.strftime("%H%M%S")
        r.prcs_rslt = "취소"
    else:
        v = read_fields(ctx.data, RESV_MODIFY_BODY)
        account = check_account(ctx.config, v, ctx.accounts)
        _check_window(ctx)
        r = _find_reservation(ctx, v, account)
        terms = validate_terms(v, ctx.now, ctx.calendar)
        _check_listed(ctx, terms.pdno)
        if terms.end_dt and not r.end_dt:
            _check_period_limit(ctx, account, exclude_seq=r.seq)
        r.pdno, r.qty, r.unpr = terms.pdno, terms.qty, terms.unpr
        r.sll_buy, r.ord_dvsn, r.objt_cblc = terms.sll_buy, terms.ord_dvsn, terms.objt_cblc
        r.loan_dt, r.end_dt = terms.loan_dt, terms.end_dt
        # Spec conflict: layout says CTAL_TLNO, its example CTAC_TLNO; accept both.
        r.ctac_tlno = (v["CTAL_TLNO"] or v["CTAC_TLNO"]).strip()
    ctx.state.save_reservation(r)
    status, body = envelope("KIOK0430", output={"NRML_PRCS_YN": "Y"})
    return status, body, {}


# --- 주식예약주문조회 ---------------------------------------------------------------------
def _norm_code(value: str) -> str:
    # "01" and "1" mean the same processing code; blank stays blank.
    stripped = value.strip()
    if not stripped:
        return ""
    return stripped.lstrip("0") or "0"


def list_reservations(ctx: Ctx) -> Reply:
    """GET order-resv-ccnl (CTSC0004R), 20 rows a page with tr_cont F/M/D."""
    v = read_fields(ctx.data, RESV_LIST_QUERY)
    account = check_account(ctx.config, v, ctx.accounts)
    start_s, end_s = v["RSVN_ORD_ORD_DT"].strip(), v["RSVN_ORD_END_DT"].strip()
    if (start_s and parse_date(start_s) is None) or (end_s and parse_date(end_s) is None):
        raise reject("APBK8016", "RSVN_ORD_ORD_DT/RSVN_ORD_END_DT must be YYYYMMDD")
    seq_s = v["RSVN_ORD_SEQ"].strip()
    if seq_s and not seq_s.isdigit():
        raise reject("APBK8020", "RSVN_ORD_SEQ must be digits")
    prcs = _norm_code(v["PRCS_DVSN_CD"])
    cncl = v["CNCL_YN"].strip() or "N"
    pdno = v["PDNO"].strip()
    side = v["SLL_BUY_DVSN_CD"].strip()
    side = "" if side == "00" else side
    # Shaped like the spec example "20220520!^null!^0!^Y!^!^".
    fk = f"{start_s}{_CTX_SEP}{seq_s or 'null'}{_CTX_SEP}{prcs or '0'}{_CTX_SEP}{cncl}{_CTX_SEP}"
    fk += f"{pdno}{_CTX_SEP}"
    after = _continuation(ctx.tr_cont, v["CTX_AREA_FK200"], v["CTX_AREA_NK200"], fk)
    state = ctx.state
    seqs = state.seqs_by_account.get(account, [])
    if seq_s:
        one = int(seq_s)
        i = bisect.bisect_left(seqs, one)
        candidates = seqs[i : i + 1] if i < len(seqs) and seqs[i] == one and one > after else []
    else:
        candidates = seqs
    i = bisect.bisect_right(candidates, after)
    page: list[Reservation] = []
    more = False
    reservations = state.reservations
    for j in range(i, len(candidates)):
        r = reservations[candidates[j]]
        if (
            (
                (not start_s and not end_s)
                or _in(r.rcit_dt, start_s, end_s)
                or _in(r.ord_dt, start_s, end_s)
            )
            and (prcs in ("", "0") or (prcs == "1") == (r.status == "processed"))
            and (prcs != "2" or r.status == "pending")
            and (cncl != "Y" or r.status != "cancelled")
            and (not pdno or r.pdno == pdno)
            and (not side or r.sll_buy == side)
        ):
            if len(page) == RESV_PAGE_SIZE:
                more = True
                break
            page.append(r)
    continuing = after > 0
    tr_cont = ("M" if continuing else "F") if more else "D"
    if more:
        last = page[-1]
        nk = f"{last.seq}{_CTX_SEP}{last.ord_dt}{_CTX_SEP}"
        code = "KIOK0500"
    else:
        nk = f" {_CTX_SEP} {_CTX_SEP}"
        code = "KIOK0460" if page else "KIOK0560"
    status, body = envelope(code, ctx_area_fk200=fk.ljust(200), ctx_area_nk200=nk.ljust(200))
    body["output"] = RawRows([r.row_json() for r in page], [r.row() for r in page])
    return status, body, {"tr_cont": tr_cont}


class RawRows(list[dict[str, str]]):
    """Output rows that also carry their pre-serialised JSON (the app splices the bytes)."""

    def __init__(self, raw: list[bytes], rows: list[dict[str, str]]) -> None:
        super().__init__(rows)
        self.raw = raw


def _in(day: str, start: str, end: str) -> bool:
    # YYYYMMDD strings compare like dates; blank bounds are open.
    return (not start or day >= start) and (not end or day <= end)


def _continuation(tr_cont: str, fk_in: str, nk_in: str, fk: str) -> int:
    """Position (last sequence already returned) for a continuation request, else 0.

    Continuation needs request header ``tr_cont: N`` and a non-blank NK key; without ``N``
    the request is a fresh first page (KIS's behaviour there is undocumented). The FK key
    must match the current filter, so a client cannot silently change filters mid-paging.
    """
    nk = nk_in.split(_CTX_SEP)[0].strip()
    if tr_cont.strip().upper() != "N" or not nk:
        return 0
    if fk_in.strip() and fk_in.strip() != fk.strip():
        raise reject("APBK8019", "CTX_AREA_FK200 does not match the filter")
    if not nk.isdigit():
        raise reject("APBK8019", "CTX_AREA_NK200 is not a continuation key")
    return int(nk)


# --- 주식주문(정정취소) ---------------------------------------------------------------------
def _find_order(ctx: Ctx, odno: str, account: str) -> Order:
    key = odno.strip()
    o = ctx.state.orders.get(key.zfill(10)) if key.isdigit() else None
    if o is None or o.account != account:
        raise reject("APBK8017", f"ORGN_ODNO {key[:10]}")
    return o


def revise_or_cancel_order(ctx: Ctx) -> Reply:
    """POST order-rvsecncl (TTTC0013U / VTTC0013U); RVSE_CNCL_DVSN_CD 01 modify, 02 cancel."""
    v = read_fields(ctx.data, ORDER_RVSECNCL_BODY)
    account = check_account(ctx.config, v, ctx.accounts)
    orig = _find_order(ctx, v["ORGN_ODNO"], account)
    if orig.psbl_qty <= 0:
        raise reject("APBK8021", f"ORGN_ODNO {orig.odno} has nothing left to revise")
    qty_s, unpr_s = v["ORD_QTY"].strip(), v["ORD_UNPR"].strip()
    if not qty_s.isdigit() or not unpr_s.isdigit():
        raise reject("APBK8020", "ORD_QTY/ORD_UNPR")
    qty = orig.psbl_qty if v["QTY_ALL_ORD_YN"] == "Y" else int(qty_s)
    if qty <= 0:
        raise reject("APBK8006")
    if qty > orig.psbl_qty:
        raise reject("APBK1359")
    kind = v["RVSE_CNCL_DVSN_CD"]
    new = Order(
        odno=ctx.state.next_odno(),
        account=account,
        pdno=orig.pdno,
        qty=qty,
        unpr=orig.unpr if kind == "02" else int(unpr_s),
        sll_buy=orig.sll_buy,
        ord_dvsn=v["ORD_DVSN"] if kind == "01" else orig.ord_dvsn,
        ord_tmd=ctx.now.strftime("%H%M%S"),
        orgn_odno=orig.odno,
        rvse_cncl=kind,
        psbl_qty=qty if kind == "01" else 0,
        ord_dt=_ymd(ctx.now.date()),
    )
    orig.psbl_qty -= qty
    ctx.state.save_order(orig)
    ctx.state.save_order(new)
    output = {"KRX_FWDG_ORD_ORGNO": BRANCH_NO, "ODNO": new.odno, "ORD_TMD": new.ord_tmd}
    status, body = envelope("APBK0013", output=output)
    return status, body, {}


# --- 주식정정취소가능주문조회 -----------------------------------------------------------------
def list_revisable_orders(ctx: Ctx) -> Reply:
    """GET inquire-psbl-rvsecncl (TTTC0084R), 50 rows a page.

    In order-number order (INQR_DVSN_1 0) a page bisects the per-account order index; by-stock
    order (INQR_DVSN_1 1) sorts the open orders (O(N log N), rarely used and small).
    """
    v = read_fields(ctx.data, PSBL_QUERY)
    account = check_account(ctx.config, v, ctx.accounts)
    side = {"1": "01", "2": "02"}.get(v["INQR_DVSN_2"], "")
    by_stock = v["INQR_DVSN_1"] == "1"
    fk = _CTX_SEP.join((v["CANO"], v["ACNT_PRDT_CD"], v["INQR_DVSN_1"], v["INQR_DVSN_2"]))
    nk_in = v["CTX_AREA_NK100"].strip()
    continuing = ctx.tr_cont.strip().upper() == "N" and bool(nk_in)
    if continuing and v["CTX_AREA_FK100"].strip() and v["CTX_AREA_FK100"].strip() != fk:
        raise reject("APBK8019", "CTX_AREA_FK100 does not match the filter")
    orders = ctx.state.orders

    def wanted(o: Order) -> bool:
        return o.psbl_qty > 0 and (not side or o.sll_buy == side)

    page: list[Order] = []
    more = False
    if by_stock:
        ordered = sorted(
            (orders[n] for n in ctx.state.odnos_by_account.get(account, ()) if wanted(orders[n])),
            key=lambda o: (o.pdno, o.odno),
        )
        keys = [f"{o.pdno}{o.odno}" for o in ordered]
        start = bisect.bisect_right(keys, nk_in) if continuing else 0
        page = ordered[start : start + PSBL_PAGE_SIZE]
        more = start + PSBL_PAGE_SIZE < len(ordered)
        nk = f"{page[-1].pdno}{page[-1].odno}" if page else ""
    else:
        odnos = ctx.state.odnos_by_account.get(account, [])
        start = bisect.bisect_right(odnos, nk_in) if continuing else 0
        for j in range(start, len(odnos)):
            o = orders[odnos[j]]
            if wanted(o):
                if len(page) == PSBL_PAGE_SIZE:
                    more = True
                    break
                page.append(o)
        nk = page[-1].odno if page else ""
    tr_cont = ("M" if continuing else "F") if more else "D"
    code = "KIOK0500" if more else ("KIOK0510" if page else "KIOK0560")
    status, body = envelope(
        code,
        ctx_area_fk100=fk.ljust(100),
        ctx_area_nk100=nk.ljust(100),
        output=[o.psbl_row() for o in page],
    )
    return status, body, {"tr_cont": tr_cont}


HANDLERS: dict[str, Callable[[Ctx], Reply]] = {
    "order-resv": place_reservation,
    "order-resv-rvsecncl": cancel_or_modify_reservation,
    "order-resv-ccnl": list_reservations,
    "order-rvsecncl": revise_or_cancel_order,
    "inquire-psbl-rvsecncl": list_revisable_orders,
}

# --- processing day ---------------------------------------------------------------------
OUTCOMES = ("filled", "partial", "unfilled", "rejected")
REJECT_REASON = "주문가능금액을 초과 하였습니다"  # a buy: not enough cash
SELL_REJECT_REASON = "주문가능수량을 초과 하였습니다"  # a sell: not enough shares


def next_business_day(d: date, calendar: KrxCalendar | None = None) -> date:
    """The open day after ``d`` (bundled KRX calendar unless one is given)."""
    return (calendar or _DEFAULT_CALENDAR).next_open(d)


def process_day(
    state: EmulatorState,
    now: datetime,
    outcomes: Mapping[str, str] | None = None,
    default: str = "filled",
    calendar: KrxCalendar | None = None,
) -> list[dict[str, str]]:
    """Run one processing day: send due reservations to the "market" as ordinary orders.

    The processing day is the business day a reservation received at ``now`` would be sent
    on (:func:`order_date`), so right after placing reservations in the evening one call
    processes them all; the clock is not moved. Reservations whose order date is later are
    left alone.

    ``outcomes`` maps a sequence number (string) to filled / partial / unfilled / rejected
    (default ``default``). A sent row gets ``odno``, ``ord_tmd`` and ``prcs_rslt`` "처리"; fills
    accumulate in ``tot_ccld_qty``/``tot_ccld_amt``; rejected rows get "거부" and
    ``rjct_rson2`` and end. Ordinary reservations end after one day. Period reservations
    (``rsvn_end_dt`` set) are sent again on later processing days for the still-unfilled
    quantity until filled or past their end date, as the spec describes; while active they
    stay "unprocessed" for PRCS_DVSN_CD and can still be modified or cancelled.
    """
    outcomes = dict(outcomes or {})
    for oc in (*outcomes.values(), default):
        if oc not in OUTCOMES:
            raise ValueError(f"unknown outcome {oc!r}; choose from {OUTCOMES}")
    results: list[dict[str, str]] = []
    tmd = now.strftime("%H%M%S")
    cal = calendar or _DEFAULT_CALENDAR
    day = cal.order_date(now)
    day_s = _ymd(day)
    with state.lock:
        for r in sorted(state.reservations.values(), key=lambda r: r.seq):
            if r.status != "pending" or r.ord_dt > day_s:
                continue
            outcome = outcomes.get(str(r.seq), default)
            r.ord_tmd = tmd
            done = True
            if outcome == "rejected":
                r.prcs_rslt = "거부"
                r.rjct_rson2 = SELL_REJECT_REASON if r.sll_buy == "01" else REJECT_REASON
            else:
                remaining = r.qty - r.tot_ccld_qty
                price = r.unpr or REFERENCE_PRICES.get(r.pdno, DEFAULT_REFERENCE_PRICE)
                filled = {"filled": remaining, "partial": remaining // 2, "unfilled": 0}[outcome]
                order = Order(
                    odno=state.next_odno(),
                    account=r.account,
                    pdno=r.pdno,
                    qty=remaining,
                    unpr=r.unpr,
                    sll_buy=r.sll_buy,
                    ord_dvsn=r.ord_dvsn,
                    ord_tmd=tmd,
                    tot_ccld_qty=filled,
                    tot_ccld_amt=filled * price,
                    psbl_qty=remaining - filled,
                    source_seq=r.seq,
                    ord_dt=day_s,
                )
                state.save_order(order)
                r.odno = order.odno
                r.prcs_rslt = "처리"
                r.tot_ccld_qty += filled
                r.tot_ccld_amt += filled * price
                if r.end_dt and r.tot_ccld_qty < r.qty:
                    following = cal.next_open(day)
                    if _ymd(following) <= r.end_dt:
                        done = False
                        r.ord_dt = _ymd(following)
            if done:
                r.status = "processed"
            state.save_reservation(r)
            results.append({"seq": str(r.seq), "outcome": outcome, "odno": r.odno})
    return results
