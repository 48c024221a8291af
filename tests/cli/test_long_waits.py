"""Issue #22, items 12 and 13: the long waits of the command line say what they wait for.

Through the real command line (a subprocess whose stderr is a pipe) against the emulator.
"""

from __future__ import annotations

import json
from pathlib import Path

from stock_manager.emulator import ServedEmulator

from .conftest import kis_env, run_cli


def test_reconcile_wait_shows_one_status_not_a_line_per_round(
    emu: ServedEmulator, home: Path
) -> None:
    """Item 13: on a pipe, "checking again at ..." is printed once while it stays the same."""
    env = {**kis_env(emu, home), "KIS_READ_TIMEOUT": "0.5"}
    emu.faults.add("order-resv", "http_error")  # a 5xx, nothing committed: outcome unknown
    placed = run_cli(
        "resv", "place", "051910", "--qty", "2", "--side", "buy", "--price", "300000",
        "--window", "ignore", env=env,
    )  # fmt: skip
    assert placed.code == 3, placed
    listings = emu.requests.count(name="order-resv-ccnl")
    # The settle window ends ~14.5 s after the send, beyond one poll (10 s): two rounds wait
    # for the same moment.
    waited = run_cli("resv", "reconcile", "--pending", "--wait", "--settle", "14", env=env)
    assert waited.code == 0, waited
    assert emu.requests.count(name="order-resv-ccnl") - listings >= 3  # first + 2 rounds
    assert "Traceback" not in waited.err
    lines = [ln for ln in waited.err.splitlines() if "checking again at" in ln]
    assert len(lines) == 1, waited.err
    assert lines[0].startswith("warning: 1 outcome(s) not known yet; checking again at ")
    pending = run_cli("journal", "--pending", "--json", env=env)
    assert json.loads(pending.out) == [], pending
