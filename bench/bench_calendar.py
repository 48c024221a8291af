"""Cost of a KRX calendar answer: library import, first (cold) look-up, cached look-up.

Run: ``.venv/bin/python bench/bench_calendar.py [--rounds N] [--other-python PATH]``

Measured side by side in one run:

* subprocess start-up of ``python -c pass`` (the floor), ``import holidays``, and — when
  ``--other-python`` names an interpreter that has it — ``import exchange_calendars`` with its
  XKRX calendar built (the alternative we did not choose);
* in-process: the first ``KRXCalendar().day(d)`` (imports ``holidays`` and builds the year),
  then the cached answer (the in-memory memo) in microseconds, and their ratio;
* ``import stock_manager.cli.app``: whether it loads ``holidays`` (it must not: only commands
  that decide a date pay for it).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import date


def _spawn(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--other-python", default="", help="interpreter with exchange_calendars")
    args = parser.parse_args()

    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import holidays + XKRX year": [
            sys.executable,
            "-c",
            "import holidays; holidays.financial_holidays('XKRX', years=2026)",
        ],
    }
    if args.other_python:
        commands["import exchange_calendars + XKRX"] = [
            args.other_python,
            "-c",
            "import exchange_calendars as x; x.get_calendar('XKRX')",
        ]
    for argv in commands.values():
        _spawn(argv)  # warm caches
    times: dict[str, list[float]] = {k: [] for k in commands}
    for i in range(args.rounds):
        names = list(commands)
        for name in names[i % len(names) :] + names[: i % len(names)]:
            times[name].append(_spawn(commands[name]))
    floor = statistics.median(times["python -c pass"])
    print(f"{'subprocess':40} {'median ms':>10} {'extra ms':>10}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:40} {med * 1e3:10.1f} {(med - floor) * 1e3:10.1f}")

    # In-process: cold vs cached answers.
    t0 = time.perf_counter()
    from stock_manager.calendar import KRXCalendar

    t1 = time.perf_counter()
    cal = KRXCalendar()
    d = date(2026, 12, 31)
    t2 = time.perf_counter()
    cal.day(d)
    t3 = time.perf_counter()
    n = 200_000
    t4 = time.perf_counter()
    for _ in range(n):
        cal.day(d)
    t5 = time.perf_counter()
    cached_us = (t5 - t4) / n * 1e6
    cold_ms = (t3 - t2) * 1e3
    print()
    print(f"import stock_manager.calendar        {(t1 - t0) * 1e3:8.2f} ms")
    print(f"first look-up (imports holidays)     {cold_ms:8.2f} ms")
    print(f"cached look-up                       {cached_us:8.3f} µs  ({n:,} calls)")
    print(f"cold / cached                        {cold_ms * 1e3 / cached_us:8.0f} x")
    t6 = time.perf_counter()
    for _ in range(n):
        bool(d)  # the floor: one trivial call per iteration
    t7 = time.perf_counter()
    print(f"(loop + trivial call floor           {(t7 - t6) / n * 1e6:8.3f} µs)")

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, stock_manager.cli.app; print('holidays' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"'import stock_manager.cli.app' loads holidays: {out}")


if __name__ == "__main__":
    main()
