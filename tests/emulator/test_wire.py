"""What the emulator puts on the wire: header names and case, msg1 padding, detail header.

Header names are read from the raw socket (no HTTP library normalises them here): the official
KIS sample turns every all-lower-case response header name into a namedtuple field, so each
such name must be a valid Python identifier, and KIS itself sends standard headers in
canonical case with only ``tr_id``/``tr_cont``/``gt_uid`` in lower case.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlencode

import pytest

from stock_manager.emulator import ServedEmulator
from stock_manager.emulator.endpoints import ENDPOINTS
from stock_manager.emulator.messages import MESSAGES
from tests.emulator.helpers import Kis

KIS_LOWER = {"tr_id", "tr_cont", "gt_uid"}
RawResponse = tuple[int, list[tuple[str, str]], bytes]


def raw_request(
    emu: ServedEmulator,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> RawResponse:
    """One HTTP/1.1 exchange over a plain socket; header names exactly as sent."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {emu.host}:{emu.port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    with socket.create_connection((emu.host, emu.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    pairs = [tuple(h.split(": ", 1)) for h in header_lines]
    return int(status_line.split()[1]), [(k, v) for k, v in pairs], content


def _requests_for_every_endpoint(emu: ServedEmulator, kis: Kis) -> list[tuple[str, RawResponse]]:
    """Success and failure answers of every served endpoint, admin and error paths."""
    seq = kis.place_ok()
    auth = kis.headers("")
    out: list[tuple[str, RawResponse]] = []
    bodies = {
        "order-resv": kis.place_body(),
        "order-resv-rvsecncl": {"CANO": kis.cano, "ACNT_PRDT_CD": kis.prdt, "RSVN_ORD_SEQ": seq},
        "order-rvsecncl": {"CANO": kis.cano, "ACNT_PRDT_CD": kis.prdt},
    }
    queries = {
        "order-resv-ccnl": kis.list_params(),
        "inquire-psbl-rvsecncl": {"CANO": kis.cano, "ACNT_PRDT_CD": kis.prdt},
        "chk-holiday": {"BASS_DT": "20261201", "CTX_AREA_NK": "", "CTX_AREA_FK": ""},
    }
    token_body = {
        "grant_type": "client_credentials",
        "appkey": kis.config.app_key,
        "appsecret": kis.config.app_secret,
    }
    for ep in ENDPOINTS:
        emu.limiter.reset()
        emu.token_limiter.reset()
        if ep.name == "tokenP":
            for body in (token_body, {"grant_type": "x"}):
                out.append(
                    (ep.name, raw_request(emu, "POST", ep.path, {}, json.dumps(body).encode()))
                )
            continue
        if ep.name == "revokeP":
            body = {"appkey": kis.config.app_key, "appsecret": kis.config.app_secret, "token": "x"}
            out.append((ep.name, raw_request(emu, "POST", ep.path, {}, json.dumps(body).encode())))
            continue
        if ep.name == "hashkey":
            keys = {"appkey": kis.config.app_key, "appsecret": kis.config.app_secret}
            out.append((ep.name, raw_request(emu, "POST", ep.path, keys, b'{"A":"1"}')))
            continue
        for tr_id in ep.tr_ids:
            headers = {**auth, "tr_id": tr_id, "gt_uid": "0123456789abcdef"}
            if ep.method == "POST":
                good = json.dumps(bodies.get(ep.name, {})).encode()
                out.append((ep.name, raw_request(emu, "POST", ep.path, headers, good)))
                out.append((ep.name, raw_request(emu, "POST", ep.path, headers, b"{}")))
            else:
                # Endpoints added later (other modules) get at least the account query.
                query = queries.get(ep.name, {"CANO": kis.cano, "ACNT_PRDT_CD": kis.prdt})
                path = f"{ep.path}?{urlencode(query)}"
                out.append((ep.name, raw_request(emu, "GET", path, headers)))
                out.append((ep.name, raw_request(emu, "GET", ep.path, headers)))
        # gateway error (no token)
        out.append((ep.name, raw_request(emu, ep.method, ep.path, {"tr_id": "X"})))
    out.append(("not emulated", raw_request(emu, "GET", "/uapi/overseas-stock/v1/x", auth)))
    out.append(("unknown", raw_request(emu, "GET", "/nothing")))
    out.append(("wrong method", raw_request(emu, "GET", ENDPOINTS[3].path, auth)))
    out.append(("admin", raw_request(emu, "GET", "/_emulator/codes")))
    out.append(("openapi", raw_request(emu, "GET", "/openapi.json")))
    emu.faults.add("order-resv-ccnl", "http_error", body="html")
    path = f"{ENDPOINTS[5].path}?{urlencode(queries['order-resv-ccnl'])}"
    out.append(("html fault", raw_request(emu, "GET", path, {**auth, "tr_id": "CTSC0004R"})))
    return out


def test_every_lower_case_header_name_is_an_identifier(emu: ServedEmulator, kis: Kis) -> None:
    answers = _requests_for_every_endpoint(emu, kis)
    assert len(answers) > 20
    seen_lower: set[str] = set()
    for label, (status, headers, _) in answers:
        names = [name for name, _ in headers]
        lower = [n for n in names if n.islower()]
        # The official sample: namedtuple("header", <every all-lower-case name>).
        assert all(n.isidentifier() for n in lower), (label, status, names)
        assert set(lower) <= KIS_LOWER, (label, names)
        assert "Content-Type" in names, (label, names)
        assert "Content-Length" in names, (label, names)
        assert "Date" in names, (label, names)
        seen_lower.update(lower)
    assert seen_lower == KIS_LOWER  # tr_id, tr_cont (lists) and the echoed gt_uid all occur


def test_kis_headers_echoed(emu: ServedEmulator, kis: Kis) -> None:
    path = f"{ENDPOINTS[5].path}?{urlencode(kis.list_params())}"
    status, headers, _ = raw_request(emu, "GET", path, {**kis.headers("CTSC0004R"), "gt_uid": "G1"})
    got = dict(headers)
    assert status == 200
    assert (got["tr_id"], got["tr_cont"], got["gt_uid"]) == ("CTSC0004R", "D", "G1")
    assert got["Content-Type"] == "application/json; charset=utf-8"


def _euc_kr_width(text: str) -> int:
    return len(text.encode("euc-kr"))


def test_msg1_padding_inquiries_only(kis: Kis) -> None:
    placed = kis.place().json()
    assert placed["msg1"] == MESSAGES["APBK2938"].text  # POST success: not padded
    listed = kis.query().json()
    assert listed["msg1"].rstrip() == "조회 되었습니다. (마지막 자료)"
    assert _euc_kr_width(listed["msg1"]) == 80  # inquiry: padded to 80 EUC-KR bytes
    bad = kis.query(RSVN_ORD_ORD_DT="2026").json()  # business error of an inquiry: padded
    assert bad["msg_cd"] == "APBK8016"
    assert _euc_kr_width(bad["msg1"]) == 80
    gateway = kis.http.get("/uapi/domestic-stock/v1/trading/order-resv-ccnl").json()
    assert gateway["msg_cd"] == "EGW00102"
    assert gateway["msg1"] == MESSAGES["EGW00102"].text  # gateway error: not padded


def test_details_only_in_the_emulator_header(kis: Kis) -> None:
    r = kis.place(ORD_QTY="0")
    data = r.json()
    assert data["msg_cd"] == "APBK8006"
    assert data["msg1"] == MESSAGES["APBK8006"].text  # nothing appended
    assert "ORD_QTY" in r.headers["X-Emulator-Detail"]
    r = kis.cancel("99999999")
    assert r.json()["msg1"] == MESSAGES["APBK8012"].text
    assert "99999999" in r.headers["X-Emulator-Detail"]


def test_fault_codes_are_in_the_code_table() -> None:
    from stock_manager.emulator.faults import GATEWAY_ERROR_TEXT

    for code, text in GATEWAY_ERROR_TEXT.items():
        assert MESSAGES[code].text == text


def test_code_table_has_a_source_for_every_code(kis: Kis) -> None:
    codes = kis.http.get("/_emulator/codes").json()
    assert {c["code"] for c in codes} == set(MESSAGES)
    sources = {"spec-example", "spec", "spec-3P", "emulator"}
    assert all(c["source"] in sources for c in codes)
    by_code = {c["code"]: c for c in codes}
    assert by_code["EMU00501"]["http_status"] == 501
    assert by_code["KIER3672"]["note"]
    assert by_code["EGW02006"]["text"] == "모의투자 TR 이 아닙니다"


@pytest.mark.parametrize("path", ["/uapi/overseas-stock/v1/trading/order", "/uapi/x"])
def test_not_emulated_path(kis: Kis, path: str) -> None:
    r = kis.http.post(path, json={}, headers=kis.headers("TTTT1002U"))
    assert r.status_code == 501
    assert r.json() == {
        "rt_cd": "1",
        "msg_cd": "EMU00501",
        "msg1": MESSAGES["EMU00501"].text,
    }
    assert r.headers["X-Emulator-Detail"] == f"not emulated: POST {path}"


def test_recase_head_unit() -> None:
    from stock_manager.emulator.protocol import recase_head

    head = b"HTTP/1.1 200 OK\r\ncontent-type: a\r\ntr_cont: M\r\nx-emulator-detail: d\r\n\r\n{}"
    assert recase_head(head) == (
        b"HTTP/1.1 200 OK\r\nContent-Type: a\r\ntr_cont: M\r\nX-Emulator-Detail: d\r\n\r\n{}"
    )
