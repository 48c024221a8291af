"""Property tests of ``resv`` arguments (in process, against an emulator on 127.0.0.1).

Whatever a user types: no traceback, exit code 0-3; an order the library refuses sends no
request (exit 2); an order that is placed carries exactly the number that was typed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stock_manager.cli.main import main
from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from stock_manager.emulator.krx_calendar import start_inside_window

from .conftest import kis_env

_NUMBER = re.compile(r"[0-9]+|[0-9]{1,3}(,[0-9]{3})+", re.ASCII)
typed = st.one_of(
    st.text(alphabet="0123456789,_ .+-eE١٠１０", min_size=1, max_size=9),
    st.from_regex(r"[1-9][0-9]{0,2}(,[0-9]{3}){0,2}", fullmatch=True),
    st.integers(min_value=-5, max_value=10**12).map(str),
)


def meant(text: str) -> int | None:
    stripped = text.strip(" \t")
    return int(stripped.replace(",", "")) if _NUMBER.fullmatch(stripped) else None


@pytest.fixture(scope="module")
def cli_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedEmulator]:
    home = tmp_path_factory.mktemp("props-home")
    config = EmulatorConfig.demo(
        seed=77,
        rate_limit_per_s=None,
        token_issue_interval_s=0,
        start_at=start_inside_window(),  # the emulator enforces the reservation window
    )
    with run_emulator(config) as served:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(kis_env(served, Path(home)))
        try:
            yield served
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(qty=typed, price=typed)
def test_place_arguments(cli_emu: ServedEmulator, qty: str, price: str) -> None:
    before = cli_emu.requests.count(name="order-resv")
    code, out, err = _run(
        "resv", "place", "005930", "--side", "buy", "--window", "ignore", "--json",
        f"--qty={qty}", f"--price={price}",
    )  # fmt: skip
    assert "Traceback" not in out + err
    assert code in (0, 1, 2, 3), (code, err)
    sent = cli_emu.requests.count(name="order-resv") - before
    q, p = meant(qty), meant(price)
    valid = q is not None and 0 < q < 10**10 and p is not None and 0 < p < 10**18
    if not valid:
        assert (code, sent) == (2, 0), (qty, price, code, err)
        return
    assert sent == 1
    if code == 0:
        seq = json.loads(out)["seq"]
        (row,) = [r for r in cli_emu.state.snapshot()["reservations"] if str(r["seq"]) == seq]
        assert (row["qty"], row["unpr"]) == (q, p), (qty, price, row)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(qty=typed)
def test_modify_arguments_are_checked_before_listing(cli_emu: ServedEmulator, qty: str) -> None:
    before = len(cli_emu.requests)
    code, out, err = _run("resv", "modify", "39607", f"--qty={qty}", "--json")
    assert "Traceback" not in out + err
    q = meant(qty)
    if q is None or not 0 < q < 10**10:
        assert code == 2, (qty, code, err)
        assert len(cli_emu.requests) == before  # not even the list GET went out
