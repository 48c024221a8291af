"""국내휴장일조회 (CTCA0903R) served from the emulator's KRX calendar."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from stock_manager.emulator import run_emulator
from stock_manager.emulator.fields import HOLIDAY_ROW
from tests.emulator.helpers import Kis, frozen_config

PATH = "/uapi/domestic-stock/v1/quotations/chk-holiday"
CATALOG = Path(__file__).resolve().parents[3] / "shared" / "kis-openapi" / "catalog.json"


def holiday(kis: Kis, bass_dt: str) -> httpx.Response:
    params = {"BASS_DT": bass_dt, "CTX_AREA_NK": "", "CTX_AREA_FK": ""}
    return kis.http.get(PATH, params=params, headers=kis.headers("CTCA0903R"))


def test_fields_match_the_spec_sheet() -> None:
    if not CATALOG.exists():  # the shared facts folder sits next to the worktree
        import pytest

        pytest.skip("shared/kis-openapi/catalog.json not available")
    api = next(a for a in json.loads(CATALOG.read_text()) if a["path"] == PATH)
    assert api["tr_id_real"] == "CTCA0903R"
    sheet = [f["name"] for f in api["response_body"] if f["parent"] == "output"]
    assert [f.name for f in HOLIDAY_ROW] == sheet


def test_days_flags_and_keys(kis: Kis) -> None:
    r = holiday(kis, "20261224")
    assert r.status_code == 200
    data = r.json()
    assert (data["rt_cd"], data["msg_cd"]) == ("0", "KIOK0500")
    assert data["msg1"].rstrip() == "조회가 계속됩니다..다음버튼을 Click 하십시오."
    rows = {row["bass_dt"]: row for row in data["output"]}
    assert len(rows) == 24
    assert data["ctx_area_fk"] == "20261224".ljust(20)
    assert data["ctx_area_nk"] == "20270116".ljust(20)
    # Thursday, an open day
    assert rows["20261224"] == {
        "bass_dt": "20261224",
        "wday_dvsn_cd": "05",
        "bzdy_yn": "Y",
        "tr_day_yn": "Y",
        "opnd_yn": "Y",
        "sttl_day_yn": "Y",
    }
    assert rows["20261225"]["opnd_yn"] == rows["20261225"]["bzdy_yn"] == "N"  # Christmas
    assert rows["20261226"]["wday_dvsn_cd"] == "07"  # Saturday
    assert rows["20261227"]["wday_dvsn_cd"] == "01"  # Sunday
    assert rows["20261226"]["tr_day_yn"] == "Y"  # as in the spec example
    year_end = rows["20261231"]
    assert (year_end["bzdy_yn"], year_end["opnd_yn"], year_end["sttl_day_yn"]) == ("Y", "N", "N")
    assert rows["20270104"]["opnd_yn"] == "Y"


def test_declared_closed_day_is_served(kis: Kis) -> None:
    assert holiday(kis, "20261201").json()["output"][1]["opnd_yn"] == "Y"
    kis.http.post("/_emulator/calendar", json={"closed": ["2026-12-02"]})
    row = holiday(kis, "20261201").json()["output"][1]
    assert (row["bass_dt"], row["opnd_yn"], row["bzdy_yn"]) == ("20261202", "N", "N")


def test_bad_date_and_paper_host(kis: Kis) -> None:
    r = holiday(kis, "2026-12")
    assert r.json()["msg_cd"] == "APBK8016"
    cfg = frozen_config(mode="paper")
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        paper = Kis(client, cfg)
        paper.login()
        emu.clock.advance(1)
        r = holiday(paper, "20261201")
        assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW02006")
