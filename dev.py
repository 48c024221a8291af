#!/usr/bin/env python3
"""One entry point for set-up and the usual jobs; needs only Python 3.11+ and pip.

    python3 dev.py demo     # create .venv if needed, install, run `stock-manager demo`
    python3 dev.py test     # create .venv if needed, install with dev extras, run pytest
    python3 dev.py lint     # ruff, ruff format --check, mypy --strict, lint-imports, mkdocs
    python3 dev.py bench    # every benchmark script in bench/

The virtual environment is reinstalled only when pyproject.toml changes (a hash stamp decides).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".stock-manager-installed"
#: The strict docs build of `lint`. Never add --quiet: it hides the warnings that --strict
#: counts, and a broken link then passes (tests/docs/test_docs.py checks it fails).
MKDOCS_BUILD = ("-m", "mkdocs", "build", "--strict")


def _run(*cmd: str | Path) -> int:
    # NO_MKDOCS_2_WARNING: mkdocs-material's banner about its successor, printed on every build
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)  # noqa: S603  (our tools)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (a clear message on an old python3)
        sys.exit(f"stock-manager needs Python 3.11+, this is {sys.version.split()[0]}")
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == want and PY.exists():
        return
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing stock-manager and its dev tools into .venv ...", flush=True)
    rc = _run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]")
    if rc:
        sys.exit(rc)
    STAMP.write_text(want)


def main(argv: list[str]) -> int:
    job = argv[0] if argv else "help"
    rest = argv[1:]
    if job not in {"demo", "test", "lint", "bench"}:
        print(__doc__)
        return 0 if job in {"help", "-h", "--help"} else 2
    ensure_venv()
    if job == "demo":
        return _run(BIN / "stock-manager", "demo", *rest)
    if job == "test":
        return _run(PY, "-m", "pytest", *rest)
    if job == "lint":
        for cmd in (
            (PY, "-m", "ruff", "check", "."),
            (PY, "-m", "ruff", "format", "--check", "."),
            (PY, "-m", "mypy"),
            # The layers and "no import cycles" of pyproject.toml's [tool.importlinter].
            (BIN / ("lint-imports.exe" if os.name == "nt" else "lint-imports"),),
            # the documentation site (docs/, mkdocs.yml) into the ignored site/; offline
            (PY, *MKDOCS_BUILD, "--site-dir", ROOT / "site"),
        ):
            rc = _run(*cmd)
            if rc:
                return rc
        return 0
    rc = 0
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        rc = _run(PY, script, *rest) or rc
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
