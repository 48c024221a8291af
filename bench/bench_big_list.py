"""``stock-manager resv list`` of 10,000 reservations: table vs ``--json``, time and memory.

The emulator runs in a child process with its rate limiter off, and the CLI gets
``KIS_RATE_LIMIT=1000000``, so pacing is lifted and what is left is our own cost. 10,000
reservations are placed (9,000 of 005930, 1,000 of 000660), then these are run interleaved,
stdout to a pipe that is read and thrown away::

    resv list                      the table (long listings: the light streamed layout)
    resv list --json               the floor
    resv list --json --symbol 000660   1,000 rows: the memory baseline

Printed: medians of the wall times, table / json (target <= 2x), and each process's peak
resident memory (``ru_maxrss``), 10,000 rows against 1,000 (flat = about the same)::

    .venv/bin/python bench/bench_big_list.py [--rows 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _emuproc import EmulatorProcess, seed
from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter

CLI = [sys.executable, "-m", "stock_manager.cli"]


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MiB and bytes of stdout of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    size = 0
    while chunk := proc.stdout.read(1 << 16):
        size += len(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{argv} exited {proc.returncode}")
    return wall, usage.ru_maxrss // 1024, size


def _render_only(client_config: KISConfig, rows: int) -> None:
    """CPU time of the output alone, rows fetched once: rich table, light layout, JSON."""
    from rich.console import Console

    from stock_manager.adapters.broker.kis.reservations import Reservations
    from stock_manager.cli import _render, _runtime

    with KISRestClient(client_config, limiter=RateLimiter(1e9, margin=0)) as client:
        listed = list(Reservations(client).list_reservations())
    assert len(listed) == rows, len(listed)

    def cpu(job: Callable[[], object]) -> float:
        start = time.process_time()
        job()
        return time.process_time() - start

    def console() -> Console:
        return Console(file=io.StringIO(), width=150, highlight=False)

    rich_s = cpu(lambda: console().print(_render.reservations_table(listed)))
    light_s = cpu(lambda: _render.print_reservations(iter(listed), console()))
    saved, sys.stdout = sys.stdout, io.StringIO()
    try:
        json_s = cpu(lambda: _runtime.emit_json_stream(iter(listed)))
    finally:
        sys.stdout = saved
    print(
        f"output alone, {rows:,} rows in memory (CPU): one rich table {rich_s:.2f} s"
        f" ({rich_s / rows * 1e3:.2f} ms a row), light streamed layout {light_s:.2f} s,"
        f" --json stream {json_s:.2f} s"
    )


def main() -> None:
    """Seed, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    small = args.rows // 10
    with EmulatorProcess() as emu, tempfile.TemporaryDirectory() as tmp:
        token_dir = Path(tmp) / "tokens"
        started = time.perf_counter()
        with KISRestClient(emu.config(token_dir), limiter=RateLimiter(1e9, margin=0)) as client:
            client.issue_token()
            big = args.rows - small
            with ThreadPoolExecutor(4) as pool:
                jobs = [pool.submit(seed, client, big // 4) for _ in range(4)]
                jobs.append(pool.submit(seed, client, big - 4 * (big // 4)))
                jobs.append(pool.submit(seed, client, small, "000660"))
                for job in jobs:
                    job.result()
        print(f"placed {args.rows:,} reservations in {time.perf_counter() - started:.1f} s")
        env = emu.env(token_dir)
        commands = {
            "table": [*CLI, "resv", "list"],
            "json": [*CLI, "resv", "list", "--json"],
            "json-small": [*CLI, "resv", "list", "--json", "--symbol", "000660"],
        }
        results: dict[str, list[tuple[float, int, int]]] = {name: [] for name in commands}
        names = list(commands)
        for i in range(args.rounds):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                results[name].append(_run(commands[name], env))

        def wall(name: str) -> float:
            return statistics.median(r[0] for r in results[name])

        def rss(name: str) -> float:
            return statistics.median(r[1] for r in results[name])

        print(f"{args.rounds} interleaved rounds, medians; pacing lifted (emulator and client)")
        for name, rows in (("table", args.rows), ("json", args.rows), ("json-small", small)):
            out = results[name][0][2]
            print(
                f"  resv list {name:<11} {rows:>6,} rows  {wall(name):6.2f} s"
                f"  peak RSS {rss(name):4.0f} MiB  stdout {out / 1e6:5.1f} MB"
            )
        _render_only(client_config=emu.config(token_dir), rows=args.rows)
        print(
            f"table / json = {wall('table') / wall('json'):.2f}x (target <= 2x); "
            f"json peak RSS {args.rows:,} rows / {small:,} rows = "
            f"{rss('json') / rss('json-small'):.2f}x (flat ~ 1)"
        )


if __name__ == "__main__":
    main()
