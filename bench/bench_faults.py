"""The money-safety fault matrix as a table: every emulator fault x operation x sync/async.

Run: ``.venv/bin/python bench/bench_faults.py``

It runs ``tests/adapters/broker/kis/reservations/test_fault_matrix.py`` with pytest (the cells
and their assertions live there and in ``_matrix.py``), reads the JUnit report and prints one
row per fault: ``✓`` for a passing cell, ``✗`` for a failing one, then cells passing / total and
the wall time. In-process cells use the emulator's ASGI app; the ``sockets`` table is a subset
over real sockets (uvicorn, real read timeouts and TCP resets). Exit code 1 if a cell failed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = "tests/adapters/broker/kis/reservations/test_fault_matrix.py"
OPS = ("place", "list", "modify", "cancel", "bulk_cancel")
CELL = re.compile(r"\[(?P<fault>[a-z0-9_]+)-(?P<op>[a-z_]+)-(?P<mode>sync|async|sockets)\]$")


def run() -> tuple[dict[tuple[str, str, str], bool], float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "matrix.xml"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", MODULE, "-q", "-p", "no:cacheprovider",
             f"--junitxml={report}"],
            cwd=ROOT, check=False, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        cells: dict[tuple[str, str, str], bool] = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            match = CELL.search(case.get("name", ""))
            if match:
                failed = any(c.tag in ("failure", "error") for c in case)
                cells[(match["fault"], match["op"], match["mode"])] = not failed
    return cells, elapsed


def table(cells: dict[tuple[str, str, str], bool], modes: tuple[str, ...]) -> list[str]:
    faults = list(dict.fromkeys(f for f, _, m in cells if m in modes))
    cols = [(op, mode) for op in OPS for mode in modes]
    cols = [c for c in cols if any((f, *c) in cells for f in faults)]
    width = max(len(f) for f in faults) + 2
    head = "fault".ljust(width) + " ".join(f"{op[:6]}/{mode[:5]}".ljust(12) for op, mode in cols)
    lines = [head, "-" * len(head)]
    for fault in faults:
        marks = []
        for op, mode in cols:
            ok = cells.get((fault, op, mode))
            marks.append(("-" if ok is None else "✓" if ok else "✗").ljust(12))
        lines.append(fault.ljust(width) + " ".join(marks))
    return lines


def main() -> int:
    cells, elapsed = run()
    if not cells:
        print("no matrix cells ran (see: pytest " + MODULE + ")")
        return 1
    print("in process (ASGI):")
    print("\n".join(table(cells, ("sync", "async"))))
    print("\nover real sockets (uvicorn):")
    print("\n".join(table(cells, ("sockets",))))
    passed = sum(cells.values())
    print(f"\ncells passing: {passed} / {len(cells)}   (wall time {elapsed:.1f} s)")
    return 0 if passed == len(cells) else 1


if __name__ == "__main__":
    sys.exit(main())
