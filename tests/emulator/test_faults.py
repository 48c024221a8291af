"""Fault injection over real sockets: what a client sees, and whether state changed."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from stock_manager.emulator import ServedEmulator
from tests.emulator.helpers import RESV, Kis


def test_reset_after_commits_then_drops(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "reset_after")
    with pytest.raises(httpx.ReadError):
        kis.place()
    rows = kis.list_all()
    assert len(rows) == 1  # committed although the client never got an answer
    record = emu.requests.filter(name="order-resv")[0]
    assert (record.status, record.fault, record.msg_cd) == (0, "reset_after", "APBK2938")
    # The fault fired once; the next call is normal.
    kis.place_ok()


def test_reset_before_does_not_commit(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add(RESV, "reset_before")
    with pytest.raises(httpx.ReadError):
        kis.place()
    assert kis.list_all() == []


def test_attempt_numbers(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("CTSC0008U", "reset_before", attempts=[2, 3])
    kis.place_ok()
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            kis.place()
    kis.place_ok()
    assert len(kis.list_all()) == 2
    assert emu.faults.list() == []  # exhausted faults disarm themselves


def test_hang_read_timeout(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "hang", seconds=2)
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        kis.http.post(RESV, json=kis.place_body(), headers=kis.headers("CTSC0008U"), timeout=0.2)
    assert time.monotonic() - start < 1.5
    assert kis.list_all() == []


def test_hang_with_commit(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "hang", seconds=2, commit=True)
    with pytest.raises(httpx.ReadTimeout):
        kis.http.post(RESV, json=kis.place_body(), headers=kis.headers("CTSC0008U"), timeout=0.2)
    assert len(kis.list_all()) == 1


def test_hang_then_dropped(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "hang", seconds=0.1)
    with pytest.raises(httpx.TransportError):
        kis.place()


def test_delay(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv-ccnl", "delay", seconds=0.15)
    start = time.monotonic()
    assert kis.query().json()["rt_cd"] == "0"
    assert time.monotonic() - start >= 0.15


def test_http_error_json(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "http_error", status=503)
    r = kis.place()
    assert r.status_code == 503
    assert r.json()["rt_cd"] == "1"
    assert r.json()["msg_cd"] == "EGW00002"
    assert kis.list_all() == []


def test_http_error_html(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "http_error", status=502, body="html")
    r = kis.place()
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        r.json()
    assert kis.list_all() == []


def test_garbled_commits(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "garbled")
    r = kis.place()
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()
    assert len(kis.list_all()) == 1


def test_forced_rate_limit(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "rate_limit", times=2)
    for _ in range(2):
        r = kis.place()
        assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW00201")
    kis.place_ok()
    assert len(kis.list_all()) == 1


def test_expire_token_fault(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv-ccnl", "expire_token")
    r = kis.query()
    assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW00123")
    emu.clock.advance(60)
    kis.login()
    assert kis.query().json()["rt_cd"] == "0"


def test_fault_on_token_endpoint(emu: ServedEmulator, kis: Kis) -> None:
    emu.clock.advance(60)
    emu.faults.add("tokenP", "http_error", status=500)
    assert kis.issue().status_code == 500
    assert emu.state.token_issuances == 1


def test_unknown_fault_kind(emu: ServedEmulator) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        emu.faults.add("order-resv", "explode")


def test_admin_api(emu: ServedEmulator, kis: Kis) -> None:
    admin = kis.http
    r = admin.post("/_emulator/faults", json={"target": "order-resv", "kind": "reset_after"})
    assert r.status_code == 201
    assert admin.get("/_emulator/faults").json()[0]["kind"] == "reset_after"
    with pytest.raises(httpx.TransportError):
        kis.place()
    admin.post("/_emulator/faults", json={"target": "order-resv", "kind": "reset_before"})
    assert admin.delete("/_emulator/faults").json() == {"cleared": True}
    kis.place_ok()
    state = admin.get("/_emulator/state").json()
    assert len(state["reservations"]) == 2
    assert state["mode"] == "real"
    seq = str(state["reservations"][0]["seq"])
    r = admin.post("/_emulator/process-day", json={"outcomes": {seq: "partial"}})
    assert [x["outcome"] for x in r.json()] == ["partial", "filled"]
    log = admin.get("/_emulator/requests").json()
    assert [x["tr_id"] for x in log if x["path"] == RESV] == ["CTSC0008U", "CTSC0008U"]
    assert {"method", "path", "tr_id", "status", "msg_cd", "time"} <= set(log[0])
    before = admin.get("/_emulator/clock").json()["now"]
    after = admin.post("/_emulator/clock/advance", json={"seconds": 3600}).json()["now"]
    assert after > before
    assert admin.post("/_emulator/expire-tokens").json() == {"expired": 1}
    assert kis.query().json()["msg_cd"] == "EGW00123"
    r = admin.post("/_emulator/clock/freeze", json={"at": "2026-12-01T19:00:00+09:00"})
    assert r.json()["now"].startswith("2026-12-01T19:00:00")
    assert admin.delete("/_emulator/requests").json() == {"cleared": True}
    assert admin.get("/_emulator/requests").json() == []
    codes = admin.get("/_emulator/codes").json()
    assert any(c["code"] == "APBK2938" for c in codes)
    assert admin.post("/_emulator/faults", json={"kind": "nope"}).status_code == 400
    assert admin.get("/_emulator/nothing").status_code == 404


def test_unknown_path_and_method(kis: Kis) -> None:
    r = kis.http.get("/uapi/domestic-stock/v1/trading/nothing", headers=kis.headers("CTSC0004R"))
    assert (r.status_code, r.json()["msg_cd"]) == (501, "EMU00501")
    assert (
        r.headers["X-Emulator-Detail"]
        == "not emulated: GET /uapi/domestic-stock/v1/trading/nothing"
    )
    r = kis.http.get("/somewhere/else")
    assert (r.status_code, r.json()["msg_cd"]) == (404, "OPSQ0002")
    r = kis.http.get(RESV, headers=kis.headers("CTSC0008U"))
    assert (r.status_code, r.json()["rt_cd"]) == (405, "1")


def test_unexpected_exception_becomes_envelope(
    emu: ServedEmulator, kis: Kis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stock_manager.emulator import handlers

    def boom(ctx: handlers.Ctx) -> handlers.Reply:
        raise RuntimeError("bug")

    monkeypatch.setitem(handlers.HANDLERS, "order-resv-ccnl", boom)
    r = kis.query()
    assert r.status_code == 500
    assert r.json()["msg_cd"] == "EGW00002"
    assert r.json()["rt_cd"] == "1"
