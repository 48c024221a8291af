"""The event loop's lag during an async bulk cancel, with the order journal on and off (issue #19).

A ticker task sleeps ``--tick`` ms at a time on the loop that runs
``AsyncReservations.cancel_reservations`` (200 reservations by default, at KIS's real 20
requests/s, against the emulator in a child process); each wake-up later than asked is the
loop's lag: how long something else held it. Both runs happen in one process, one after the
other, and are printed side by side. Goal (issue #19): the journal adds at most 1 ms to the p99.

    python bench/bench_loop_lag.py [--n 200] [--quick] [--json FILE]

``--quick`` (20 reservations) is what ``tests/test_bench_smoke.py`` runs so this cannot rot;
its figures mean little.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _emuproc import ACCOUNT, APP_KEY, APP_SECRET, EmulatorProcess, evening, seed
from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.reservations import AsyncReservations

RATE = 20.0  # KIS's real limit per app key


def _config(base_url: str, tmp: Path, *, journal: bool, rate: float, label: str) -> KISConfig:
    return KISConfig(
        kis_app_key=APP_KEY,
        kis_app_secret=APP_SECRET,
        kis_account_no=ACCOUNT,
        base_url=base_url,
        # One token for every client of the run (KIS issues one a minute per app key).
        token_cache_dir=tmp / "tokens",
        journal=journal,
        journal_path=tmp / f"journal-{label.replace(' ', '-')}.sqlite3",
        rate_limit=rate,
    )


async def _ticker(tick: float, lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(tick)
        lags.append(time.perf_counter() - started - tick)


async def _cancel_with_ticker(cfg: KISConfig, seqs: list[str], tick: float) -> dict[str, Any]:
    lags: list[float] = []
    stop = asyncio.Event()
    async with AsyncKISRestClient(cfg) as client:
        await client.issue_token()  # the token is not what is measured
        resv = AsyncReservations(client, clock=evening, window_policy="ignore")
        ticker = asyncio.create_task(_ticker(tick, lags, stop))
        started = time.perf_counter()
        result = await resv.cancel_reservations(seqs=seqs)
        wall = time.perf_counter() - started
        stop.set()
        await ticker
        journal = client.journal
        journaled = len(journal.entries()) if journal is not None else 0
    ms = sorted(lag * 1000 for lag in lags)
    return {
        "cancelled": result.succeeded,
        "errors": result.failed + result.unknown,
        "journaled": journaled,
        "ticks": len(ms),
        "wall_s": wall,
        "median_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))],
        "max_ms": ms[-1],
    }


def _seeded_seqs(base_url: str, tmp: Path, n: int) -> list[str]:
    """Place ``n`` reservations (pacing lifted, journal off); return their seqs."""
    from stock_manager.adapters.broker.kis.reservations import Reservations

    with KISRestClient(_config(base_url, tmp, journal=False, rate=1e6, label="seed")) as client:
        resv = Reservations(client, clock=evening, window_policy="ignore")
        before = {r.seq for r in resv.list_reservations(status="pending")}
        seed(client, n)
        after = [r.seq for r in resv.list_reservations(status="pending")]
    return [seq for seq in after if seq not in before]


def run(n: int, tick_ms: float) -> dict[str, Any]:
    """Both runs against one emulator; returns the figures."""
    figures: dict[str, Any] = {"n": n, "rate": RATE, "tick_ms": tick_ms, "runs": {}}
    with EmulatorProcess() as emu, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for label, journal in (("journal on", True), ("journal off", False)):
            seqs = _seeded_seqs(emu.base_url, tmp, n)
            assert len(seqs) == n, f"seeded {len(seqs)} of {n}"
            cfg = _config(emu.base_url, tmp, journal=journal, rate=RATE, label=label)
            print(f"cancelling {n} reservations at {RATE:.0f}/s, {label} ...", flush=True)
            figures["runs"][label] = asyncio.run(_cancel_with_ticker(cfg, seqs, tick_ms / 1000))
    return figures


def _print(figures: dict[str, Any]) -> None:
    on, off = figures["runs"]["journal on"], figures["runs"]["journal off"]
    print(
        f"\nevent-loop lag during an async bulk cancel of {figures['n']}"
        f" ({figures['tick_ms']:g} ms ticker; python {sys.version.split()[0]})"
    )
    print(f"{'':14}{'journal on':>12}{'journal off':>13}{'added':>9}")
    for key, name in (("median_ms", "median ms"), ("p99_ms", "p99 ms"), ("max_ms", "max ms")):
        print(f"{name:14}{on[key]:12.2f}{off[key]:13.2f}{on[key] - off[key]:+9.2f}")
    for key, name in (("ticks", "ticks"), ("cancelled", "cancelled"), ("errors", "errors")):
        print(f"{name:14}{on[key]:12d}{off[key]:13d}")
    print(f"{'wall s':14}{on['wall_s']:12.2f}{off['wall_s']:13.2f}")
    added = on["p99_ms"] - off["p99_ms"]
    verdict = "meets" if added <= 1.0 else "MISSES"
    print(f"the journal adds {added:+.2f} ms to the p99: {verdict} the goal (<= 1 ms)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="reservations to cancel (200)")
    parser.add_argument("--tick", type=float, default=1.0, help="ticker period in ms (1)")
    parser.add_argument("--quick", action="store_true", help="20 reservations: a smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(20 if args.quick else args.n, args.tick)
    _print(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
