"""Issue #18 through the real command line: period reservations and unknown outcomes.

The emulator runs in this process with its window rules on and its clock frozen at fixed
weekday evenings; every CLI run gets its instant through ``STOCK_MANAGER_NOW``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from stock_manager.emulator import ServedEmulator

from .conftest import Result, run_cli
from .test_manager import at, travel, week_env, wemu  # noqa: F401 (fixtures)

ONE = """
name = "once"

[[reservation]]
id = "samsung"
symbol = "005930"
side = "buy"
qty = 10
price = 69000
"""


def cli(env: dict[str, str], *args: str) -> Result:
    return run_cli(*args, env=env)


def json_of(result: Result, code: int = 0) -> Any:
    assert result.code == code, result
    return json.loads(result.out)


def test_apply_after_unknown_place_and_reconcile_places_nothing_twice(
    wemu: ServedEmulator,  # noqa: F811
    week_env: dict[str, str],  # noqa: F811
    home: Path,
) -> None:
    """Finding 4: exit 3, reconcile finds it, the next apply adopts it (no second place)."""
    env = dict(week_env, KIS_READ_TIMEOUT="0.3")
    spec = home / "once.toml"
    spec.write_text(ONE, encoding="utf-8")
    # The CLI's clock runs 10 minutes ahead of the emulator's (a skewed client clock).
    wemu.clock.freeze(at(7, 16, 0))
    env["STOCK_MANAGER_NOW"] = at(7, 16, 10).isoformat()
    wemu.faults.add("order-resv", "delay", seconds=1.0)
    first = cli(env, "resv", "apply", str(spec), "--json")
    assert first.code == 3, first
    deadline = time.monotonic() + 20
    while not wemu.state.reservations:
        assert time.monotonic() < deadline, "the delayed place never landed"
        time.sleep(0.05)
    wemu.faults.clear()

    [found] = json_of(cli(env, "resv", "reconcile", "--pending", "--json"))
    assert found["applied"] is True, found
    seq = found["reservation"]["seq"]

    env["STOCK_MANAGER_NOW"] = at(7, 16, 12).isoformat()
    again = json_of(cli(env, "resv", "apply", str(spec), "--json"))
    assert again["order_requests"] == 0, again
    assert any(f"adopted reservation {seq}" in line for line in again["reconciled"]), again
    assert len(wemu.state.reservations) == 1  # never two identical reservations
    assert wemu.requests.count(name="order-resv") == 1
