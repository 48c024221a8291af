"""A tiny KIS client written from kis-spec.md with plain httpx, for emulator tests only.

It deliberately does not use ``stock_manager.adapters``: the emulator is checked against the
documented protocol, not against our own client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from stock_manager.emulator import KST, EmulatorConfig

TRADING = "/uapi/domestic-stock/v1/trading"
RESV = f"{TRADING}/order-resv"
RESV_RVSECNCL = f"{TRADING}/order-resv-rvsecncl"
RESV_CCNL = f"{TRADING}/order-resv-ccnl"
ORDER_RVSECNCL = f"{TRADING}/order-rvsecncl"
PSBL = f"{TRADING}/inquire-psbl-rvsecncl"

# Tuesday 18:00 KST: inside the reservation entry window (15:40 → 07:30).
FROZEN = datetime(2026, 11, 24, 18, 0, 0, tzinfo=KST)


def frozen_config(**overrides: Any) -> EmulatorConfig:
    """Demo config whose clock stands still at FROZEN (advance() still works).

    The rate limits' real-seconds clock stands still too (``budget_clock``), so the limiter
    tests move it with ``advance`` alone, whatever the machine's speed.
    """
    values: dict[str, Any] = {"seed": 7, "clock": lambda: FROZEN, "budget_clock": lambda: 0.0}
    values.update(overrides)
    return EmulatorConfig.demo(**values)


class Kis:
    """Spec-shaped requests against one emulator."""

    def __init__(self, client: httpx.Client, config: EmulatorConfig) -> None:
        self.http = client
        self.config = config
        self.cano, self.prdt = config.account.split("-")
        self.token = ""

    # --- auth ---
    def issue(self, appkey: str | None = None, appsecret: str | None = None) -> httpx.Response:
        body = {
            "grant_type": "client_credentials",
            "appkey": appkey if appkey is not None else self.config.app_key,
            "appsecret": appsecret if appsecret is not None else self.config.app_secret,
        }
        return self.http.post("/oauth2/tokenP", json=body)

    def login(self) -> str:
        r = self.issue()
        assert r.status_code == 200, r.text
        self.token = str(r.json()["access_token"])
        return self.token

    def headers(self, tr_id: str, **extra: str) -> dict[str, str]:
        h = {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {self.token}",
            "appkey": self.config.app_key,
            "appsecret": self.config.app_secret,
            "tr_id": tr_id,
            "custtype": "P",
        }
        h.update(extra)
        return h

    # --- reservations ---
    def place_body(self, **overrides: str) -> dict[str, str]:
        body = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.prdt,
            "PDNO": "005930",
            "ORD_QTY": "10",
            "ORD_UNPR": "70000",
            "SLL_BUY_DVSN_CD": "02",
            "ORD_DVSN_CD": "00",
            "ORD_OBJT_CBLC_DVSN_CD": "10",
            "LOAN_DT": "",
            "RSVN_ORD_END_DT": "",
            "LDNG_DT": "",
        }
        body.update(overrides)
        return body

    def place(self, **overrides: str) -> httpx.Response:
        return self.http.post(
            RESV, json=self.place_body(**overrides), headers=self.headers("CTSC0008U")
        )

    def place_ok(self, **overrides: str) -> str:
        r = self.place(**overrides)
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["rt_cd"] == "0", data
        return str(data["output"]["RSVN_ORD_SEQ"])

    def cancel(self, seq: str, **overrides: str) -> httpx.Response:
        body = {"CANO": self.cano, "ACNT_PRDT_CD": self.prdt, "RSVN_ORD_SEQ": seq}
        body.update(overrides)
        return self.http.post(RESV_RVSECNCL, json=body, headers=self.headers("CTSC0009U"))

    def modify(self, seq: str, **overrides: str) -> httpx.Response:
        body = self.place_body(RSVN_ORD_SEQ=seq, RSVN_ORD_ORGNO="", RSVN_ORD_ORD_DT="")
        body.pop("LDNG_DT")
        body.update(overrides)
        return self.http.post(RESV_RVSECNCL, json=body, headers=self.headers("CTSC0013U"))

    def list_params(self, **overrides: str) -> dict[str, str]:
        params = {
            "RSVN_ORD_ORD_DT": "20261101",
            "RSVN_ORD_END_DT": "20261231",
            "RSVN_ORD_SEQ": "",
            "TMNL_MDIA_KIND_CD": "00",
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.prdt,
            "PRCS_DVSN_CD": "0",
            "CNCL_YN": "N",
            "PDNO": "",
            "SLL_BUY_DVSN_CD": "",
            "CTX_AREA_FK200": "",
            "CTX_AREA_NK200": "",
        }
        params.update(overrides)
        return params

    def query(self, tr_cont: str = "", **overrides: str) -> httpx.Response:
        headers = self.headers("CTSC0004R", tr_cont=tr_cont)
        return self.http.get(RESV_CCNL, params=self.list_params(**overrides), headers=headers)

    def list_all(self, **overrides: str) -> list[dict[str, str]]:
        """Follow tr_cont/ctx continuation and return every row."""
        rows: list[dict[str, str]] = []
        r = self.query(**overrides)
        while True:
            data = r.json()
            assert data["rt_cd"] == "0", data
            rows += data["output"]
            if r.headers["tr_cont"] not in ("F", "M"):
                return rows
            r = self.query(
                tr_cont="N",
                CTX_AREA_FK200=data["ctx_area_fk200"],
                CTX_AREA_NK200=data["ctx_area_nk200"],
                **overrides,
            )

    def row(self, seq: str) -> dict[str, str]:
        rows = [row for row in self.list_all() if row["rsvn_ord_seq"] == seq]
        assert len(rows) == 1
        return rows[0]
