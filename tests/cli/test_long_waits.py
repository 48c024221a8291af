"""Issue #22, items 12 and 13: the long waits of the command line say what they wait for.

Through the real command line (a subprocess whose stderr is a pipe) against the emulator.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from tests.manager.week import SPEC

from .conftest import kis_env, run_cli
from .test_manager import at, order_requests


def place_with_unknown_outcome(emu: ServedEmulator, home: Path) -> tuple[dict[str, str], int]:
    """A place answered with a 5xx (nothing committed): its outcome is unknown (exit 3).

    Returns the CLI environment and the emulator's count of listings so far. Reconciling with
    ``--settle 14`` then waits two rounds: the settle window ends ~14.5 s after the send,
    beyond one poll (10 s), and both rounds wait for the same moment.
    """
    env = {**kis_env(emu, home), "KIS_READ_TIMEOUT": "0.5"}
    emu.faults.add("order-resv", "http_error")
    placed = run_cli(
        "resv", "place", "051910", "--qty", "2", "--side", "buy", "--price", "300000",
        "--window", "ignore", env=env,
    )  # fmt: skip
    assert placed.code == 3, placed
    return env, emu.requests.count(name="order-resv-ccnl")


@contextmanager
def before_the_window(home: Path) -> Iterator[tuple[ServedEmulator, dict[str, str], Path]]:
    """Monday 10:00 KST, an open day before the 15:40 opening of the entry window: an
    emulator frozen there (window enforced), the CLI environment and the standing file."""
    monday_10 = at(7, 10)
    config = EmulatorConfig.demo(
        seed=1212,
        rate_limit_per_s=None,
        token_issue_interval_s=0,
        enforce_window=True,
        clock=lambda: monday_10,
    )
    with run_emulator(config) as wemu:
        wemu.clock.freeze(monday_10)
        env = kis_env(wemu, home)
        assert env["STOCK_MANAGER_NOW"] == monday_10.isoformat()
        spec = home / "standing.toml"
        spec.write_text(SPEC, encoding="utf-8")
        yield wemu, env, spec


def test_reconcile_wait_shows_one_status_not_a_line_per_round(
    emu: ServedEmulator, home: Path
) -> None:
    """Item 13: on a pipe, "checking again at ..." is printed once while it stays the same."""
    env, listings = place_with_unknown_outcome(emu, home)
    waited = run_cli("resv", "reconcile", "--pending", "--wait", "--settle", "14", env=env)
    assert waited.code == 0, waited
    assert emu.requests.count(name="order-resv-ccnl") - listings >= 3  # first + 2 rounds
    assert "Traceback" not in waited.err
    lines = [ln for ln in waited.err.splitlines() if "checking again at" in ln]
    assert len(lines) == 1, waited.err
    assert lines[0].startswith("warning: 1 outcome(s) not known yet; checking again at ")
    pending = run_cli("journal", "--pending", "--json", env=env)
    assert json.loads(pending.out) == [], pending


def test_apply_wait_says_until_when_and_ctrl_c_says_what_was_done(home: Path) -> None:
    """Item 12: outside the window, ``apply --wait`` prints what it waits for and until when;
    Ctrl-C then says that nothing was sent and exits 130."""
    with before_the_window(home) as (wemu, env, spec):
        sent = order_requests(wemu)
        proc = subprocess.Popen(
            [sys.executable, "-m", "stock_manager.cli", "resv", "apply", str(spec), "--wait"],
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        try:
            line = _first_line(proc.stderr, timeout=30)  # the wait began (or the run ended)
            assert line.startswith("waiting until 2026-12-07 15:40 KST for the reservation"), line
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 130, (out, err)
        assert "Traceback" not in out + err, err
        assert "waiting until" not in err, err  # one line, not one per poll
        assert (
            "interrupted before the window opened (2026-12-07 15:40 KST): nothing was sent" in out
        ), out
        assert "error: interrupted: 0 change(s) made, the rest not applied" in err, err
        assert order_requests(wemu) == sent


def _first_line(stream: IO[str], timeout: float) -> str:
    """The first line of ``stream``, or "" when none comes within ``timeout`` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""
