"""Throughput of the emulator's reservation list endpoint (GET order-resv-ccnl, 20 rows).

Starts ``python -m stock_manager.emulator --port 0 --no-rate-limit`` in a separate process,
issues a token, places 20 reservations, then drives the list endpoint from a raw-socket
asyncio keep-alive load generator (cheap enough that it is not the bottleneck on 2 cores)
for a few seconds and prints requests/second. Only ever talks to 127.0.0.1.

Run: ``.venv/bin/python bench/bench_emulator.py [--seconds 5] [--connections 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import time
from urllib.parse import urlencode

import httpx

HOST = "127.0.0.1"
APP_KEY = "PSEMUbenchappkey0000000000000000000"
APP_SECRET = "bench-secret"
ACCOUNT = "50000000-01"
TRADING = "/uapi/domestic-stock/v1/trading"
TARGET = 1000


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    """Start the emulator process and return it with its base URL (from the banner)."""
    cmd = [
        sys.executable,
        "-m",
        "stock_manager.emulator",
        "--host",
        HOST,
        "--port",
        "0",
        "--no-rate-limit",
        "--app-key",
        APP_KEY,
        "--app-secret",
        APP_SECRET,
        "--account",
        ACCOUNT,
        "--log-level",
        "error",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return proc, match.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("emulator did not start")


def prepare(base_url: str) -> tuple[str, str]:
    """Token + 20 reservations; returns (path with query, header block) for the list call."""
    cano, prdt = ACCOUNT.split("-")
    with httpx.Client(base_url=base_url, timeout=5) as client:
        deadline = time.monotonic() + 5
        while True:  # the socket is listening before uvicorn accepts; retry briefly
            try:
                r = client.post(
                    "/oauth2/tokenP",
                    json={
                        "grant_type": "client_credentials",
                        "appkey": APP_KEY,
                        "appsecret": APP_SECRET,
                    },
                )
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        token = r.json()["access_token"]
        headers = {
            "authorization": f"Bearer {token}",
            "appkey": APP_KEY,
            "appsecret": APP_SECRET,
            "custtype": "P",
        }
        for i in range(20):
            body = {
                "CANO": cano,
                "ACNT_PRDT_CD": prdt,
                "PDNO": "005930",
                "ORD_QTY": str(i + 1),
                "ORD_UNPR": "70000",
                "SLL_BUY_DVSN_CD": "02",
                "ORD_DVSN_CD": "00",
                "ORD_OBJT_CBLC_DVSN_CD": "10",
            }
            r = client.post(
                f"{TRADING}/order-resv", json=body, headers={**headers, "tr_id": "CTSC0008U"}
            )
            assert r.json()["rt_cd"] == "0", r.text
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
            "CTX_AREA_FK200": "",
            "CTX_AREA_NK200": "",
        }
        path = f"{TRADING}/order-resv-ccnl?{urlencode(params)}"
        r = client.get(path, headers={**headers, "tr_id": "CTSC0004R"})
        assert len(r.json()["output"]) == 20, r.text
    header_block = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "tr_id": "CTSC0004R"}.items())
    return path, header_block


async def worker(port: int, request: bytes, stop_at: float, counts: list[int]) -> None:
    """One keep-alive connection sending the request back to back."""
    reader, writer = await asyncio.open_connection(HOST, port)
    done = 0
    try:
        while time.monotonic() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
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


def main() -> None:
    """Parse options, run the benchmark, print the figure."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--connections", type=int, default=16)
    args = p.parse_args()
    seconds = min(args.seconds, 12.0)  # the whole run must end within ~20 s
    proc, base_url = start_emulator()
    try:
        path, header_block = prepare(base_url)
        port = int(base_url.rsplit(":", 1)[1])
        request = (f"GET {path} HTTP/1.1\r\nhost: {HOST}:{port}\r\n{header_block}\r\n").encode()
        try:
            import uvloop

            uvloop.install()  # faster generator; uvloop ships with uvicorn[standard]
        except ImportError:  # pragma: no cover
            pass
        rate = asyncio.run(load(port, request, seconds, args.connections))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
    verdict = "OK" if rate >= TARGET else "BELOW TARGET"
    print(f"emulator list endpoint: {rate:.0f} req/s (target >= {TARGET}) {verdict}")


if __name__ == "__main__":
    main()
