"""The emulator must not import our client: it would then share, and hide, the client's bugs."""

from __future__ import annotations

import ast
from pathlib import Path

import stock_manager.emulator

EMULATOR = Path(stock_manager.emulator.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_emulator_imports_nothing_from_the_client() -> None:
    files = sorted(EMULATOR.rglob("*.py"))
    assert len(files) > 5
    offenders = {
        f"{path.name}: {name}"
        for path in files
        for name in _imports(path)
        if name.startswith(("stock_manager.adapters", "stock_manager.cli"))
        or name == "stock_manager.journal"
    }
    assert offenders == set()
