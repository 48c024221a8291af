"""``emulator serve`` / ``python -m stock_manager.emulator`` options for clock and calendar."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, datetime

import pytest

from stock_manager.emulator import KST, EmulatorConfig
from stock_manager.emulator.server import ServedEmulator, banner


@pytest.mark.parametrize(
    ("cmd", "needle"),
    [
        (["-m", "stock_manager.emulator", "--clock", "tomorrow"], "not an ISO date-time"),
        (["-m", "stock_manager.emulator", "--closed-days", "2026-02-30"], "not a date"),
        (["-m", "stock_manager.cli", "emulator", "serve", "--late-days", "x"], "not a date"),
        (["-m", "stock_manager.cli", "emulator", "serve", "--clock", "x"], "ISO date-time"),
    ],
)
def test_bad_values_fail_before_serving(cmd: list[str], needle: str) -> None:
    proc = subprocess.run(
        [sys.executable, *cmd, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "listening on" not in proc.stdout


def test_options_reach_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI maps --clock/--no-window/--closed-days/--late-days onto EmulatorConfig."""
    from typer.testing import CliRunner

    import stock_manager.emulator as emulator_pkg
    from stock_manager.cli.main import app

    seen: dict[str, object] = {}
    monkeypatch.setattr(emulator_pkg, "serve", lambda **kw: seen.update(kw))
    result = CliRunner().invoke(
        app,
        [
            "emulator",
            "serve",
            "--clock",
            "2026-12-01T16:00+09:00",
            "--no-window",
            "--closed-days",
            "2026-12-02,20261203",
            "--late-days",
            "2026-12-04",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen["start_at"] == datetime(2026, 12, 1, 16, 0, tzinfo=KST)
    assert seen["enforce_window"] is False
    assert seen["closed_days"] == (date(2026, 12, 2), date(2026, 12, 3))
    assert seen["late_days"] == (date(2026, 12, 4),)


def test_banner_shows_clock_and_window() -> None:
    cfg = EmulatorConfig.demo(start_at=datetime(2026, 12, 1, 16, 0, tzinfo=KST), window=False)
    emu = ServedEmulator(cfg, "127.0.0.1", 1)
    out = io.StringIO()
    banner(emu, out)
    assert "clock: 2026-12-01T16:00" in out.getvalue()
    assert "reservation window: off (--no-window)" in out.getvalue()
    emu.close()
