"""The ordinary orders reservations become: 주식일별주문체결조회 and intraday fills.

``process_day`` (:mod:`stock_manager.emulator.handlers`) turns due reservations into ordinary
orders with fills chosen by the caller (filled / partial / unfilled / rejected, settable per
sequence number through ``POST /_emulator/process-day``). This module serves what a morning
report reads back:

* ``GET /uapi/domestic-stock/v1/trading/inquire-daily-ccld`` (v1_국내주식-005; TTTC0081R
  within three months, CTSC9215R older; VTTC0081R/VTSC9215R paper): one row per order of
  the date range (``output1``, 100 a page, ``tr_cont`` F/M/D with the ``*100`` keys) and the
  totals (``output2``);
* :func:`fill_order` (admin ``POST /_emulator/orders/fill``): fill more of an open order
  during the session, deterministically.

Decisions where KIS is silent:

* A modify (정정) or cancel (취소) is a row of its own with ``orgn_odno`` naming the order it
  changed, as KIS's HTS shows it; a cancel row has ``cncl_yn`` "Y" and ``cnc_cfrm_qty`` equal
  to its quantity. The original row's ``rmn_qty`` is what is still open on it and its
  ``cnc_cfrm_qty`` the quantity cancelled through cancel rows.
* ``avg_prvs`` is ``tot_ccld_amt // tot_ccld_qty`` (whole won), "0" when nothing filled.
* Whether CTSC9215R is used for dates older than three months is not checked: both TR_IDs
  read the same rows.
* ``INQR_DVSN`` "00" (default) lists newest first, "01" oldest first; the continuation key
  ``ctx_area_nk100`` is the last returned order number.
"""

from __future__ import annotations

from stock_manager.emulator.fields import DAILY_CCLD_QUERY, symbol_name
from stock_manager.emulator.gateway import reject
from stock_manager.emulator.handlers import (
    HANDLERS,
    Ctx,
    Reply,
    check_account,
    parse_date,
    read_fields,
)
from stock_manager.emulator.messages import envelope
from stock_manager.emulator.state import BRANCH_NO, EmulatorState, Order

__all__ = ["DAILY_CCLD_PAGE_SIZE", "daily_ccld_row", "fill_order", "inquire_daily_ccld"]

DAILY_CCLD_PAGE_SIZE = 100  # real accounts: 100 rows a call (the API's overview says so)
_CTX_SEP = "!^"


def _cancelled_through(state: EmulatorState, order: Order) -> int:
    return sum(
        o.qty for o in state.orders.values() if o.orgn_odno == order.odno and o.rvse_cncl == "02"
    )


def daily_ccld_row(state: EmulatorState, o: Order) -> dict[str, str]:
    """One ``output1`` row of 주식일별주문체결조회 for order ``o``."""
    side = "매도" if o.sll_buy == "01" else "매수"
    cancel = o.rvse_cncl == "02"
    avg = o.tot_ccld_amt // o.tot_ccld_qty if o.tot_ccld_qty else 0
    kind = {"01": "정정", "02": "취소"}.get(o.rvse_cncl, "")
    return {
        "ord_dt": o.ord_dt,
        "ord_gno_brno": BRANCH_NO,
        "odno": o.odno,
        "orgn_odno": o.orgn_odno,
        "ord_dvsn_name": f"{kind if kind else '현금'}{side}",
        "sll_buy_dvsn_cd": o.sll_buy,
        "sll_buy_dvsn_cd_name": f"현금{side}",
        "pdno": o.pdno,
        "prdt_name": symbol_name(o.pdno),
        "ord_qty": str(o.qty),
        "ord_unpr": str(o.unpr),
        "ord_tmd": o.ord_tmd,
        "tot_ccld_qty": str(o.tot_ccld_qty),
        "avg_prvs": str(avg),
        "cncl_yn": "Y" if cancel else "N",
        "tot_ccld_amt": str(o.tot_ccld_amt),
        "loan_dt": "",
        "ordr_empno": "OpnAPI",
        "ord_dvsn_cd": o.ord_dvsn,
        "cnc_cfrm_qty": str(o.qty if cancel else _cancelled_through(state, o)),
        "rmn_qty": str(0 if cancel else o.psbl_qty),
        "rjct_qty": "0",
        "ccld_cndt_name": "없음",
        "inqr_ip_addr": "",
        "cpbc_ordp_ord_rcit_dvsn_cd": "",
        "cpbc_ordp_infm_mthd_dvsn_cd": "",
        "infm_tmd": "",
        "ctac_tlno": "",
        "prdt_type_cd": "300",
        "excg_dvsn_cd": "01",
        "cpbc_ordp_mtrl_dvsn_cd": "",
        "ord_orgno": BRANCH_NO,
        "rsvn_ord_end_dt": "",
        "excg_id_dvsn_Cd": "KRX",
        "stpm_cndt_pric": "0",
        "stpm_efct_occr_dtmd": "",
    }


def inquire_daily_ccld(ctx: Ctx) -> Reply:
    """GET inquire-daily-ccld (TTTC0081R / CTSC9215R), 100 rows a page."""
    v = read_fields(ctx.data, DAILY_CCLD_QUERY)
    account = check_account(ctx.config, v)
    start_s, end_s = v["INQR_STRT_DT"].strip(), v["INQR_END_DT"].strip()
    if parse_date(start_s) is None or parse_date(end_s) is None:
        raise reject("APBK8016")
    side = v["SLL_BUY_DVSN_CD"].strip()
    side = "" if side in ("", "00") else side
    pdno, odno = v["PDNO"].strip(), v["ODNO"].strip()
    ccld = v["CCLD_DVSN"].strip() or "00"
    newest_first = v["INQR_DVSN"].strip() != "01"
    fk = _CTX_SEP.join(
        (v["CANO"], v["ACNT_PRDT_CD"], start_s, end_s, side, pdno, odno, ccld, v["INQR_DVSN"])
    )
    orders = [
        o
        for o in ctx.state.orders.values()
        if o.account == account
        and start_s <= o.ord_dt <= end_s
        and (not side or o.sll_buy == side)
        and (not pdno or o.pdno == pdno)
        and (not odno or o.odno == odno.zfill(10))
        and (ccld != "01" or o.tot_ccld_qty > 0)
        and (ccld != "02" or (o.psbl_qty > 0 and o.rvse_cncl != "02"))
    ]
    orders.sort(key=lambda o: (o.ord_dt, o.odno), reverse=newest_first)
    keys = [o.odno for o in orders]
    start = 0
    nk_in = v["CTX_AREA_NK100"].strip()
    if ctx.tr_cont.strip().upper() == "N" and nk_in:
        if v["CTX_AREA_FK100"].strip() and v["CTX_AREA_FK100"].strip() != fk:
            raise reject("APBK8019")
        start = next((i + 1 for i, k in enumerate(keys) if k == nk_in), len(keys))
    page = orders[start : start + DAILY_CCLD_PAGE_SIZE]
    more = start + DAILY_CCLD_PAGE_SIZE < len(orders)
    tr_cont = ("M" if start else "F") if more else "D"
    nk = keys[start + len(page) - 1] if page else ""
    live = [o for o in orders if o.rvse_cncl != "02"]
    totals = {
        "tot_ord_qty": str(sum(o.qty for o in live)),
        "tot_ccld_qty": str(sum(o.tot_ccld_qty for o in live)),
        "tot_ccld_amt": str(sum(o.tot_ccld_amt for o in live)),
        "prsm_tlex_smtl": "0",
        "pchs_avg_pric": "0",
    }
    status, body = envelope(
        "KIOK0510",
        ctx_area_fk100=fk.ljust(100),
        ctx_area_nk100=nk.ljust(100),
        output1=[daily_ccld_row(ctx.state, o) for o in page],
        output2=totals,
    )
    return status, body, {"tr_cont": tr_cont}


def fill_order(state: EmulatorState, odno: str, qty: int, price: int | None = None) -> Order:
    """Fill ``qty`` more shares of open order ``odno`` at ``price`` (default: its limit price).

    Raises :class:`ValueError` for an unknown order or more than its open quantity.
    """
    with state.lock:
        o = state.orders.get(odno.strip().zfill(10))
        if o is None:
            raise ValueError(f"no order {odno}")
        if qty <= 0 or qty > o.psbl_qty:
            raise ValueError(f"order {o.odno} has {o.psbl_qty} open; cannot fill {qty}")
        at = price if price is not None else o.unpr
        if at <= 0:
            raise ValueError("a market order needs an explicit fill price")
        o.tot_ccld_qty += qty
        o.tot_ccld_amt += qty * at
        o.psbl_qty -= qty
        state.save_order(o)
        if o.source_seq:
            r = state.reservations.get(o.source_seq)
            if r is not None and r.odno == o.odno:
                r.tot_ccld_qty += qty
                r.tot_ccld_amt += qty * at
                state.save_reservation(r)
        return o


HANDLERS["inquire-daily-ccld"] = inquire_daily_ccld
