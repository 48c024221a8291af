"""A client written from the spec in the style of the official KIS sample, against
``stock-manager emulator serve`` running as a separate process.

The official sample (``kis_auth.py`` in koreainvestment/open-trading-api) uses ``requests``,
builds a ``namedtuple`` from every all-lower-case response header name and another from the
top-level body keys, answers non-200 statuses with an error object, paces calls (0.05 s in
real mode) and pages with the response header ``tr_cont`` (F/M → send ``tr_cont: N`` with the
returned ``ctx_area_fk200``/``ctx_area_nk200``). This test client is written independently in
that shape: if the emulator sent ``content-type`` in lower case, ``namedtuple`` would raise
here exactly as it does in the sample.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import namedtuple
from collections.abc import Iterator
from typing import Any

import pytest
import requests

APP_KEY = "PSOFFICIALstyle00000000000000000000"
APP_SECRET = "official-style-secret"
ACCOUNT = "33334444-01"
TRADING = "/uapi/domestic-stock/v1/trading"
PACE_S = 0.06  # the sample sleeps 0.05 s between real-mode calls (20/s); keep under it


class SampleResponse:
    """Response wrapper in the official sample's shape (header + body namedtuples)."""

    def __init__(self, resp: requests.Response) -> None:
        self.status = resp.status_code
        fields = {k: resp.headers[k] for k in resp.headers if k.islower()}
        self.header: Any = namedtuple("header", fields.keys())(**fields)
        data = resp.json()
        self.body: Any = namedtuple("body", data.keys())(**data)

    def ok(self) -> bool:
        return bool(self.status == 200 and self.body.rt_cd == "0")


class SampleClient:
    """The sample's flow: token once, base headers, paced calls, tr_cont paging."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.token = ""
        self.cano, self.prdt = ACCOUNT.split("-")

    def auth(self) -> None:
        body = {"grant_type": "client_credentials", "appkey": APP_KEY, "appsecret": APP_SECRET}
        r = self.session.post(f"{self.base_url}/oauth2/tokenP", data=json.dumps(body))
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]

    def fetch(
        self, path: str, tr_id: str, tr_cont: str, params: dict[str, str], post: bool = False
    ) -> SampleResponse:
        time.sleep(PACE_S)
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/plain",
            "charset": "UTF-8",
            "authorization": f"Bearer {self.token}",
            "appkey": APP_KEY,
            "appsecret": APP_SECRET,
            "tr_id": tr_id,
            "custtype": "P",
            "tr_cont": tr_cont,
        }
        url = f"{self.base_url}{path}"
        if post:
            r = self.session.post(url, headers=headers, data=json.dumps(params))
        else:
            r = self.session.get(url, headers=headers, params=params)
        assert r.status_code == 200, r.text  # the sample turns anything else into an error
        return SampleResponse(r)

    def place(self, qty: int) -> str:
        params = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.prdt,
            "PDNO": "005930",
            "ORD_QTY": str(qty),
            "ORD_UNPR": "70000",
            "SLL_BUY_DVSN_CD": "02",
            "ORD_DVSN_CD": "00",
            "ORD_OBJT_CBLC_DVSN_CD": "10",
        }
        res = self.fetch(f"{TRADING}/order-resv", "CTSC0008U", "", params, post=True)
        assert res.ok(), res.body
        return str(res.body.output["RSVN_ORD_SEQ"])

    def revise(self, tr_id: str, seq: str, **terms: str) -> SampleResponse:
        params = {
            "CANO": self.cano,
            "ACNT_PRDT_CD": self.prdt,
            "RSVN_ORD_SEQ": seq,
            "RSVN_ORD_ORGNO": "",
            "RSVN_ORD_ORD_DT": "",
            **terms,
        }
        return self.fetch(f"{TRADING}/order-resv-rvsecncl", tr_id, "", params, post=True)

    def inquire(self) -> tuple[list[dict[str, str]], list[str]]:
        """Every row, following tr_cont like the sample (capped depth, 10 in the sample)."""
        rows: list[dict[str, str]] = []
        conts: list[str] = []
        tr_cont, fk, nk = "", "", ""
        for _ in range(10):
            params = {
                "RSVN_ORD_ORD_DT": "20261201",
                "RSVN_ORD_END_DT": "20261231",
                "RSVN_ORD_SEQ": "",
                "TMNL_MDIA_KIND_CD": "00",
                "CANO": self.cano,
                "ACNT_PRDT_CD": self.prdt,
                "PRCS_DVSN_CD": "0",
                "CNCL_YN": "Y",
                "PDNO": "",
                "SLL_BUY_DVSN_CD": "",
                "CTX_AREA_FK200": fk,
                "CTX_AREA_NK200": nk,
            }
            res = self.fetch(f"{TRADING}/order-resv-ccnl", "CTSC0004R", tr_cont, params)
            assert res.ok(), res.body
            assert res.header.tr_id == "CTSC0004R"
            rows += res.body.output
            conts.append(res.header.tr_cont)
            if res.header.tr_cont not in ("F", "M"):
                return rows, conts
            tr_cont, fk, nk = "N", res.body.ctx_area_fk200, res.body.ctx_area_nk200
        raise AssertionError("paging did not end")


@pytest.fixture
def served() -> Iterator[str]:
    """``stock-manager emulator serve`` with its clock inside the reservation window."""
    cmd = [
        sys.executable,
        "-m",
        "stock_manager.cli",
        "emulator",
        "serve",
        "--port",
        "0",
        "--app-key",
        APP_KEY,
        "--app-secret",
        APP_SECRET,
        "--account",
        ACCOUNT,
        "--clock",
        "2026-12-01T16:00+09:00",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = ""
        deadline = time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                url = match.group(1)
        assert url, proc.stderr.read() if proc.stderr else "no banner"
        for _ in range(200):  # the socket listens before uvicorn accepts
            try:
                requests.get(f"{url}/_emulator/clock", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_sample_style_client_place_list_modify_cancel_and_page(served: str) -> None:
    clock = requests.get(f"{served}/_emulator/clock", timeout=5).json()["now"]
    assert clock.startswith("2026-12-01T16:0")  # --clock started it there
    client = SampleClient(served)
    client.auth()

    seq = client.place(1)
    rows, conts = client.inquire()
    assert [r["rsvn_ord_seq"] for r in rows] == [seq]
    assert conts == ["D"]

    modified = client.revise(
        "CTSC0013U",
        seq,
        PDNO="005930",
        ORD_QTY="3",
        ORD_UNPR="69000",
        SLL_BUY_DVSN_CD="02",
        ORD_DVSN_CD="00",
        ORD_OBJT_CBLC_DVSN_CD="10",
        LOAN_DT="",
        RSVN_ORD_END_DT="",
    )
    assert modified.ok() and modified.body.output["NRML_PRCS_YN"] == "Y"
    cancelled = client.revise("CTSC0009U", seq)
    assert cancelled.ok(), cancelled.body
    assert client.inquire()[0] == []  # CNCL_YN Y: valid orders only

    placed = [client.place(i + 1) for i in range(45)]
    rows, conts = client.inquire()
    assert [r["rsvn_ord_seq"] for r in rows] == placed
    assert conts == ["F", "M", "D"]
