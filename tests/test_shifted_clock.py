"""CI's any-date run really moves the clock (``.ci/run``: ``STOCK_MANAGER_SHIFT_DAYS=400``).

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

import pytest

DAYS = os.environ.get("STOCK_MANAGER_SHIFT_DAYS", "").strip()


def _kernel_now() -> float:
    """The kernel's wall clock, which time-machine does not move: a new file's mtime."""
    with tempfile.NamedTemporaryFile() as f:
        return os.stat(f.name).st_mtime


@pytest.mark.skipif(not DAYS, reason="only in the shifted run (STOCK_MANAGER_SHIFT_DAYS)")
def test_the_wall_clock_is_shifted_here_and_in_children() -> None:
    shift = float(DAYS) * 86400
    assert abs(time.time() - _kernel_now() - shift) < 3600
    child = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert abs(float(child.stdout) - _kernel_now() - shift) < 3600
    # The monotonic clock is left alone: a timed wait still times out.
    started = time.monotonic()
    assert threading.Event().wait(0.05) is False
    assert time.monotonic() - started < 30
