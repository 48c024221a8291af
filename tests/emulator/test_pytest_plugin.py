"""The ``kis_emulator`` pytest plugin, and the docs' example test run as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stock_manager.emulator import ServedEmulator

README = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- kis-emulator-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/emulator.md lost its kis_emulator example"
    return match.group(1)


def test_readme_example_runs_in_a_user_suite(tmp_path: Path) -> None:
    """A fresh pytest process: the fixture comes from the installed entry point (pytest11)."""
    code = readme_example()
    assert len(code.strip().splitlines()) <= 20  # the page promises a short example
    (tmp_path / "test_readme_example.py").write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_fixture_starts_inside_the_window(kis_emulator: ServedEmulator) -> None:
    now = kis_emulator.clock.now()
    assert kis_emulator.calendar.window_refusal(now) is None
    assert set(kis_emulator.credentials) == {"base_url", "app_key", "app_secret", "account"}
    assert kis_emulator.base_url.startswith("http://127.0.0.1:")


@pytest.mark.kis_emulator(mode="paper", window=False)
def test_marker_configures_the_fixture(kis_emulator: ServedEmulator) -> None:
    assert kis_emulator.config.mode == "paper"
    assert kis_emulator.config.enforce_window is False
