"""Smoke runs of the ``bench/`` scripts with ``--quick`` (the real figures come from full runs).

Only what must hold on any machine is asserted; timing figures are printed, not asserted (the
machine is shared). Each script writes its figures as JSON (``--json PATH``), read back here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.adapters.broker.kis._redis import _exe

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_quick(script: str, tmp_path: Path, *, redis: bool = False) -> tuple[str, Any]:
    """Run ``bench/SCRIPT --quick --json FILE``; return its stdout and its figures.

    ``redis``: the script starts its own ``redis-server`` (found on ``PATH``); this skips, or
    fails with ``CI=true``, when none is installed.
    """
    env = dict(os.environ)
    if redis:
        exe = _exe()
        env["PATH"] = f"{Path(exe).parent}{os.pathsep}{env.get('PATH', '')}"
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard, not a speed check
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(proc.stdout)
    return proc.stdout, json.loads(out.read_text())


def test_loop_lag(tmp_path: Path) -> None:
    """Both runs cancel every reservation without an error, the journal-on run journals each
    cancel and the journal-off run none, and the ticker ticked during both."""
    stdout, figures = run_quick("bench_loop_lag.py", tmp_path)
    assert "event-loop lag during an async bulk cancel of 20" in stdout
    on, off = figures["runs"]["journal on"], figures["runs"]["journal off"]
    for run in (on, off):
        assert run["cancelled"] == 20
        assert run["errors"] == 0
        assert run["ticks"] > 0
        assert 0 <= run["median_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert on["journaled"] == 20
    assert off["journaled"] == 0


def test_notices(tmp_path: Path) -> None:
    """Every notice sent arrives (end to end and holder -> follower), every frame decodes to a
    typed event, and python-kis (when importable) still fails on the 26-field notice as its
    issue #68 reports."""
    _, fig = run_quick("bench_notices.py", tmp_path, redis=True)
    assert fig["decode"]["ours_ok"] == 2 * fig["decode"]["frames"]
    if "pykis_23" in fig["decode"]:
        assert fig["decode"]["pykis_26_ok"] == 0
    assert fig["e2e"]["received"] == fig["e2e"]["sent"] == 300
    assert fig["follower"]["received"] == fig["follower"]["sent"] == 300


def test_shared_budget(tmp_path: Path) -> None:
    """No EGW00201 or other error reaches a caller, one token serves every process, Redis's loss
    and return re-issue at most one, and the emulator never admits more than the limit in a
    second."""
    _, figures = run_quick("bench_shared_budget.py", tmp_path, redis=True)
    assert len(figures["scenarios"]) == 3
    for name, r in figures["scenarios"].items():
        assert r["caller_egw00201"] == 0, name
        assert r["caller_other"] == 0, (name, r["kinds"])
        assert r["tokens_issued"] <= 1, name
        assert r["reissued_in_run"] <= 1, name
        assert r["max_admitted_1s"] <= 20, name
        assert r["arrivals"] > 0, name
    for name, b in figures["bulk"].items():
        assert b["errors"] == 0, name
        assert b["cancelled"] == 40, name
