"""Start-up time of ``stock-manager --help`` against a bare ``python -c pass``.

Run: ``.venv/bin/python bench/bench_cli_startup.py [--rounds N]``

The commands are run interleaved (one of each per round, in rotating order) so that machine
load drifts hit all of them alike; the report gives medians and the ratio to ``python -c pass``.
The target for ``--help`` is ≤ 6x; this script prints the figures and asserts nothing.

Measured:

* ``python -c pass``                    the floor: interpreter start-up (with site-packages)
* ``stock-manager --help``              the top-level help (typer-free fast path)
* ``stock-manager resv --help``         a sub-command's help (typer + rich help formatter)
* ``stock-manager tr-id v1_국내주식-017``  TR_ID look-up: loads only the API catalog
* ``stock-manager api show v1_국내주식-018,019``  an API's spec: loads only the API catalog

``tr-id`` and ``api show`` are served without typer, pydantic or httpx; their target is
≤ 5x ``python -c pass``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CLI = [sys.executable, "-m", "stock_manager.cli"]
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "stock-manager --help": [*CLI, "--help"],
    "stock-manager resv --help": [*CLI, "resv", "--help"],
    "stock-manager tr-id v1_국내주식-017": [*CLI, "tr-id", "v1_국내주식-017"],
    "stock-manager api show v1_국내주식-018,019": [*CLI, "api", "show", "v1_국내주식-018,019"],
}
#: Commands that must stay within 5x ``python -c pass`` (they load only the catalog).
CATALOG_ONLY = ("stock-manager tr-id v1_국내주식-017", "stock-manager api show v1_국내주식-018,019")


def _once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="runs of each command")
    args = parser.parse_args()
    env = {**os.environ, "NO_COLOR": "1"}
    names = list(COMMANDS)
    for name in names:  # warm the file cache and the bytecode cache once
        _once(COMMANDS[name], env)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(args.rounds):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            times[name].append(_once(COMMANDS[name], env))
    base = statistics.median(times[names[0]])
    print(f"{args.rounds} interleaved rounds, medians ({sys.executable})")
    for name in names:
        med = statistics.median(times[name])
        print(f"  {name:<44} {med * 1000:7.1f} ms  {med / base:5.1f}x")
    ratio = statistics.median(times["stock-manager --help"]) / base
    verdict = "within" if ratio <= 6 else "ABOVE"
    print(f"stock-manager --help / python -c pass = {ratio:.2f}x ({verdict} the 6x target)")
    for name in CATALOG_ONLY:
        ratio = statistics.median(times[name]) / base
        verdict = "within" if ratio <= 5 else "ABOVE"
        print(f"{name} / python -c pass = {ratio:.2f}x ({verdict} the 5x target)")


if __name__ == "__main__":
    main()
