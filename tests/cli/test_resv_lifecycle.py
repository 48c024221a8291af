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


def test_period_reservation_is_pending_and_cancellable_after_it_was_sent(
    wemu: ServedEmulator,  # noqa: F811
    week_env: dict[str, str],  # noqa: F811
) -> None:
    """Finding 3: after its first processing day a period reservation is still listed by
    ``--status pending`` (as ``active``), ``cancel`` stops it and ``cancel-all`` finds it; a
    one-day reservation that was sent is refused locally with a pointer to cancel-order."""
    env = week_env
    travel(wemu, env, at(7, 16))  # Monday evening
    placed = json_of(
        cli(
            env,
            "-y",
            "resv",
            "place",
            "005930",
            "-q",
            "10",
            "-p",
            "69000",
            "--side",
            "buy",
            "--end-date",
            "2026-12-17",
            "--json",
        )
    )
    period = placed["seq"]
    one_day = json_of(
        cli(
            env,
            "-y",
            "resv",
            "place",
            "000660",
            "-q",
            "1",
            "-p",
            "180000",
            "--side",
            "buy",
            "--json",
        )
    )["seq"]
    other = json_of(
        cli(
            env,
            "-y",
            "resv",
            "place",
            "035420",
            "-q",
            "2",
            "-p",
            "200000",
            "--side",
            "buy",
            "--end-date",
            "2026-12-17",
            "--json",
        )
    )["seq"]
    wemu.clock.freeze(at(8, 7, 0))
    wemu.process_day(default="unfilled")  # Tuesday: all three become orders, none fills

    travel(wemu, env, at(8, 16))  # Tuesday evening
    pending = json_of(cli(env, "resv", "list", "--status", "pending", "--json"))
    assert {r["seq"]: r["status"] for r in pending} == {period: "active", other: "active"}
    human = cli(env, "resv", "list")
    assert human.code == 0 and "active" in human.out and "sent" in human.out

    refused = cli(env, "-y", "resv", "cancel", one_day)
    assert f"resv cancel-order {one_day}" in refused.one_line_error(code=2)

    cancelled = json_of(cli(env, "-y", "resv", "cancel", period, "--json"))
    assert cancelled["ok"] is True
    rest = json_of(cli(env, "-y", "resv", "cancel-all", "--json"))
    assert [i["seq"] for i in rest["items"]] == [other] and rest["succeeded"] == 1

    wemu.clock.freeze(at(9, 7, 0))
    assert wemu.process_day(default="unfilled") == []  # neither is sent on Wednesday
