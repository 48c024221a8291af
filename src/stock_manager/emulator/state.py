"""In-memory emulator state: reservations, ordinary orders, tokens and counters.

All mutations go through :class:`EmulatorState` under one re-entrant lock (the server thread
and the test thread both touch it) and are written through to SQLite when a state file is
configured.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from stock_manager.emulator.fields import ORD_DVSN_NAMES, symbol_name
from stock_manager.emulator.store_sqlite import SqliteStore

# Starting points chosen to look like the numbers seen in KIS examples.
FIRST_RSVN_SEQ = 39607
FIRST_ODNO = 117057
BRANCH_NO = "06010"


@dataclass
class Reservation:
    """One reservation order (주식예약주문)."""

    seq: int
    account: str
    pdno: str
    qty: int
    unpr: int
    sll_buy: str
    ord_dvsn: str
    objt_cblc: str
    loan_dt: str
    end_dt: str
    ldng_dt: str
    ctac_tlno: str
    rcit_dt: str
    rcit_tmd: str
    ord_dt: str
    status: str = "pending"  # pending | processed | cancelled
    cncl_ord_dt: str = ""
    cncl_rcit_tmd: str = ""
    odno: str = ""
    ord_tmd: str = ""
    tot_ccld_qty: int = 0
    tot_ccld_amt: int = 0
    prcs_rslt: str = "미처리"
    rjct_rson2: str = ""
    _row: dict[str, str] | None = field(default=None, repr=False, compare=False)
    _json: bytes | None = field(default=None, repr=False, compare=False)

    def row(self) -> dict[str, str]:
        """The 주식예약주문조회 output row (cached; every value a string)."""
        if self._row is None:
            side = "매도" if self.sll_buy == "01" else "매수"
            self._row = {
                "rsvn_ord_seq": str(self.seq),
                "rsvn_ord_ord_dt": self.ord_dt,
                "rsvn_ord_rcit_dt": self.rcit_dt,
                "pdno": self.pdno,
                "ord_dvsn_cd": self.ord_dvsn,
                "ord_rsvn_qty": str(self.qty),
                "tot_ccld_qty": str(self.tot_ccld_qty),
                "cncl_ord_dt": self.cncl_ord_dt,
                "ord_tmd": self.ord_tmd,
                "ctac_tlno": self.ctac_tlno or "0",
                "rjct_rson2": self.rjct_rson2,
                "odno": self.odno,
                "rsvn_ord_rcit_tmd": self.rcit_tmd,
                "kor_item_shtn_name": symbol_name(self.pdno),
                "sll_buy_dvsn_cd": self.sll_buy,
                "ord_rsvn_unpr": str(self.unpr),
                "tot_ccld_amt": str(self.tot_ccld_amt),
                "loan_dt": self.loan_dt,
                "cncl_rcit_tmd": self.cncl_rcit_tmd,
                "prcs_rslt": self.prcs_rslt,
                "ord_dvsn_name": f"현금{side}" if self.objt_cblc == "10" else f"신용{side}",
                "tmnl_mdia_kind_cd": "31",
                "rsvn_end_dt": self.end_dt,
            }
        return self._row

    def row_json(self) -> bytes:
        """The output row as compact UTF-8 JSON (cached: list pages splice these bytes)."""
        if self._json is None:
            self._json = json.dumps(self.row(), ensure_ascii=False, separators=(",", ":")).encode()
        return self._json

    def doc(self) -> dict[str, Any]:
        """Serializable form (for SQLite and the admin API)."""
        d = dataclasses.asdict(self)
        d.pop("_row", None)
        d.pop("_json", None)
        return d


@dataclass
class Order:
    """An ordinary order, created by processing a reservation or by a modify/cancel."""

    odno: str
    account: str
    pdno: str
    qty: int
    unpr: int
    sll_buy: str
    ord_dvsn: str
    ord_tmd: str
    orgn_odno: str = ""
    rvse_cncl: str = ""  # "" new, "01" modify, "02" cancel
    tot_ccld_qty: int = 0
    tot_ccld_amt: int = 0
    psbl_qty: int = 0
    source_seq: int = 0
    ord_dt: str = ""  # YYYYMMDD session day (read by 주식일별주문체결조회, emulator/orders.py)

    def psbl_row(self) -> dict[str, str]:
        """The 주식정정취소가능주문조회 output row."""
        side = "매도" if self.sll_buy == "01" else "매수"
        return {
            "ord_gno_brno": BRANCH_NO,
            "odno": self.odno,
            "orgn_odno": self.orgn_odno,
            "ord_dvsn_name": f"{ORD_DVSN_NAMES.get(self.ord_dvsn, '지정가')}{side}",
            "pdno": self.pdno,
            "prdt_name": symbol_name(self.pdno),
            "rvse_cncl_dvsn_name": {"01": "정정", "02": "취소"}.get(self.rvse_cncl, ""),
            "ord_qty": str(self.qty),
            "ord_unpr": str(self.unpr),
            "ord_tmd": self.ord_tmd,
            "tot_ccld_qty": str(self.tot_ccld_qty),
            "tot_ccld_amt": str(self.tot_ccld_amt),
            "psbl_qty": str(self.psbl_qty),
            "sll_buy_dvsn_cd": self.sll_buy,
            "ord_dvsn_cd": self.ord_dvsn,
            "mgco_aptm_odno": "",
            "excg_dvsn_cd": "01",
            "excg_id_dvsn_cd": "KRX",
            "excg_id_dvsn_name": "한국거래소",
            "stpm_cndt_pric": "0",
            "stpm_efct_occr_yn": "N",
        }

    def doc(self) -> dict[str, Any]:
        """Serializable form."""
        return dataclasses.asdict(self)


@dataclass
class Token:
    """An issued access token."""

    token: str
    app_key: str
    issued_at: float
    expires_at: float
    revoked: bool = False

    def doc(self) -> dict[str, Any]:
        """Serializable form."""
        return dataclasses.asdict(self)


class EmulatorState:
    """Reservations, orders, tokens and counters, optionally persisted to SQLite."""

    def __init__(self, store: SqliteStore | None = None) -> None:
        self.lock = threading.RLock()
        self.reservations: dict[int, Reservation] = {}
        # Indexes that keep every list page and every place/modify/cancel O(page)/O(log N):
        # sequence numbers per account in ascending order (new ones are always the largest,
        # so appending keeps them sorted), and the pending period reservations per account.
        self.seqs_by_account: dict[str, list[int]] = {}
        self.period_pending: dict[str, set[int]] = {}
        self.orders: dict[str, Order] = {}
        self.odnos_by_account: dict[str, list[str]] = {}
        self.tokens: dict[str, Token] = {}
        self.last_issue: dict[str, float] = {}
        self.counters: dict[str, int] = {
            "next_seq": FIRST_RSVN_SEQ,
            "next_odno": FIRST_ODNO,
            "token_issuances": 0,
            "tokens_created": 0,
        }
        self._store = store
        if store is not None:
            self._load(store)

    # --- persistence -------------------------------------------------------------------
    def _load(self, store: SqliteStore) -> None:
        for d in store.load("resv"):
            self._index_reservation(Reservation(**d))
        for d in store.load("order"):
            self._index_order(Order(**d))
        for d in store.load("token"):
            t = Token(**d)
            self.tokens[t.token] = t
        for d in store.load("meta"):
            if d["name"] == "counters":
                self.counters.update(d["value"])
            elif d["name"] == "last_issue":
                self.last_issue.update(d["value"])

    def _save_meta(self) -> None:
        if self._store is not None:
            self._store.put("meta", "counters", {"name": "counters", "value": self.counters})
            self._store.put("meta", "last_issue", {"name": "last_issue", "value": self.last_issue})

    def _index_reservation(self, r: Reservation) -> None:
        if r.seq not in self.reservations:
            seqs = self.seqs_by_account.setdefault(r.account, [])
            if not seqs or seqs[-1] < r.seq:
                seqs.append(r.seq)
            else:  # only when loading out of order
                bisect.insort(seqs, r.seq)
        self.reservations[r.seq] = r
        pending = self.period_pending.setdefault(r.account, set())
        if r.end_dt and r.status == "pending":
            pending.add(r.seq)
        else:
            pending.discard(r.seq)

    def _index_order(self, o: Order) -> None:
        if o.odno not in self.orders:
            odnos = self.odnos_by_account.setdefault(o.account, [])
            if not odnos or odnos[-1] < o.odno:
                odnos.append(o.odno)
            else:
                bisect.insort(odnos, o.odno)
        self.orders[o.odno] = o

    def save_reservation(self, r: Reservation) -> None:
        """Record a new or changed reservation (invalidates its cached row)."""
        with self.lock:
            r._row = None
            r._json = None
            self._index_reservation(r)
            if self._store is not None:
                self._store.put("resv", str(r.seq), r.doc())

    def save_order(self, o: Order) -> None:
        """Record a new or changed ordinary order."""
        with self.lock:
            self._index_order(o)
            if self._store is not None:
                self._store.put("order", o.odno, o.doc())

    def save_token(self, t: Token) -> None:
        """Record a new or changed token."""
        with self.lock:
            self.tokens[t.token] = t
            if self._store is not None:
                self._store.put("token", t.token, t.doc())

    def next_seq(self) -> int:
        """Allocate the next reservation sequence number."""
        with self.lock:
            seq = self.counters["next_seq"]
            self.counters["next_seq"] = seq + 1
            self._save_meta()
            return seq

    def next_odno(self) -> str:
        """Allocate the next ordinary order number (10 digits, zero padded)."""
        with self.lock:
            n = self.counters["next_odno"]
            self.counters["next_odno"] = n + 1
            self._save_meta()
            return f"{n:010d}"

    def record_issuance(self, app_key: str, at: float, new_token: bool) -> None:
        """Count one successful tokenP call."""
        with self.lock:
            self.last_issue[app_key] = at
            self.counters["token_issuances"] += 1
            if new_token:
                self.counters["tokens_created"] += 1
            self._save_meta()

    # --- queries ------------------------------------------------------------------------
    @property
    def token_issuances(self) -> int:
        """Successful tokenP responses so far (same-token re-issues included)."""
        return self.counters["token_issuances"]

    @property
    def tokens_created(self) -> int:
        """Distinct access tokens created so far."""
        return self.counters["tokens_created"]

    def account_reservations(self, account: str) -> list[Reservation]:
        """Reservations of ``account`` ordered by sequence number."""
        with self.lock:
            return [self.reservations[s] for s in self.seqs_by_account.get(account, ())]

    def pending_period_count(self, account: str, exclude_seq: int = 0) -> int:
        """Pending period reservations of ``account`` (O(1))."""
        pending = self.period_pending.get(account, set())
        return len(pending) - (1 if exclude_seq in pending else 0)

    def snapshot(self) -> dict[str, Any]:
        """JSON-able dump for ``GET /_emulator/state``."""
        with self.lock:
            return {
                "reservations": [r.doc() for r in sorted(self.reservations.values(), key=_seq)],
                "orders": [o.doc() for o in self.orders.values()],
                "counters": dict(self.counters),
                "tokens": len(self.tokens),
            }

    def close(self) -> None:
        """Release the SQLite connection, if any."""
        if self._store is not None:
            self._store.close()
            self._store = None


def _seq(r: Reservation) -> int:
    return r.seq
