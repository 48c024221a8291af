"""Paper mode, SQLite persistence, in-process ASGI use, OpenAPI, serve/CLI."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from stock_manager.emulator import ServedEmulator, create_app, run_emulator
from stock_manager.emulator.server import banner
from tests.emulator.helpers import RESV, RESV_CCNL, RESV_RVSECNCL, Kis, frozen_config


def test_paper_mode_rejects_real_only_tr_ids() -> None:
    cfg = frozen_config(mode="paper")
    assert cfg.rate_limit == 2
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        kis.login()
        emu.clock.advance(1)  # tokenP used one of the 2 calls of this second
        r = kis.place()
        assert r.status_code == 500
        assert r.json()["msg_cd"] == "EGW02006"
        assert r.json()["msg1"] == "모의투자 TR 이 아닙니다"  # gateway errors are not padded
        emu.clock.advance(1)
        for tr_id, path in (("CTSC0004R", RESV_CCNL), ("CTSC0009U", RESV_RVSECNCL)):
            r = client.post(path, json={}, headers=kis.headers(tr_id))
            assert r.json()["msg_cd"] in ("EGW02006", "EGW00101")
        assert emu.state.reservations == {}
        emu.clock.advance(1)
        # The paper TR_ID of 주식주문(정정취소) passes the gateway (no such order → business error).
        r = client.post(
            "/uapi/domestic-stock/v1/trading/order-rvsecncl",
            json={"CANO": kis.cano, "ACNT_PRDT_CD": kis.prdt},
            headers=kis.headers("VTTC0013U"),
        )
        assert (r.status_code, r.json()["msg_cd"]) == (200, "APBK8001")
        r = client.post(
            "/uapi/domestic-stock/v1/trading/order-rvsecncl",
            json={},
            headers=kis.headers("TTTC0013U"),
        )
        assert r.json()["msg_cd"] == "EGW02006"


def test_paper_rate_limit_two_per_second() -> None:
    cfg = frozen_config(mode="paper")
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        kis.login()
        emu.clock.advance(1)
        assert [kis.place().json()["msg_cd"] for _ in range(3)] == [
            "EGW02006",
            "EGW02006",
            "EGW00201",
        ]


def test_sqlite_persistence(tmp_path: Path) -> None:
    state_file = tmp_path / "emu.sqlite"
    cfg = frozen_config(state_file=state_file)
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        token = kis.login()
        first = kis.place_ok()
        second = kis.place_ok(PDNO="000660")
        kis.cancel(second)
        emu.process_day()
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        kis.token = token  # tokens survive the restart
        rows = kis.list_all()
        assert [row["rsvn_ord_seq"] for row in rows] == [first, second]
        assert rows[0]["prcs_rslt"] == "처리"
        assert rows[0]["odno"]
        assert rows[1]["prcs_rslt"] == "취소"
        assert int(kis.place_ok()) == int(second) + 1  # counters survive too
        assert kis.issue().json()["error_code"] == "EGW00133"  # so does the 1/min rule
        assert emu.state.token_issuances == 1


async def test_asgi_transport() -> None:
    cfg = frozen_config()
    emu = create_app(cfg)
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kis.local") as ac:
        body = {
            "grant_type": "client_credentials",
            "appkey": cfg.app_key,
            "appsecret": cfg.app_secret,
        }
        token = (await ac.post("/oauth2/tokenP", json=body)).json()["access_token"]
        with httpx.Client() as unused:
            kis = Kis(unused, cfg)  # only used to build spec-shaped bodies and headers
            kis.token = token
        place = {"json": kis.place_body(), "headers": kis.headers("CTSC0008U")}
        r = await ac.post(RESV, **place)  # type: ignore[arg-type]
        assert r.json()["rt_cd"] == "0"
        emu.faults.add("order-resv", "reset_after")
        with pytest.raises(httpx.RemoteProtocolError):
            await ac.post(RESV, **place)  # type: ignore[arg-type]
        emu.faults.add("order-resv", "hang")
        with pytest.raises(httpx.ReadTimeout):
            await ac.post(RESV, **place)  # type: ignore[arg-type]
        r = await ac.get(RESV_CCNL, params=kis.list_params(), headers=kis.headers("CTSC0004R"))
        assert len(r.json()["output"]) == 2
        assert (await ac.get("/openapi.json")).status_code == 200
    emu.close()


def test_openapi_lists_reservation_paths(emu: ServedEmulator) -> None:
    doc = httpx.get(f"{emu.base_url}/_emulator/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert "post" in paths[RESV]
    assert "post" in paths[RESV_RVSECNCL]
    assert "get" in paths[RESV_CCNL]
    body = paths[RESV]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"CANO", "ACNT_PRDT_CD", "PDNO", "ORD_QTY", "ORD_UNPR"} <= set(body["required"])
    assert body["properties"]["ORD_DVSN_CD"]["enum"] == ["00", "01", "02", "05"]
    query = {p["name"] for p in paths[RESV_CCNL]["get"]["parameters"] if p["in"] == "query"}
    assert {"CTX_AREA_FK200", "CTX_AREA_NK200", "CNCL_YN", "PRCS_DVSN_CD"} <= query
    ok = paths[RESV_CCNL]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "rsvn_ord_seq" in ok["properties"]["output"]["items"]["properties"]
    tr = next(p for p in paths[RESV_RVSECNCL]["post"]["parameters"] if p["name"] == "tr_id")
    assert tr["schema"]["enum"] == ["CTSC0009U", "CTSC0013U"]
    assert httpx.get(f"{emu.base_url}/openapi.json").json() == doc
    assert "APBK8012" in doc["info"]["description"]


def test_banner(emu: ServedEmulator) -> None:
    out = io.StringIO()
    banner(emu, out)
    text = out.getvalue()
    assert f"export KIS_BASE_URL={emu.base_url}" in text
    assert emu.config.app_key in text
    assert emu.config.app_secret in text
    assert emu.config.account in text


def test_cli_help() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "stock_manager.emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "--no-rate-limit" in r.stdout


def test_many_start_stop_cycles() -> None:
    import time

    start = time.monotonic()
    for _ in range(5):
        with run_emulator(frozen_config()) as emu:
            assert httpx.get(f"{emu.base_url}/_emulator/clock").status_code == 200
    assert (time.monotonic() - start) / 5 < 0.5


def test_demo_config_generates_credentials() -> None:
    from stock_manager.emulator import EmulatorConfig

    a, b = EmulatorConfig.demo(), EmulatorConfig.demo()
    assert a.app_key != b.app_key
    assert len(a.app_key) == 36
    assert EmulatorConfig.demo(seed=1).app_key == EmulatorConfig.demo(seed=1).app_key
    with pytest.raises(ValueError, match="account"):
        EmulatorConfig(account="123")
    with pytest.raises(ValueError, match="mode"):
        EmulatorConfig(mode="live")  # type: ignore[arg-type]


def test_extra_accounts(tmp_path: Path) -> None:
    cfg = frozen_config(extra_accounts=("87654321-01",))
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        kis.login()
        kis.place_ok()
        kis.place_ok(CANO="87654321")
        assert len(kis.list_all()) == 1
        assert len(kis.list_all(CANO="87654321")) == 1
        assert emu.token_issuances == 1


def test_python_m_serve_uses_env(tmp_path: Path) -> None:
    import os
    import re

    env = dict(os.environ)
    env.update(KIS_APP_KEY="PSEMUenvkey", KIS_APP_SECRET="env-secret", KIS_ACCOUNT_NO="11112222-01")
    cmd = [sys.executable, "-m", "stock_manager.emulator", "--port", "0", "--log-level", "error"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        banner_text = ""
        while "KIS_ACCOUNT_NO" not in banner_text:
            line = proc.stdout.readline()
            assert line, "emulator exited early"
            banner_text += line
        assert "export KIS_APP_KEY=PSEMUenvkey" in banner_text
        assert "env-secret" in banner_text
        match = re.search(r"KIS_BASE_URL=(\S+)", banner_text)
        assert match
        body = {
            "grant_type": "client_credentials",
            "appkey": "PSEMUenvkey",
            "appsecret": "env-secret",
        }
        for _ in range(100):
            try:
                r = httpx.post(f"{match.group(1)}/oauth2/tokenP", json=body)
                break
            except httpx.TransportError:
                import time

                time.sleep(0.02)
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
