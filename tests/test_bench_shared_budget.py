"""Smoke run of ``bench/bench_shared_budget.py --quick`` (the real figures come from a full run).

Only what must hold on any machine is asserted: no EGW00201 or other error reaches a caller,
one token serves every process, Redis's loss and return re-issue at most one, and the emulator
never admits more than the limit in a second. Timing figures are printed, not asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.adapters.broker.kis._redis import _exe

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_shared_budget.py"


def test_quick_run(tmp_path: Path) -> None:
    redis = _exe()  # skips (or fails with CI=true) when redis-server is missing
    out = tmp_path / "figures.json"
    env = {**os.environ, "PATH": f"{Path(redis).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(proc.stdout)
    figures = json.loads(out.read_text())
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
