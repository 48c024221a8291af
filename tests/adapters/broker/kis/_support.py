"""Test doubles for the KIS client tests: a fake clock, a sleep recorder and a fake KIS server.

``FakeKIS`` is an ``httpx.MockTransport`` handler (sync and async) that answers ``tokenP``,
``revokeP`` and ``hashkey`` itself and serves scripted replies for every other path. Nothing
here opens a socket except :class:`LocalKISServer`, which binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

APP_KEY = "PSappkeyTESTabcdefghijklmnopqrstuvwx"
APP_SECRET = "SeCrEt-TEST-7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d"
ACCOUNT = "12345678-01"
CANO = "12345678"
TOKEN_PREFIX = "eyTESTACCESSTOKEN"

#: 2026-01-01 00:00:00 UTC (= 09:00 KST): the fake clock's default start.
T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
FAR_EXPIRY_KST = "2099-12-31 23:59:59"

RESV = "/uapi/domestic-stock/v1/trading/order-resv"
RESV_RVSECNCL = "/uapi/domestic-stock/v1/trading/order-resv-rvsecncl"
RESV_CCNL = "/uapi/domestic-stock/v1/trading/order-resv-ccnl"
RVSECNCL = "/uapi/domestic-stock/v1/trading/order-rvsecncl"
PSBL = "/uapi/domestic-stock/v1/trading/inquire-psbl-rvsecncl"

ORDER_PARAMS: dict[str, str] = {
    "cano": CANO,
    "acnt_prdt_cd": "01",
    "pdno": "005930",
    "ord_qty": "1",
    "ord_unpr": "70000",
    "sll_buy_dvsn_cd": "02",
    "ord_dvsn_cd": "00",
    "ord_objt_cblc_dvsn_cd": "10",
}
INQUIRY_PARAMS: dict[str, str] = {
    "RSVN_ORD_ORD_DT": "20260101",
    "RSVN_ORD_END_DT": "20260131",
    "RSVN_ORD_SEQ": "",
    "TMNL_MDIA_KIND_CD": "00",
    "CANO": CANO,
    "ACNT_PRDT_CD": "01",
    "PRCS_DVSN_CD": "0",
    "CNCL_YN": "Y",
    "PDNO": "",
    "SLL_BUY_DVSN_CD": "",
}


class FakeClock:
    """A settable epoch clock."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SleepRecorder:
    """Records sleeps instead of sleeping; optionally advances a :class:`FakeClock`."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.calls: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self(seconds)


def envelope(
    rt_cd: str = "0",
    msg_cd: str = "KIOK0000",
    msg1: str = "정상처리 되었습니다.",
    **extra: Any,
) -> dict[str, Any]:
    """A KIS REST envelope."""
    return {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1, **extra}


def kis_json(
    status: int = 200, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    """An ``httpx.Response`` carrying ``envelope(**body)``."""
    return httpx.Response(status, json=envelope(**body), headers=headers)


def gateway_error(code: str, msg1: str = "gateway says no", status: int = 500) -> httpx.Response:
    """A gateway refusal in the normal envelope (KIS sends these as HTTP 500)."""
    return httpx.Response(status, json=envelope(rt_cd="1", msg_cd=code, msg1=msg1))


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeKIS:
    """Scripted KIS server for ``httpx.MockTransport``.

    ``script(path, *replies)`` queues replies for a path; when a queue is empty the path's
    ``default`` answers (a success envelope). A reply that is an exception is raised (with the
    request attached for httpx errors), a callable is called with the request.
    """

    def __init__(self, *, expired_kst: str = FAR_EXPIRY_KST, token_delay: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.requests: list[httpx.Request] = []
        self.token_requests: list[httpx.Request] = []
        self.revoke_requests: list[httpx.Request] = []
        self.hashkey_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.scripts: dict[str, list[Reply]] = defaultdict(list)
        self.token_replies: list[Reply] = []
        self.revoke_replies: list[httpx.Response] = []
        self.expired_kst = expired_kst
        self.token_delay = token_delay
        self.issued = 0
        self.on_api: Callable[[httpx.Request], None] | None = None
        self.defaults: dict[str, Callable[[httpx.Request], httpx.Response]] = {}

    # --- scripting ----------------------------------------------------------------------------
    def script(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.scripts[path].extend(replies)

    def api_count(self, path: str | None = None) -> int:
        return sum(1 for r in self.api_requests if path is None or r.url.path == path)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def token_for(self, n: int) -> str:
        return f"{TOKEN_PREFIX}.{n:04d}.sig"

    # --- the server ---------------------------------------------------------------------------
    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        path = request.url.path
        with self.lock:
            self.requests.append(request)
            if path == "/oauth2/tokenP":
                self.token_requests.append(request)
                reply: Reply | None = self.token_replies.pop(0) if self.token_replies else None
            elif path == "/oauth2/revokeP":
                self.revoke_requests.append(request)
                reply = (
                    self.revoke_replies.pop(0)
                    if self.revoke_replies
                    else httpx.Response(200, json={"code": 200, "message": "접근토큰 폐기 성공"})
                )
            elif path == "/uapi/hashkey":
                self.hashkey_requests.append(request)
                reply = httpx.Response(
                    200, json={"BODY": json.loads(request.content), "HASH": "HASH" + "ab" * 30}
                )
            else:
                self.api_requests.append(request)
                queue = self.scripts.get(path)
                reply = queue.pop(0) if queue else None
        if path == "/oauth2/tokenP" and reply is None:
            if self.token_delay:
                time.sleep(self.token_delay)
            with self.lock:
                self.issued += 1
                n = self.issued
            return httpx.Response(
                200,
                json={
                    "access_token": self.token_for(n),
                    "token_type": "Bearer",
                    "expires_in": 86400,
                    "access_token_token_expired": self.expired_kst,
                },
            )
        if path not in {"/oauth2/tokenP", "/oauth2/revokeP", "/uapi/hashkey"} and self.on_api:
            self.on_api(request)
        if reply is None:
            default = self.defaults.get(path)
            return default(request) if default else kis_json(output={"ODNO": "0000001"})
        if isinstance(reply, httpx.Response):
            return reply
        if isinstance(reply, httpx.RequestError):
            reply._request = request
            raise reply
        if isinstance(reply, Exception):
            raise reply
        return reply(request)


# --- a real HTTP server on 127.0.0.1 for multi-process tests ------------------------------
class _Handler(BaseHTTPRequestHandler):
    server: _CountingServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        if self.path == "/oauth2/tokenP":
            with self.server.lock:
                self.server.token_calls += 1
                n = self.server.token_calls
            time.sleep(self.server.token_delay)
            self._reply(
                {
                    "access_token": f"{TOKEN_PREFIX}.proc{n}.sig",
                    "token_type": "Bearer",
                    "expires_in": 86400,
                    "access_token_token_expired": FAR_EXPIRY_KST,
                }
            )
        else:
            self._reply(envelope(output={"ODNO": "1"}))

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.api_calls += 1
            self.server.authorizations.append(self.headers.get("authorization", ""))
        self._reply(envelope(output=[{"rsvn_ord_seq": "1"}]))


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, token_delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.token_calls = 0
        self.api_calls = 0
        self.authorizations: list[str] = []
        self.token_delay = token_delay


@contextmanager
def local_kis_server(token_delay: float = 0.2) -> Iterator[_CountingServer]:
    """A tiny KIS stand-in on 127.0.0.1 (random port) served from a thread."""
    server = _CountingServer(token_delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def complete(path: str, action: str | None = None, **values: str) -> dict[str, str]:
    """Every required field of the API at ``path`` (for ``action``) with a valid dummy value.

    Tests about retries, tokens or headers do not care about the body; the client refuses a
    request that lacks a required field, so they send this.
    """
    from stock_manager.adapters.broker.kis import CATALOG

    spec = CATALOG.by_path(path)
    assert spec is not None, path
    out: dict[str, str] = {}
    for f in spec.fields:
        if f.required and f.applies_to(action if spec.actions else None):
            first = next(iter(f.allowed), "1") if f.allowed else "1"
            out[f.name] = first[: f.length] if f.length else first
    out.update({k.upper(): v for k, v in values.items()})
    return out
