"""Smoke run of ``bench/bench_loop_lag.py --quick`` (the real figures come from a full run).

Only what must hold on any machine is asserted: both runs cancel every reservation without an
error, the journal-on run journals each cancel and the journal-off run none, and the ticker
ticked during both. Lag figures are printed, not asserted (the machine is shared).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_loop_lag.py"


def test_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(proc.stdout)
    assert "event-loop lag during an async bulk cancel of 20" in proc.stdout
    figures = json.loads(out.read_text())
    on, off = figures["runs"]["journal on"], figures["runs"]["journal off"]
    for run in (on, off):
        assert run["cancelled"] == 20
        assert run["errors"] == 0
        assert run["ticks"] > 0
        assert 0 <= run["median_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert on["journaled"] == 20
    assert off["journaled"] == 0
