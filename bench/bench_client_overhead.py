"""Per-page cost of the client's layers over a bare ``httpx.Client``, one 20-row page each.

The emulator runs in a child process (so it does not compete with the measured code for the
GIL) with its rate limiter off, holding exactly 20 reservations: one CTSC0004R page. Every
contender fetches that page and parses it; they are measured interleaved, in blocks whose
order rotates each round, and the median block of each is reported::

    .venv/bin/python bench/bench_client_overhead.py [--rounds 9] [--block 100] [--profile]

Contenders:

* raw ``httpx.Client``: GET with the KIS headers, ``response.json()``, check ``rt_cd`` — the floor;
* ``make_request``: TR_ID resolution, token, flow, classification, case-insensitive body;
* typed ``list_reservations``: the above plus one :class:`Reservation` per row (target 1.3x);
* python-kis ``PyKis.fetch`` (its generic dynamic-dict fetch), when the optional ``bench``
  extra is installed (``pip install -e '.[bench]'``); pointed at the emulator by patching its
  host constant, its limiter lifted the same way.

Our limiter is off (``RateLimiter(1e9, margin=0)``) and the journal is off, so the figures are
the client's own cost. Prints the ratios and the targets; never fails on a target.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _emuproc import ACCOUNT, APP_KEY, APP_SECRET, EmulatorProcess, evening, seed
from stock_manager.adapters.broker.kis import KISRestClient
from stock_manager.adapters.broker.kis import constants as C
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter
from stock_manager.adapters.broker.kis.reservations import Reservations

PATH = "/uapi/domestic-stock/v1/trading/order-resv-ccnl"
ROWS = 20
TARGETS = {"make_request": 1.15, "typed list_reservations": 1.3}

Fetch = Callable[[], int]  # one page; returns the number of rows seen


def _block(fetch: Fetch, n: int) -> tuple[float, float]:
    """Wall and CPU (this process) microseconds per page over ``n`` pages."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        if fetch() != ROWS:
            raise RuntimeError("wrong page")
    return (time.perf_counter() - start) / n * 1e6, (time.process_time() - cpu) / n * 1e6


def _python_kis(base_url: str, token: str, params: dict[str, str], tmp: Path) -> Fetch | None:
    """python-kis's generic fetch against the emulator, or ``None`` when it is not installed."""
    try:
        import pykis.kis as pykis_kis
        from pykis import PyKis
        from pykis.utils.rate_limit import RateLimiter as PyKisLimiter
    except ImportError:
        return None
    logging.getLogger("pykis").setLevel(logging.WARNING)
    pykis_kis.REAL_DOMAIN = base_url  # its only host setting
    # Hand it our token (the emulator, like KIS, issues one a minute).
    token_file = tmp / "python-kis-token.json"
    token_file.write_text(
        json.dumps(
            {
                "access_token": token,
                "token_type": "Bearer",
                "access_token_token_expired": "2099-12-31 00:00:00",
                "expires_in": 86400,
            }
        )
    )
    kis = PyKis(
        id="bench",
        account=ACCOUNT,
        appkey=APP_KEY,
        secretkey=APP_SECRET,
        token=str(token_file),
        use_websocket=False,
        keep_token=False,
    )
    kis._rate_limiters["real"] = PyKisLimiter(10**9, 1)  # as our limiter: lifted

    def fetch() -> int:
        return len(kis.fetch(PATH, params=params, api="CTSC0004R").output)

    return fetch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--block", type=int, default=100, help="pages per block")
    parser.add_argument("--profile", action="store_true", help="cProfile the typed path")
    args = parser.parse_args()

    with EmulatorProcess() as emu, tempfile.TemporaryDirectory() as tmp:
        config = emu.config(Path(tmp) / "tokens")
        with (
            KISRestClient(config, limiter=RateLimiter(1e9, margin=0)) as client,
            httpx.Client(
                timeout=httpx.Timeout(C.READ_TIMEOUT_S, connect=C.CONNECT_TIMEOUT_S)
            ) as raw,
        ):
            seed(client, ROWS)
            resv = Reservations(client, clock=evening)
            params = resv._rules.list_params(None, None, None, None, None, "all", False)
            token = client.issue_token()
            headers = {
                "content-type": C.CONTENT_TYPE,
                "authorization": f"Bearer {token}",
                "appkey": APP_KEY,
                "appsecret": APP_SECRET,
                "tr_id": "CTSC0004R",
                "custtype": "P",
                "user-agent": C.USER_AGENT,
            }
            url = emu.base_url + PATH

            def raw_fetch() -> int:
                body = raw.get(url, params=params, headers=headers).json()
                if body["rt_cd"] != "0":
                    raise RuntimeError("raw request failed")
                return len(body["output"])

            def make_request() -> int:
                return len(client.make_request("GET", PATH, params).rows())

            def typed() -> int:
                return len(list(resv.list_reservations()))

            fetches: dict[str, Fetch] = {
                "raw httpx": raw_fetch,
                "make_request": make_request,
                "typed list_reservations": typed,
            }
            pk = _python_kis(emu.base_url, token, params, Path(tmp))
            if pk is not None:
                fetches["python-kis fetch"] = pk
            names = list(fetches)
            for name in names:  # warm up every connection and cache
                _block(fetches[name], 30)
            times: dict[str, list[float]] = {name: [] for name in names}
            cpu: dict[str, list[float]] = {name: [] for name in names}
            for i in range(args.rounds):
                # Rotate the order so that drift in machine load hits every contender alike.
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    wall, used = _block(fetches[name], args.block)
                    times[name].append(wall)
                    cpu[name].append(used)
            base = statistics.median(times["raw httpx"])
            cpu_base = statistics.median(cpu["raw httpx"])
            print(
                f"one {ROWS}-row CTSC0004R page against the emulator (child process, limiters"
                f" off); {args.rounds} interleaved rounds x {args.block} pages, medians."
                " CPU = this process's CPU time per page (the emulator's is not in it)."
            )
            for name in names:
                med, used = statistics.median(times[name]), statistics.median(cpu[name])
                target = TARGETS.get(name)
                note = f"  (target <= {target}x)" if target else ""
                print(
                    f"  {name:<26} {med:7.0f} us/page  {med / base:5.2f}x raw"
                    f"   CPU {used:5.0f} us  {used / cpu_base:5.2f}x{note}"
                )
            if pk is None:
                print("  python-kis: not installed (pip install -e '.[bench]'); not measured")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                _block(typed, args.block * 3)
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
                print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
