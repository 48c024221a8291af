"""Per-request overhead of ``KISRestClient`` over a bare ``httpx.Client``.

A tiny KIS stand-in runs on 127.0.0.1 in a child process (so it does not compete with the
measured code for the GIL). Both sides send the same GET (headers, query) to the same endpoint
and parse the JSON reply; they are measured interleaved, in alternating blocks, and the median
block is reported::

    .venv/bin/python bench/bench_client_overhead.py [--rounds 9] [--block 200] [--profile]

The rate limiter is effectively off (``RateLimiter(1e9, margin=0)``) and the journal is off,
so the figure is the client's own cost: TR_ID resolution, token look-up, flow driving, envelope
classification and case-insensitive wrapping of the body. Prints; never fails on the target.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis import constants as C
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter

PATH = "/uapi/domestic-stock/v1/trading/order-resv-ccnl"
APP_KEY = "PSbenchKEY0123456789abcdefghijklmnop"
APP_SECRET = "bench-secret-" + "s" * 100
TARGET = 1.3

PARAMS = {
    "RSVN_ORD_ORD_DT": "20260101",
    "RSVN_ORD_END_DT": "20260131",
    "RSVN_ORD_SEQ": "",
    "TMNL_MDIA_KIND_CD": "00",
    "CANO": "12345678",
    "ACNT_PRDT_CD": "01",
    "PRCS_DVSN_CD": "0",
    "CNCL_YN": "Y",
    "PDNO": "",
    "SLL_BUY_DVSN_CD": "",
    "CTX_AREA_FK200": "",
    "CTX_AREA_NK200": "",
}

_ENVELOPE = json.dumps(
    {
        "rt_cd": "0",
        "msg_cd": "KIOK0460",
        "msg1": "조회 되었습니다. (마지막 자료)",
        "ctx_area_fk200": "",
        "ctx_area_nk200": "",
        "output": [
            {"rsvn_ord_seq": "42401", "pdno": "005940", "ord_rsvn_qty": "1", "prcs_rslt": "미처리"}
        ],
    }
).encode()
_TOKEN = json.dumps(
    {
        "access_token": "bench-token",
        "token_type": "Bearer",
        "expires_in": 86400,
        "access_token_token_expired": "2099-12-31 23:59:59",
    }
).encode()


# --- the server (child process) ---------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(_ENVELOPE, {"tr_id": "CTSC0004R", "tr_cont": "D"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._reply(_TOKEN)


def serve() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


# --- the measurement --------------------------------------------------------------------------
def _raw_block(http: httpx.Client, url: str, headers: dict[str, str], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        r = http.get(url, params=PARAMS, headers=headers)
        body = r.json()
        if body["rt_cd"] != "0":
            raise RuntimeError("raw request failed")
    return (time.perf_counter() - start) / n * 1e6


def _client_block(client: KISRestClient, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        resp = client.make_request("GET", PATH, PARAMS)
        if resp.rt_cd != "0":
            raise RuntimeError("client request failed")
    return (time.perf_counter() - start) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--block", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="cProfile the client side")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0

    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            config = KISConfig(
                kis_app_key=APP_KEY,
                kis_app_secret=APP_SECRET,
                kis_account_no="12345678-01",
                base_url=base,
                token_cache_dir=Path(tmp) / "tokens",
                journal=False,
            )
            timeout = httpx.Timeout(
                connect=C.CONNECT_TIMEOUT_S,
                read=C.READ_TIMEOUT_S,
                write=C.WRITE_TIMEOUT_S,
                pool=C.POOL_TIMEOUT_S,
            )
            with (
                KISRestClient(config, limiter=RateLimiter(1e9, margin=0)) as client,
                httpx.Client(timeout=timeout) as raw,
            ):
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
                url = base + PATH
                _raw_block(raw, url, headers, 50)  # warm up both connections
                _client_block(client, 50)
                raw_us: list[float] = []
                kis_us: list[float] = []
                for i in range(args.rounds):
                    # Alternate which side goes first so drift hits both equally.
                    if i % 2 == 0:
                        raw_us.append(_raw_block(raw, url, headers, args.block))
                        kis_us.append(_client_block(client, args.block))
                    else:
                        kis_us.append(_client_block(client, args.block))
                        raw_us.append(_raw_block(raw, url, headers, args.block))
                raw_med = statistics.median(raw_us)
                kis_med = statistics.median(kis_us)
                ratio = kis_med / raw_med
                print(
                    f"client overhead: raw {raw_med:.0f} us/req,"
                    f" KISRestClient {kis_med:.0f} us/req, ratio {ratio:.2f}x (target <= {TARGET}x)"
                    f"  [{args.rounds} rounds x {args.block} req, medians;"
                    f" extra {kis_med - raw_med:.0f} us/req]"
                )
                if args.profile or ratio > TARGET:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    _client_block(client, args.block * 2)
                    profiler.disable()
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
                    print(out.getvalue())
    finally:
        proc.terminate()
        proc.wait(5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
