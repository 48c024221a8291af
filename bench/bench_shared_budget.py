"""One rate budget and one token per app key across processes and hosts, measured side by side.

Against one emulator (KIS's 20/s per app key, sliding 1-second window, admission times logged)
and one app key, in one run:

1. one host, file backend: P processes x T threads listing reservations for D s;
2. two "hosts" (two process groups with separate token-cache folders) sharing only Redis;
3. the same two hosts with Redis SIGKILLed mid-run and restarted empty;
4. a single-process bulk cancel of 200 reservations with each backend (bench_bulk_cancel.py).

For 1-3 it prints: EGW00201 that reached a caller (target 0), other caller errors, % refused at
the emulator (target <= 1 %), accepted throughput vs the limit (target >= 95 %), tokens issued
(target 1; scenario 3: at most 1 re-issue), the most admissions the emulator let through in any
1-second window (<= 20 by construction of its gate) and the most *arrivals* at the gate in any
1-second window, refused ones included (what the clients actually sent; target <= 20).

    python bench/bench_shared_budget.py [--quick] [--processes 8] [--threads 16] [--duration 20]

``--quick`` shortens everything for a CI smoke run. Needs ``redis-server`` on PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stock_manager.emulator import EmulatorConfig, run_emulator
from stock_manager.emulator.server import ServedEmulator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _redisproc import RedisServer, find_redis_server, free_port

RATE = 20
LIST_PATH = "/uapi/domestic-stock/v1/trading/order-resv-ccnl"
HERE = Path(__file__).resolve()


# --- worker (one process of a bot) ------------------------------------------------------------
def _worker(args: argparse.Namespace) -> None:
    from stock_manager.adapters.broker.kis import KISConfig, KISError, KISRestClient
    from stock_manager.adapters.broker.kis.errors import KISRateLimitError

    cfg = KISConfig(
        kis_app_key=args.app_key,
        kis_app_secret=args.app_secret,
        kis_account_no=args.account,
        base_url=args.base_url,
        token_cache_dir=args.cache_dir,
        journal=False,
        shared_state=args.shared_state or None,
    )
    cano, prdt = args.account.split("-")
    params = {
        "RSVN_ORD_ORD_DT": "20260101",
        "RSVN_ORD_END_DT": "20260131",
        "RSVN_ORD_SEQ": "",
        "TMNL_MDIA_KIND_CD": "00",
        "CANO": cano,
        "ACNT_PRDT_CD": prdt,
        "PRCS_DVSN_CD": "0",
        "CNCL_YN": "Y",
        "PDNO": "",
        "SLL_BUY_DVSN_CD": "",
    }
    lock = threading.Lock()
    counts: dict[str, int] = {"ok": 0, "egw00201": 0, "other": 0}
    kinds: dict[str, int] = {}
    latencies: list[float] = []
    with KISRestClient(cfg) as client:
        client.issue_token()  # before the start line, as a bot does at start-up
        print("ready", flush=True)
        sys.stdin.readline()  # start line: every process starts together
        deadline = time.monotonic() + args.duration

        def loop() -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    client.make_request("GET", LIST_PATH, params)
                    key = "ok"
                except KISRateLimitError:
                    key = "egw00201"
                except KISError as exc:
                    key = "other"
                    with lock:
                        kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
                with lock:
                    counts[key] += 1
                    latencies.append(time.perf_counter() - started)

        threads = [threading.Thread(target=loop) for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(
            json.dumps(
                {**counts, "kinds": kinds, "issued": client.tokens.issued_count, "lat": latencies}
            ),
            flush=True,
        )


# --- scenarios --------------------------------------------------------------------------------
def _spawn(
    emu: ServedEmulator, cache_dir: Path, shared_state: str, threads: int, duration: float
) -> subprocess.Popen[str]:
    cfg = emu.config
    return subprocess.Popen(
        [sys.executable, str(HERE), "--worker", "--base-url", emu.base_url,
         "--app-key", cfg.app_key, "--app-secret", cfg.app_secret, "--account", cfg.account,
         "--cache-dir", str(cache_dir), "--shared-state", shared_state,
         "--threads", str(threads), "--duration", str(duration)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _scenario(
    emu: ServedEmulator,
    groups: list[tuple[Path, str]],
    processes: int,
    threads: int,
    duration: float,
    during: Any = None,
) -> dict[str, Any]:
    """Run ``processes`` workers per group; ``during(t0)`` runs in the main thread meanwhile."""
    procs = [
        _spawn(emu, cache_dir, shared, threads, duration)
        for cache_dir, shared in groups
        for _ in range(processes)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            if line != "ready":
                err = p.stderr.read() if p.stderr else ""
                raise RuntimeError(f"worker did not start: {line} {err}")
        issued_before = emu.token_issuances
        emu.requests.clear()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        t0 = time.monotonic()
        if during is not None:
            during(t0)
        outs = [p.communicate(timeout=duration + 120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    results = []
    stderr_tail: list[str] = []
    for (out, err), p in zip(outs, procs, strict=True):
        if p.returncode != 0:
            raise RuntimeError(f"worker failed ({p.returncode}): {err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
        stderr_tail.extend(
            line.strip()
            for line in err.splitlines()
            if "shared state" in line or "EGW00201" in line or "token" in line
        )
    records = [r for r in emu.requests.filter(path=LIST_PATH) if r.admitted is not None]
    refused = sum(1 for r in records if r.msg_cd == "EGW00201")
    accepted = len(records) - refused
    lat = sorted(x for r in results for x in r["lat"])
    kinds: dict[str, int] = {}
    for r in results:
        for k, v in r["kinds"].items():
            kinds[k] = kinds.get(k, 0) + v
    # Admissions in the first ``duration`` seconds after the first one (requests booked before
    # the deadline go on arriving for a while after it: not counted).
    first = min((r.admitted for r in records if r.admitted is not None), default=0.0)
    in_span = [
        r
        for r in records
        if r.admitted is not None and r.admitted < first + duration and r.msg_cd != "EGW00201"
    ]
    span = duration
    accepted = len(in_span)
    # arrivals at the gate per 0.5 s from the first one (``--timeline``)
    bins: dict[int, list[int]] = {}
    for r in records:
        assert r.admitted is not None
        b = bins.setdefault(int((r.admitted - first) / 0.5), [0, 0])
        b[1 if r.msg_cd == "EGW00201" else 0] += 1
    timeline = " ".join(
        f"{k * 0.5:.1f}:{v[0]}" + (f"+{v[1]}R" if v[1] else "") for k, v in sorted(bins.items())
    )
    return {
        "timeline": timeline,
        "caller_egw00201": sum(r["egw00201"] for r in results),
        "caller_other": sum(r["other"] for r in results),
        "kinds": kinds,
        "arrivals": len(records),
        "refused": refused,
        "refused_pct": 100.0 * refused / max(1, len(records)),
        "throughput": accepted / span,
        "throughput_pct": 100.0 * accepted / span / RATE,
        # tokens the *clients* obtained from tokenP during start-up + the run (all processes)
        "tokens_issued": sum(r["issued"] for r in results),
        "reissued_in_run": emu.token_issuances - issued_before,
        "max_admitted_1s": emu.requests.max_in_window(1.0, exclude_msg_cd="EGW00201"),
        "max_arrivals_1s": emu.requests.max_in_window(1.0),
        "p50_ms": 1000 * lat[len(lat) // 2] if lat else 0.0,
        "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else 0.0,
        "warnings": {w: stderr_tail.count(w) for w in dict.fromkeys(stderr_tail)},
    }


def _bulk_cancel(emu: ServedEmulator, cache_dir: Path, shared: str, n: int) -> dict[str, float]:
    from bench_bulk_cancel import time_bulk_cancel
    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient

    cfg = KISConfig(
        kis_app_key=emu.config.app_key,
        kis_app_secret=emu.config.app_secret,
        kis_account_no=emu.config.account,
        base_url=emu.base_url,
        token_cache_dir=cache_dir,
        journal_path=cache_dir / "journal.sqlite3",
        shared_state=shared or None,
    )
    with KISRestClient(cfg) as client:
        return time_bulk_cancel(emu, client, n)


@contextlib.contextmanager
def _redis(port: int) -> Iterator[RedisServer]:
    exe = find_redis_server()
    if exe is None:
        sys.exit("redis-server not found: apt-get install redis-server")
    server = RedisServer(exe, port)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _row(name: str, r: dict[str, Any]) -> str:
    return (
        f"{name:<34} {r['caller_egw00201']:>6} {r['caller_other']:>6} {r['refused']:>5}/"
        f"{r['arrivals']:<5} {r['refused_pct']:>5.2f}% {r['throughput']:>6.2f}/s"
        f" {r['throughput_pct']:>5.1f}% {r['tokens_issued']:>4} {r['reissued_in_run']:>4}"
        f" {r['max_admitted_1s']:>5} {r['max_arrivals_1s']:>5}"
        f" {r['p50_ms']:>7.0f} {r['p99_ms']:>7.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run for CI smoke tests")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--cancel", type=int, default=200)
    parser.add_argument("--timeline", action="store_true", help="arrivals per 0.5 s")
    parser.add_argument("--json", dest="json_path", default="", help="also write figures here")
    # worker mode
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for name in ("base-url", "app-key", "app-secret", "account", "cache-dir", "shared-state"):
        parser.add_argument(f"--{name}", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    if args.quick:
        args.processes, args.threads = min(args.processes, 4), min(args.threads, 4)
        args.duration, args.cancel = min(args.duration, 5.0), min(args.cancel, 40)
    sys.path.insert(0, str(HERE.parent))
    p, t, d = args.processes, args.threads, args.duration
    with (
        run_emulator(
            # Scenarios follow each other within a minute: KIS's 1/min issuance rule is not what
            # is measured here (single flight is: tokens issued per scenario).
            EmulatorConfig.demo(seed=1, token_issue_interval_s=0)
        ) as emu,
        tempfile.TemporaryDirectory() as tmp,
        _redis(free_port()) as redis_server,
    ):
        root = Path(tmp)
        print(
            f"emulator at {emu.base_url} (limit {RATE}/s per app key), redis at"
            f" {redis_server.url}; {p} processes x {t} threads per host, {d:.0f} s each",
            flush=True,
        )
        rows: list[tuple[str, dict[str, Any]]] = []
        # 1. one host, file backend
        rows.append(
            (
                f"1 one host, file ({p}x{t})",
                _scenario(emu, [(root / "host1-file", "")], p, t, d),
            )
        )
        print("scenario 1 done", flush=True)
        # 2. two hosts, redis only in common
        half = max(1, p // 2)
        hosts = [(root / "hostA", redis_server.url), (root / "hostB", redis_server.url)]
        rows.append((f"2 two hosts, redis (2x{half}x{t})", _scenario(emu, hosts, half, t, d)))
        print("scenario 2 done", flush=True)

        # 3. redis killed at 30 % of the run, restarted (empty) at 60 %
        def chaos(t0: float) -> None:
            time.sleep(max(0.0, t0 + 0.3 * d - time.monotonic()))
            redis_server.kill()
            print(f"  redis killed at {time.monotonic() - t0:.1f} s", flush=True)
            time.sleep(max(0.0, t0 + 0.6 * d - time.monotonic()))
            redis_server.start()
            print(f"  redis restarted (empty) at {time.monotonic() - t0:.1f} s", flush=True)

        # the same two hosts (same token-cache folders, so the same host ids in Redis)
        r3 = _scenario(emu, hosts, half, t, d, during=chaos)
        rows.append((f"3 redis killed+restarted (2x{half}x{t})", r3))
        print("scenario 3 done", flush=True)

        print()
        print(
            f"{'scenario':<34} {'201@cl':>6} {'err@cl':>6} {'refused':>11} {'ref%':>6}"
            f" {'accepted':>8} {'of lim':>6} {'tok':>4} {'re-is':>4} {'maxA1s':>5}"
            f" {'maxR1s':>5} {'p50ms':>7} {'p99ms':>7}"
        )
        for name, r in rows:
            print(_row(name, r))
        print(
            "  201@cl: EGW00201 reaching callers (target 0); err@cl: other caller errors;"
            " refused: EGW00201 at the emulator / requests at its gate (target <= 1 %);"
            " accepted: admitted per second of the run (target >= 95 % of 20/s); tok: tokens"
            " issued by the clients (target 1); re-is: tokenP answers during the run (target"
            " <= 1); maxA1s: most admitted in any 1-s window; maxR1s: most requests arriving"
            " at the gate in any 1-s window, refused included (target <= 20)"
        )
        for name, r in rows:
            if args.timeline:
                print(f"  {name} admitted(+refused) per 0.5 s: {r['timeline']}")
            if r["kinds"]:
                print(f"  {name}: caller errors {r['kinds']}")
            for text, count in r["warnings"].items():
                print(f"  {name}: {count} process(es) warned: {text}")

        # 4. bulk cancel, single process, each backend
        print()
        n = args.cancel
        bulk = [
            ("file", _bulk_cancel(emu, root / "bulk-file", "", n)),
            ("redis", _bulk_cancel(emu, root / "bulk-redis", redis_server.url, n)),
        ]
        if args.json_path:
            Path(args.json_path).write_text(
                json.dumps(
                    {
                        "scenarios": {name: {k: v for k, v in r.items()} for name, r in rows},
                        "bulk": dict(bulk),
                    }
                )
            )
        for name, b in bulk:
            print(
                f"4 bulk cancel of {n}, {name:<5}: {b['wall']:.2f} s, floor {b['floor']:.2f} s,"
                f" ratio {b['wall'] / b['floor']:.3f} (target <= 1.05); EGW00201 at the"
                f" emulator {b['quota_hits']:.0f}, errors to the caller {b['errors']:.0f}"
            )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
