"""``stock-manager api list|show|call``, and what ``tr-id``/``api show`` import to start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stock_manager.emulator import ServedEmulator

from .conftest import kis_env, run_many
from .test_static import SECRET, creds

# (typer itself imports pydantic for its parameter adapters, so pydantic is not on this list.)
HEAVY = ("httpx", "pydantic_settings", "stock_manager.adapters.broker.kis.client")
# The modules of the other commands: the top level imports only the one that runs.
OTHER_COMMANDS = tuple(
    f"stock_manager.cli.{m}" for m in ("resv", "resv_manager", "demo", "watch", "mcp_server")
)


def _modules_after(argv: list[str]) -> list[str]:
    code = (
        "import sys; from stock_manager.cli.main import main; sys.argv[1:] = "
        f"{argv!r}; rc = main(); "
        f"print(sorted(m for m in {(*HEAVY, *OTHER_COMMANDS)!r} if m in sys.modules),"
        " file=sys.stderr)"
    )
    err = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stderr
    found: list[str] = json.loads(err.strip().splitlines()[-1].replace("'", '"'))
    return found


def test_tr_id_and_api_show_load_only_the_catalog_and_their_own_module() -> None:
    for argv in (
        ["tr-id", "v1_국내주식-018,019", "--action", "cancel"],
        ["--json", "tr-id", "v1_국내주식-017"],
        ["api", "show", "v1_국내주식-018,019"],
        ["api", "show", "v1_국내주식-018,019", "--json"],
        ["api", "list", "--search", "예약"],
        ["--help"],
    ):
        assert _modules_after(argv) == [], argv


def test_show_list_and_errors(env: dict[str, str]) -> None:
    show, show_json, listed, by_cat, unknown, typer_show = run_many(
        [
            ["api", "show", "v1_국내주식-018,019"],
            ["api", "show", "v1_해외선물-002, 003", "--json"],
            ["api", "list", "--search", "예약주문"],
            ["api", "list", "--category", "장내채권"],
            ["api", "show", "v1_국내주식-9999"],
            ["--emulator", "http://127.0.0.1:1", "api", "show", "국내주식-040"],  # via typer
        ],
        env,
    )
    assert show.code == 0
    assert "POST /uapi/domestic-stock/v1/trading/order-resv-rvsecncl" in show.out
    assert "CTSC0009U (cancel), CTSC0013U (modify)" in show.out
    assert "not supported (모의투자 미지원)" in show.out
    assert "allowed: 01=매도, 02=매수" in show.out
    data = json.loads(show_json.out)
    assert data["api_id"] == "v1_해외선물-002,003"
    assert data["tr_ids"]["real"] == {"modify": "OTFM3002U", "cancel": "OTFM3003U"}
    assert "v1_국내주식-017" in listed.out and "v1_국내주식-020" in listed.out
    assert by_cat.out.strip().endswith("APIs")
    assert "unknown API ID" in unknown.one_line_error(2)
    assert typer_show.code == 0 and "CTX_AREA_FK/CTX_AREA_NK; keys only" in typer_show.out


def test_call_dry_run_and_refusals_on_the_kis_host(env: dict[str, str]) -> None:
    real = creds(env)
    order = [
        "api", "call", "v1_국내주식-017",
        "-p", "CANO=87654321", "-p", "ACNT_PRDT_CD=01", "-p", "PDNO=005930",
        "-p", "ORD_QTY=1", "-p", "ORD_UNPR=70000", "-p", "SLL_BUY_DVSN_CD=02",
        "-p", "ORD_DVSN_CD=00", "-p", "ORD_OBJT_CBLC_DVSN_CD=10",
    ]  # fmt: skip
    dry, dry_json, no_tty, missing, no_params = run_many(
        [
            [*order, "--dry-run"],
            [*order, "--dry-run", "--json"],
            order,
            ["api", "call", "v1_국내주식-018,019", "--action", "cancel", "-p", "CANO=1"],
            ["api", "call", "v1_국내주식-020", "--dry-run"],
        ],
        real,
    )
    assert dry.code == 0, dry
    assert "CTSC0008U" in dry.out and SECRET not in dry.out + dry.err
    req = json.loads(dry_json.out)["requests"][0]
    assert req["tr_id"] == "CTSC0008U"
    assert req["body"]["CANO"] != "87654321"  # masked
    assert "confirmation" in no_tty.one_line_error(2)
    line = missing.one_line_error(2)
    assert "missing required field ACNT_PRDT_CD" in line and "RSVN_ORD_SEQ" in line
    assert "missing required field" in no_params.one_line_error(2)


def test_call_against_the_emulator(emu: ServedEmulator, tmp_path: Path) -> None:
    env = kis_env(emu, tmp_path)
    cano, prdt = emu.config.account.replace("-", "")[:8], emu.config.account[-2:]
    listed, not_served = run_many(
        [
            [
                "api", "call", "v1_국내주식-020", "--json",
                "-p", "RSVN_ORD_ORD_DT=20260101", "-p", "RSVN_ORD_END_DT=20261231",
                "-p", "RSVN_ORD_SEQ=", "-p", "TMNL_MDIA_KIND_CD=00", "-p", f"CANO={cano}",
                "-p", f"ACNT_PRDT_CD={prdt}", "-p", "PRCS_DVSN_CD=0", "-p", "CNCL_YN=Y",
                "-p", "PDNO=", "-p", "SLL_BUY_DVSN_CD=",
            ],
            [
                "api", "call", "v1_국내주식-008",
                "-p", "FID_COND_MRKT_DIV_CODE=J", "-p", "FID_INPUT_ISCD=005930",
            ],
        ],
        env,
    )  # fmt: skip
    assert listed.code == 0, listed
    assert json.loads(listed.out)["rt_cd"] == "0"
    # The emulator does not serve quotes: whatever it answers, it is one line, never a crash.
    assert not_served.code in (0, 1), not_served


def test_a_global_option_before_the_command_changes_nothing_here(env: dict[str, str]) -> None:
    typer_path = ["--emulator", "http://127.0.0.1:1"]  # read by the global options' callback
    runs = [
        ["api", "show", "v1_국내주식-001", "--json"],
        ["api", "list", "--category", "해외선물", "--json"],
        ["tr-id", "v1_국내주식-001", "--action", "buy", "--paper"],
        ["api", "show", "국내선물-024"],
    ]
    results = run_many([*runs, *([*typer_path, *r] for r in runs)], env)
    fast, slow = results[: len(runs)], results[len(runs) :]
    for f, s in zip(fast, slow, strict=True):
        assert f.code == s.code == 0, (f, s)
        assert f.out == s.out
    assert fast[2].out.strip() == "VTTC0012U"


def test_call_on_an_api_the_emulator_lacks_and_the_account_filled_in(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    """Issue #22 items 5 and 20."""
    env = kis_env(emu, tmp_path)
    cano = emu.config.account.replace("-", "")[:8]
    lacking, balance = run_many(
        [
            [
                "api", "call", "v1_국내주식-010", "-p", "FID_COND_MRKT_DIV_CODE=J",
                "-p", "FID_INPUT_ISCD=005930", "-p", "FID_PERIOD_DIV_CODE=D",
                "-p", "FID_ORG_ADJ_PRC=0",
            ],
            [
                "api", "call", "v1_국내주식-006", "--json", "-p", "AFHR_FLPR_YN=N",
                "-p", "INQR_DVSN=02", "-p", "UNPR_DVSN=01", "-p", "FUND_STTL_ICLD_YN=N",
                "-p", "FNCG_AMT_AUTO_RDPT_YN=N", "-p", "PRCS_DVSN=00",
            ],
        ],
        env,
    )  # fmt: skip
    line = lacking.one_line_error(1)
    assert "the emulator does not implement" in line and "EMU00501" in line, line
    assert "KIS refused" not in line and " refused:" not in line, line
    assert balance.code == 0, balance
    assert json.loads(balance.out)["rt_cd"] == "0"
    assert "CANO/ACNT_PRDT_CD filled from the configured account" in balance.err, balance
    assert f"{cano[:2]}****{cano[-2:]}-01" in balance.err, balance
    assert cano not in balance.err + balance.out
