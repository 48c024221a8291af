"""The fault matrix (see ``_matrix``): every emulator fault x operation x sync/async.

``python bench/bench_faults.py`` prints it as a table with cells passing / total.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._matrix import BY_NAME, FAULTS, MODES, OPS, FaultCase, Mode, Op, cell_id, run_cell

CELLS = [(f, op, mode) for f in FAULTS for op in OPS for mode in MODES]


@pytest.mark.parametrize(
    ("fault", "op", "mode"), CELLS, ids=[cell_id(f, op, m) for f, op, m in CELLS]
)
def test_fault_matrix(fault: FaultCase, op: Op, mode: Mode, tmp_path: Path) -> None:
    run_cell(fault, op, mode, tmp_path)


# A subset over real sockets (uvicorn, real read timeouts and TCP resets), sync client.
SOCKET_CELLS = [
    (BY_NAME[name], op)
    for name in ("delay_commit", "hang", "reset_before", "reset_after", "egw00301_commit")
    for op in ("place", "modify", "list")
]


@pytest.mark.parametrize(
    ("fault", "op"), SOCKET_CELLS, ids=[f"{f.name}-{op}-sockets" for f, op in SOCKET_CELLS]
)
def test_fault_matrix_over_sockets(fault: FaultCase, op: Op, tmp_path: Path) -> None:
    run_cell(fault, op, "sync", tmp_path, sockets=True)
