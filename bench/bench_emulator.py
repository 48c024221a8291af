"""Throughput of the emulator's reservation list (GET order-resv-ccnl, 20 rows a page).

For 100, 1,000 and 10,000 stored reservations, in memory and with ``--state`` (SQLite), this
starts ``python -m stock_manager.emulator --port 0 --no-rate-limit --clock <inside the
window>`` in a separate process, places the reservations over HTTP (pipelined, raw sockets),
then drives the first page and a middle page (``tr_cont: N`` + the continuation keys of page
N/40) from a raw-socket asyncio keep-alive load generator and prints requests/second: the
median of several rounds in which memory and --state are measured alternately.
Target: >= 2,000 req/s on every page at 10,000, and ``--state`` within 1.5x of memory.
Only ever talks to 127.0.0.1. The load generator shares the (2-core) machine with the
emulator, so absolute figures are lower bounds; the memory/--state ratio is measured side by
side in one run.

Run: ``.venv/bin/python bench/bench_emulator.py [--seconds 1.5] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

HOST = "127.0.0.1"
APP_KEY = "PSEMUbenchappkey0000000000000000000"
APP_SECRET = "bench-secret"
ACCOUNT = "50000000-01"
TRADING = "/uapi/domestic-stock/v1/trading"
CLOCK = "2026-12-01T18:00+09:00"  # a Tuesday evening: inside the reservation window
TARGET = 2000
STATE_RATIO = 1.5


def start_emulator(state_file: Path | None) -> tuple[subprocess.Popen[str], int]:
    """Start the emulator process and return it with its port (from the banner)."""
    cmd = [
        sys.executable,
        "-m",
        "stock_manager.emulator",
        "--host",
        HOST,
        "--port",
        "0",
        "--no-rate-limit",
        "--clock",
        CLOCK,
        "--app-key",
        APP_KEY,
        "--app-secret",
        APP_SECRET,
        "--account",
        ACCOUNT,
        "--log-level",
        "error",
    ]
    if state_file is not None:
        cmd += ["--state-file", str(state_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if match:
            return proc, int(match.group(1))
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("emulator did not start")


def token(port: int) -> str:
    """Issue a token (retrying until uvicorn accepts)."""
    body = {"grant_type": "client_credentials", "appkey": APP_KEY, "appsecret": APP_SECRET}
    deadline = time.monotonic() + 10
    while True:
        try:
            r = httpx.post(f"http://{HOST}:{port}/oauth2/tokenP", json=body, timeout=5)
            return str(r.json()["access_token"])
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def header_block(tok: str, tr_id: str, **extra: str) -> str:
    """Request headers as raw HTTP lines."""
    headers = {
        "authorization": f"Bearer {tok}",
        "appkey": APP_KEY,
        "appsecret": APP_SECRET,
        "custtype": "P",
        "tr_id": tr_id,
        **extra,
    }
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items())


async def _read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    match = re.search(rb"content-length: (\d+)", head, re.I)
    assert match is not None
    return head, await reader.readexactly(int(match.group(1)))


async def place_many(port: int, tok: str, count: int, connections: int = 8) -> None:
    """Place ``count`` reservations over pipelined keep-alive connections."""
    cano, prdt = ACCOUNT.split("-")
    headers = header_block(tok, "CTSC0008U", **{"content-type": "application/json"})

    async def one_connection(n: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            batch = 50
            for start in range(0, n, batch):
                k = min(batch, n - start)
                for i in range(k):
                    body = json.dumps(
                        {
                            "CANO": cano,
                            "ACNT_PRDT_CD": prdt,
                            "PDNO": "005930",
                            "ORD_QTY": str(1 + (start + i) % 100),
                            "ORD_UNPR": "70000",
                            "SLL_BUY_DVSN_CD": "02",
                            "ORD_DVSN_CD": "00",
                            "ORD_OBJT_CBLC_DVSN_CD": "10",
                        }
                    ).encode()
                    writer.write(
                        f"POST {TRADING}/order-resv HTTP/1.1\r\nhost: {HOST}\r\n{headers}"
                        f"content-length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                for _ in range(k):
                    _head, content = await _read_response(reader)
                    if b'"rt_cd":"0"' not in content:
                        raise RuntimeError(content.decode(errors="replace"))
        finally:
            writer.close()

    share = [
        count // connections + (1 if i < count % connections else 0) for i in range(connections)
    ]
    await asyncio.gather(*(one_connection(n) for n in share if n))


def list_params(fk: str = "", nk: str = "") -> str:
    """Query string of the list call (all rows, non-cancelled)."""
    cano, prdt = ACCOUNT.split("-")
    params = {
        "RSVN_ORD_ORD_DT": "",
        "RSVN_ORD_END_DT": "",
        "RSVN_ORD_SEQ": "",
        "TMNL_MDIA_KIND_CD": "00",
        "CANO": cano,
        "ACNT_PRDT_CD": prdt,
        "PRCS_DVSN_CD": "0",
        "CNCL_YN": "Y",
        "PDNO": "",
        "SLL_BUY_DVSN_CD": "",
        "CTX_AREA_FK200": fk,
        "CTX_AREA_NK200": nk,
    }
    return f"{TRADING}/order-resv-ccnl?{urlencode(params)}"


def page_requests(port: int, tok: str, count: int) -> dict[str, bytes]:
    """Raw requests for the first page and the middle page (page count // 40)."""
    base = f"http://{HOST}:{port}"
    headers = {
        "authorization": f"Bearer {tok}",
        "appkey": APP_KEY,
        "appsecret": APP_SECRET,
        "custtype": "P",
        "tr_id": "CTSC0004R",
    }
    first = f"GET {list_params()} HTTP/1.1\r\nhost: {HOST}\r\n{header_block(tok, 'CTSC0004R')}\r\n"
    fk = nk = ""
    with httpx.Client(base_url=base, timeout=10) as client:
        for page in range(max(1, count // 40)):
            extra = {"tr_cont": "N"} if page else {}
            r = client.get(list_params(fk, nk), headers={**headers, **extra})
            data = r.json()
            assert len(data["output"]) == 20, data["msg_cd"]
            fk, nk = data["ctx_area_fk200"], data["ctx_area_nk200"]
    middle = (
        f"GET {list_params(fk, nk)} HTTP/1.1\r\nhost: {HOST}\r\n"
        f"{header_block(tok, 'CTSC0004R', tr_cont='N')}\r\n"
    )
    return {"first": first.encode(), "middle": middle.encode()}


async def worker(port: int, request: bytes, stop_at: float, counts: list[int]) -> None:
    """One keep-alive connection sending the request back to back."""
    reader, writer = await asyncio.open_connection(HOST, port)
    done = 0
    try:
        while time.monotonic() < stop_at:
            writer.write(request)
            head, content = await _read_response(reader)
            if not head.startswith(b"HTTP/1.1 200") or content.count(b'"rsvn_ord_seq"') != 20:
                raise RuntimeError(head.decode(errors="replace"))
            done += 1
    finally:
        counts.append(done)
        writer.close()


async def load(port: int, request: bytes, seconds: float, connections: int) -> float:
    """Run the load for ``seconds``; return requests per second."""
    counts: list[int] = []
    start = time.monotonic()
    stop_at = start + seconds
    await asyncio.gather(*(worker(port, request, stop_at, counts) for _ in range(connections)))
    return sum(counts) / (time.monotonic() - start)


def stop(proc: subprocess.Popen[str]) -> None:
    """Terminate an emulator process."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


def measure_size(
    count: int, tmp: Path, seconds: float, rounds: int, connections: int
) -> dict[str, dict[str, float]]:
    """Both storages for one size, interleaved round by round; median req/s per page.

    The machine is shared, so memory and --state are measured alternately in the same rounds
    (a load spike hits both) and the median of the rounds is reported.
    """
    procs: dict[str, tuple[subprocess.Popen[str], int]] = {}
    try:
        for storage in ("memory", "--state"):
            state = tmp / f"emu-{count}.sqlite" if storage == "--state" else None
            procs[storage] = start_emulator(state)
        prepared: dict[str, tuple[int, dict[str, bytes], float]] = {}
        for storage, (_, port) in procs.items():
            tok = token(port)
            t0 = time.monotonic()
            asyncio.run(place_many(port, tok, count))
            placed = count / (time.monotonic() - t0)
            prepared[storage] = (port, page_requests(port, tok, count), placed)
        samples: dict[tuple[str, str], list[float]] = {}
        for _ in range(rounds):
            for page in ("first", "middle"):
                for storage, (port, requests, _) in prepared.items():
                    asyncio.run(load(port, requests[page], 0.2, connections))  # warm-up
                    rate = asyncio.run(load(port, requests[page], seconds, connections))
                    samples.setdefault((storage, page), []).append(rate)
        return {
            storage: {
                "place": prepared[storage][2],
                "first": statistics.median(samples[storage, "first"]),
                "middle": statistics.median(samples[storage, "middle"]),
            }
            for storage in prepared
        }
    finally:
        for proc, _ in procs.values():
            stop(proc)


async def drive(app: Any, scope: dict[str, Any], n: int) -> bytes:
    """Call the ASGI app ``n`` times with ``scope``; return the last response body."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    for _ in range(n):
        sent.clear()
        await app(scope, receive, send)
    return bytes(sent[-1]["body"])


def app_cpu_us(count: int, state_file: Path | None, requests: int = 3000) -> dict[str, float]:
    """In-process CPU microseconds per list request (first and middle page), no sockets.

    Calls the ASGI app directly and reads ``time.process_time`` (minimum of 5 repeats), so
    other processes on the shared machine affect it less: this is the O(page) evidence, the
    socket figures are the throughput evidence.
    """
    from datetime import datetime

    from stock_manager.emulator import KST, EmulatorConfig, create_app
    from stock_manager.emulator.state import Reservation, Token

    cfg = EmulatorConfig(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        account=ACCOUNT,
        rate_limit_per_s=None,
        state_file=state_file,
        clock=lambda: datetime(2026, 12, 1, 18, 0, tzinfo=KST),
    )
    emu = create_app(cfg)
    try:
        with emu.state.lock:
            for i in range(count):
                emu.state.save_reservation(
                    Reservation(
                        seq=emu.state.next_seq(),
                        account=ACCOUNT,
                        pdno="005930",
                        qty=1 + i % 100,
                        unpr=70000,
                        sll_buy="02",
                        ord_dvsn="00",
                        objt_cblc="10",
                        loan_dt="",
                        end_dt="",
                        ldng_dt="",
                        ctac_tlno="",
                        rcit_dt="20261201",
                        rcit_tmd="180000",
                        ord_dt="20261202",
                    )
                )
        ts = emu.clock.timestamp()
        emu.state.save_token(Token("bench-token", APP_KEY, ts, ts + 86400))
        seqs = emu.state.seqs_by_account[ACCOUNT]
        fk = "!^null!^0!^Y!^!^"
        queries = {
            "first": list_params().split("?", 1)[1],
            "middle": list_params(fk, f"{seqs[count // 2]}!^20261202!^").split("?", 1)[1],
        }
        out: dict[str, float] = {}
        for page, query in queries.items():
            headers = [
                (k.encode(), v.encode())
                for k, v in {
                    "authorization": "Bearer bench-token",
                    "appkey": APP_KEY,
                    "appsecret": APP_SECRET,
                    "custtype": "P",
                    "tr_id": "CTSC0004R",
                    "tr_cont": "N" if page == "middle" else "",
                }.items()
            ]
            scope = {
                "type": "http",
                "method": "GET",
                "path": f"{TRADING}/order-resv-ccnl",
                "query_string": query.encode(),
                "headers": headers,
            }
            last = asyncio.run(drive(emu.app, scope, 200))
            assert last.count(b'"rsvn_ord_seq"') == 20
            best = float("inf")
            for _ in range(5):  # minimum of 5 repeats: the usual guard against noise
                t0 = time.process_time()
                asyncio.run(drive(emu.app, scope, requests))
                best = min(best, time.process_time() - t0)
            out[page] = best / requests * 1e6
        return out
    finally:
        emu.close()


def main() -> None:
    """Parse options, run every configuration, print the table and the verdicts."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=1.5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--sizes", default="100,1000,10000")
    args = p.parse_args()
    try:
        import uvloop

        uvloop.install()  # faster load generator
    except ImportError:  # pragma: no cover
        pass
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[tuple[int, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as tmp:
        for count in sizes:
            by_storage = measure_size(count, Path(tmp), args.seconds, args.rounds, args.connections)
            for storage, figures in by_storage.items():
                results[count, storage] = figures
    print(
        f"median of {args.rounds} interleaved rounds of {args.seconds} s, {args.connections} conns"
    )
    print(f"{'stored':>7} {'storage':>8} {'place/s':>8} {'first req/s':>12} {'middle req/s':>13}")
    for (count, storage), r in sorted(results.items()):
        print(
            f"{count:>7} {storage:>8} {r['place']:>8.0f} {r['first']:>12.0f} {r['middle']:>13.0f}"
        )
    largest = max(sizes)
    for storage in ("memory", "--state"):
        for page in ("first", "middle"):
            rate = results[largest, storage][page]
            print(
                f"{largest} stored, {storage}, {page} page: {rate:.0f} req/s "
                f"(target >= {TARGET}) {'OK' if rate >= TARGET else 'BELOW TARGET'}"
            )
    for page in ("first", "middle"):
        ratio = results[largest, "memory"][page] / results[largest, "--state"][page]
        print(
            f"memory / --state, {page} page at {largest}: {ratio:.2f}x "
            f"(--state within {STATE_RATIO}x of memory: "
            f"{'OK' if ratio <= STATE_RATIO else 'NO'})"
        )
    print("in-process CPU per list request (ASGI app only, process_time, min of 5 x 3000):")
    print(f"{'stored':>7} {'storage':>8} {'first us':>9} {'middle us':>10}")
    cpu: dict[tuple[int, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-emulator-cpu-") as tmp:
        for count in sizes:
            for storage in ("memory", "--state"):
                state = Path(tmp) / f"cpu-{count}.sqlite" if storage == "--state" else None
                cpu[count, storage] = c = app_cpu_us(count, state)
                print(f"{count:>7} {storage:>8} {c['first']:>9.0f} {c['middle']:>10.0f}")
    for page in ("first", "middle"):
        small, large = cpu[min(sizes), "memory"][page], cpu[largest, "memory"][page]
        print(
            f"{page} page CPU, memory: {largest} stored / {min(sizes)} stored = "
            f"{large / small:.2f}x (about 1.0x when a page costs O(page))"
        )
        ratio = cpu[largest, "--state"][page] / cpu[largest, "memory"][page]
        print(f"{page} page CPU at {largest}: --state / memory = {ratio:.2f}x")


if __name__ == "__main__":
    main()
