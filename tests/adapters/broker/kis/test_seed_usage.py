"""The seed page's usage, unchanged, for APIs of many categories.

``client.get_tr_id(api_id=..., is_paper_trading=...)`` then ``client.make_request(method=...,
url=..., params=...)``: over ``httpx.MockTransport`` (FakeKIS) for the APIs the emulator does
not serve, and against the emulator over a real socket for the reservation list.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import CATALOG, KISConfig, KISRestClient
from stock_manager.emulator import EmulatorConfig, run_emulator

from ._support import FakeKIS, kis_json

Factory = Callable[..., KISRestClient]

# api_id -> params (the seed page leaves them to the reader: here, the sheet's required fields)
SEED_CASES: dict[str, dict[str, str]] = {
    "v1_국내주식-008": {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
    "국내주식-040": {"BASS_DT": "20260105", "CTX_AREA_NK": "", "CTX_AREA_FK": ""},
    "v1_국내주식-006": {
        "CANO": "12345678",
        "ACNT_PRDT_CD": "01",
        "AFHR_FLPR_YN": "N",
        "OFL_YN": "",
        "INQR_DVSN": "02",
        "UNPR_DVSN": "01",
        "FUND_STTL_ICLD_YN": "N",
        "FNCG_AMT_AUTO_RDPT_YN": "N",
        "PRCS_DVSN": "00",
    },
    "v1_국내주식-088": {
        "fid_rsfl_rate2": "",
        "fid_cond_mrkt_div_code": "J",
        "fid_cond_scr_div_code": "20170",
        "fid_input_iscd": "0000",
        "fid_rank_sort_cls_code": "0",
        "fid_input_cnt_1": "0",
        "fid_prc_cls_code": "0",
        "fid_input_price_1": "",
        "fid_input_price_2": "",
        "fid_vol_cnt": "",
        "fid_trgt_cls_code": "0",
        "fid_trgt_exls_cls_code": "0",
        "fid_div_cls_code": "0",
        "fid_rsfl_rate1": "",
    },
    "v1_해외주식-009": {"AUTH": "", "EXCD": "NAS", "SYMB": "AAPL"},
    "v1_국내선물-006": {"FID_COND_MRKT_DIV_CODE": "F", "FID_INPUT_ISCD": "101W09"},
    "v1_해외선물-009": {"SRS_CD": "6AM24"},
    "v1_국내주식-017": {
        "CANO": "12345678",
        "ACNT_PRDT_CD": "01",
        "PDNO": "005930",
        "ORD_QTY": "1",
        "ORD_UNPR": "70000",
        "SLL_BUY_DVSN_CD": "02",
        "ORD_DVSN_CD": "00",
        "ORD_OBJT_CBLC_DVSN_CD": "10",
    },
    "국내주식-158": {
        "INQR_STRT_DT": "20260101",
        "INQR_END_DT": "20260131",
        "PDNO": "KR1234567890",
        "PRDT_TYPE_CD": "302",
        "VRFC_KIND_CD": "00",
    },
    "v1_국내주식-014": {"FID_COND_MRKT_DIV_CODE": "W", "FID_INPUT_ISCD": "58J297"},
    "v1_국내주식-004": {
        "CANO": "12345678",
        "ACNT_PRDT_CD": "01",
        "INQR_DVSN_1": "0",
        "INQR_DVSN_2": "0",
    },
}


def test_cases_span_categories() -> None:
    assert len(SEED_CASES) >= 10
    assert len({CATALOG[a].category for a in SEED_CASES}) >= 8


@pytest.mark.parametrize("api_id", list(SEED_CASES))
def test_seed_usage_over_mock_transport(api_id: str, make_client: Factory, fake: FakeKIS) -> None:
    spec = CATALOG[api_id]
    client = make_client(journal=spec.kind == "order")
    fake.script(spec.path, kis_json(output={"api": api_id}))
    params = SEED_CASES[api_id]
    # --- the seed page, unchanged ---
    tr_id = client.get_tr_id(api_id=api_id, is_paper_trading=False)
    response = client.make_request(method=spec.method.lower(), url=spec.path, params=params)
    # ---
    sent = fake.api_requests[-1]
    assert sent.headers["tr_id"] == tr_id
    assert sent.url.path == spec.path
    assert response.rt_cd == "0"
    assert response.output["api"] == api_id
    if spec.kind == "order":  # order TR_IDs are journaled before they leave
        assert response.journal_id is not None


def test_seed_usage_against_the_emulator(tmp_path: Path) -> None:
    with run_emulator(EmulatorConfig.demo(seed=3, rate_limit_per_s=None)) as emu:
        config = KISConfig(
            kis_app_key=emu.config.app_key,
            kis_app_secret=emu.config.app_secret,
            kis_account_no=emu.config.account,
            base_url=emu.base_url,
            token_cache_dir=tmp_path / "tokens",
            journal=False,
        )
        with KISRestClient(config) as client:
            tr_id = client.get_tr_id(api_id="v1_국내주식-020", is_paper_trading=False)
            response = client.make_request(
                method="get",
                url="/uapi/domestic-stock/v1/trading/order-resv-ccnl",
                params={
                    "RSVN_ORD_ORD_DT": "20260101",
                    "RSVN_ORD_END_DT": "20261231",
                    "RSVN_ORD_SEQ": "",
                    "TMNL_MDIA_KIND_CD": "00",
                    "CANO": config.cano,
                    "ACNT_PRDT_CD": config.acnt_prdt_cd,
                    "PRCS_DVSN_CD": "0",
                    "CNCL_YN": "Y",
                    "PDNO": "",
                    "SLL_BUY_DVSN_CD": "",
                },
            )
    assert tr_id == "CTSC0004R"
    assert response.rt_cd == "0"
