"""Bulk cancel of 200 reservations against the emulator at the real KIS limit (20 req/s).

Prints the wall time of ``cancel_reservations`` as a ratio of the physical floor (200 requests
at 20/s = 10 s; target <= 1.05), how many EGW00201 the emulator answered (absorbed by retries)
and how many errors reached the caller (target 0).

    python bench/bench_bulk_cancel.py [--n 200] [--with-listing]

``--with-listing`` also times the filter form (list the pending ones, then cancel), whose floor
is (n + pages) / 20 s.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import datetime
from pathlib import Path

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.reservations import Reservations
from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.emulator import EmulatorConfig, run_emulator
from stock_manager.emulator.krx_calendar import start_inside_window
from stock_manager.emulator.server import ServedEmulator

RATE = 20.0


def _evening() -> datetime:
    return datetime.now(KST).replace(hour=17, minute=0)


def _quota_hits(emu: ServedEmulator) -> int:
    return sum(1 for r in emu.requests.filter() if r.msg_cd == "EGW00201")


def time_bulk_cancel(emu: ServedEmulator, client: KISRestClient, n: int) -> dict[str, float]:
    """Place ``n`` reservations, then time cancelling them by seq (bench_shared_budget reuses)."""
    resv = Reservations(client, clock=_evening)
    seqs = [resv.place_reservation("005930", 1 + i % 50, 70000).seq for i in range(n)]
    quota_before = _quota_hits(emu)
    started = time.perf_counter()
    result = resv.cancel_reservations(seqs=seqs)
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "floor": n / RATE,
        "quota_hits": _quota_hits(emu) - quota_before,
        "errors": result.failed + result.unknown,
        "cancelled": result.succeeded,
    }


def _run(n: int, with_listing: bool) -> None:
    # The emulator enforces KIS's 20/s per app key; the client runs at its default real limit.
    config = EmulatorConfig.demo(seed=1, start_at=start_inside_window())
    with run_emulator(config) as emu, tempfile.TemporaryDirectory() as tmp:
        cfg = KISConfig(
            kis_app_key=emu.config.app_key,
            kis_app_secret=emu.config.app_secret,
            kis_account_no=emu.config.account,
            base_url=emu.base_url,
            token_cache_dir=Path(tmp) / "tokens",
            journal_path=Path(tmp) / "journal.sqlite3",
        )
        with KISRestClient(cfg) as client:
            resv = Reservations(client, clock=_evening)
            print(f"placing {n} reservations at {RATE:.0f}/s ...", flush=True)
            seqs = [resv.place_reservation("005930", 1 + i % 50, 70000).seq for i in range(n)]
            quota_before = _quota_hits(emu)

            started = time.perf_counter()
            result = resv.cancel_reservations(seqs=seqs)
            wall = time.perf_counter() - started
            floor = n / RATE
            quota_hits = _quota_hits(emu) - quota_before
            print(
                f"bulk cancel of {n} by seq: {wall:.2f} s, floor {floor:.2f} s, "
                f"ratio {wall / floor:.3f} (target <= 1.05); "
                f"cancelled {result.succeeded}, failed {result.failed}, unknown {result.unknown}; "
                f"EGW00201 answered by the emulator {quota_hits}, "
                f"surfaced to the caller {result.failed + result.unknown}"
            )
            if with_listing:
                for i in range(n):
                    resv.place_reservation("000660", 1 + i % 50, 90000)
                pages = math.ceil(n / 20)
                started = time.perf_counter()
                listed = resv.cancel_reservations(symbol="000660")
                wall = time.perf_counter() - started
                floor = (n + pages) / RATE
                print(
                    f"bulk cancel of {n} by filter (list + cancel): {wall:.2f} s, floor "
                    f"{floor:.2f} s ({n} + {pages} requests), ratio {wall / floor:.3f}; "
                    f"cancelled {listed.succeeded}, failed {listed.failed}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--with-listing", action="store_true")
    args = parser.parse_args()
    _run(args.n, args.with_listing)


if __name__ == "__main__":
    main()
