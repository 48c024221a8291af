"""CI's any-date run really moves the clock (``.ci/run``: ``SHIFT_CLOCK_DAYS=400``).

The shift comes from ``scripts/shifted_clock/sitecustomize.py``. Were it silently off, the
second run would only repeat the first; so, in that run, this checks that Python's wall clock
stands the asked number of days ahead of the kernel's (a new file's modification time), here
and in a child process started as the tests start the CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.cli.conftest import base_env
from tests.mcp.conftest import server_env

DAYS = os.environ.get("SHIFT_CLOCK_DAYS", "").strip()


def _kernel_now() -> float:
    """The kernel's wall clock, which time-machine does not move: a new file's mtime."""
    with tempfile.NamedTemporaryFile() as f:
        return os.stat(f.name).st_mtime


@pytest.mark.skipif(not DAYS, reason="only in the shifted run (SHIFT_CLOCK_DAYS)")
def test_the_wall_clock_is_shifted_here_and_in_children(tmp_path: Path) -> None:
    shift = float(DAYS) * 86400
    assert abs(time.time() - _kernel_now() - shift) < 3600
    # Children get the environments the tests build for them: the CLI's (tests/cli), the
    # agent server's (tests/mcp), and this process's own. Each filters variables by prefix;
    # none may drop the shift (a STOCK_MANAGER_ name once was dropped, silently).
    fake = SimpleNamespace(
        base_url="http://127.0.0.1:9",
        config=SimpleNamespace(app_key="k", app_secret="s", account="12345678-01"),
    )
    for env in (dict(os.environ), base_env(tmp_path), server_env(fake, tmp_path)):  # type: ignore[arg-type]
        child = subprocess.run(
            [sys.executable, "-c", "import time; print(time.time())"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert abs(float(child.stdout) - _kernel_now() - shift) < 3600, sorted(env)
    # The monotonic clock is left alone: a timed wait still times out.
    started = time.monotonic()
    assert threading.Event().wait(0.05) is False
    assert time.monotonic() - started < 30
