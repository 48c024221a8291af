"""The emulator object and its ASGI entry point.

:class:`Emulator` owns the clock, state, fault registry and request log, and ``.app`` is the
ASGI application (usable with uvicorn or ``httpx.ASGITransport``). Starlette provides request
parsing and responses; routing is a dict lookup on the endpoint table to keep the hot path
(the benchmarked list endpoint) short.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import socket
import struct
from datetime import datetime
from typing import Any

import httpx
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from stock_manager.emulator import admin
from stock_manager.emulator.clock import EmulatorClock
from stock_manager.emulator.config import KST, NEW_KEY_LIMIT_PER_S, AppKey, EmulatorConfig
from stock_manager.emulator.endpoints import BY_PATH, Endpoint
from stock_manager.emulator.faults import Fault, FaultRegistry, gateway_error_body
from stock_manager.emulator.gateway import (
    RateLimiter,
    Reject,
    canonical_hash,
    check_app_key,
    check_custtype,
    check_host,
    check_token,
    check_tr_id,
    reject,
)
from stock_manager.emulator.handlers import Ctx, RawRows, Reply, process_day
from stock_manager.emulator.krx_calendar import KrxCalendar
from stock_manager.emulator.market import HANDLERS as MARKET_HANDLERS
from stock_manager.emulator.market import market_of
from stock_manager.emulator.messages import MESSAGES, envelope, pad_msg
from stock_manager.emulator.openapi import build_openapi
from stock_manager.emulator.orders import fill_order  # also serves inquire-daily-ccld
from stock_manager.emulator.requestlog import RequestLog, RequestRecord, stamp_admission
from stock_manager.emulator.routes import HANDLERS
from stock_manager.emulator.state import EmulatorState, Token
from stock_manager.emulator.store_sqlite import SqliteStore
from stock_manager.emulator.wire import DETAIL_HEADER, HTML_TYPE, send_bytes
from stock_manager.emulator.ws import APPROVAL_PATH, NoticeHub

log = logging.getLogger("stock_manager.emulator")
for _name, _handler in MARKET_HANDLERS.items():
    HANDLERS.setdefault(_name, _handler)  # never replace a handler the core serves itself

JSON_TYPE = "application/json; charset=utf-8"
SAME_TOKEN_WINDOW_S = 6 * 3600  # KIS returns the previous token when re-issued within 6 h
HTML_ERROR = (
    "<html><head><title>{status} Error</title></head><body><center><h1>{status} Error</h1>"
    "</center><hr><center>KIS emulator</center></body></html>"
)


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON (Korean text unescaped, as KIS sends it).

    List pages carry their rows pre-serialised (:class:`RawRows`); those bytes are spliced in
    instead of encoding 20 dicts again on every request.
    """
    out = body.get("output") if isinstance(body, dict) else None
    if isinstance(out, RawRows):
        head = {k: v for k, v in body.items() if k != "output"}
        encoded = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return b"".join((encoded[:-1], b',"output":[', b",".join(out.raw), b"]}"))
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Emulator:
    """A KIS-compatible REST emulator instance (see the package docstring)."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig.demo()
        self.clock = EmulatorClock(self.config.clock, self.config.budget_clock)
        if self.config.start_at is not None:
            # A running clock that starts at start_at (emulator serve --clock ...).
            self.clock.advance((self.config.start_at - self.clock.now()).total_seconds())
        self.calendar = KrxCalendar(self.config.closed_days, self.config.late_days)
        self.keys = self.config.key_table()
        store = SqliteStore(self.config.state_file) if self.config.state_file else None
        self.state = EmulatorState(store)
        market_of(self.state).seed(self.config)  # listed quotes, every account's cash
        self.faults = FaultRegistry()
        self.requests = RequestLog()
        self.limiter = RateLimiter(self.config.rate_limit)
        self.token_limiter = RateLimiter(self.config.token_rate_per_s)
        self.ledger_limiter = RateLimiter(self.config.ledger_limit_per_s)
        seed = self.config.seed
        self._rng: random.Random = (
            random.Random(seed) if seed is not None else random.SystemRandom()
        )
        self._openapi: dict[str, Any] | None = None
        #: WebSocket approval keys, sessions and execution notices (ws.py).
        self.notices = NoticeHub(
            self.config, self.keys, self.state, self.faults, self.clock.now, self.clock.budget_time
        )
        self.stopping = False
        self.app: ASGIApp = self._asgi

    # --- Python control surface --------------------------------------------------------
    def process_day(
        self, outcomes: dict[str, str] | None = None, default: str = "filled"
    ) -> list[dict[str, str]]:
        """Turn every pending reservation into an ordinary order (see handlers.process_day).

        Reservations the market data says KIS would reject (off tick, outside the band, funds,
        holdings; see market.py) are rejected with their own ``rjct_rson2``.
        """
        market = market_of(self.state)
        now = self.clock.now()
        reasons = market.rejections(self.state, now)
        merged = {**{s: "rejected" for s in reasons}, **(outcomes or {})}
        reasons = {s: why for s, why in reasons.items() if merged.get(s) == "rejected"}
        results = process_day(self.state, now, merged, default, self.calendar)
        market.apply_reasons(self.state, reasons)
        for item in results:
            if item["seq"] in reasons:
                item["reason"] = reasons[item["seq"]]
            order = self.state.orders.get(item["odno"]) if item["outcome"] != "rejected" else None
            if order is not None and order.source_seq == int(item["seq"]):
                # The day's order of this reservation: its fills move holdings and cash.
                market.apply_fill(
                    order.account, order.pdno, order.sll_buy, order.tot_ccld_qty, order.tot_ccld_amt
                )
        self.notices.sync(reservations=True)
        return results

    def budget(self, key: AppKey) -> int:
        """Requests per second allowed for ``key``.

        The primary key follows ``limiter.limit`` (so a test or tool that changes it at run
        time is obeyed); other keys carry their own budget.
        """
        if key.app_key != self.config.app_key:
            return key.rate_limit
        base = self.limiter.limit
        return min(base, NEW_KEY_LIMIT_PER_S) if key.new_key and base > 0 else base

    def fill_order(self, odno: str, qty: int, price: int | None = None) -> dict[str, Any]:
        """Fill more of an open ordinary order now (see :func:`orders.fill_order`)."""
        order = fill_order(self.state, odno, qty, price)
        at = price if price is not None else order.unpr
        market_of(self.state).apply_fill(order.account, order.pdno, order.sll_buy, qty, qty * at)
        self.notices.sync()
        return order.doc()

    @property
    def token_issuances(self) -> int:
        """Successful tokenP responses so far (same-token re-issues included)."""
        return self.state.token_issuances

    def expire_tokens(self) -> int:
        """Expire every issued token now; returns how many were live."""
        now = self.clock.timestamp()
        expired = 0
        with self.state.lock:
            for t in list(self.state.tokens.values()):
                if t.expires_at > now:
                    t.expires_at = now
                    self.state.save_token(t)
                    expired += 1
        return expired

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3 document describing the served APIs."""
        if self._openapi is None:
            self._openapi = build_openapi(self.config)
        return self._openapi

    def close(self) -> None:
        """Release resources (the SQLite connection)."""
        self.state.close()

    # --- ASGI --------------------------------------------------------------------------
    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path: str = scope["path"]
        if scope["type"] == "websocket":
            if path in ("/", "/tryitout") or path.startswith("/tryitout/"):
                await self.notices.serve(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            return
        if path.startswith("/_emulator") or path == "/openapi.json":
            await admin.handle(self, scope, receive, send)
            return
        if path == APPROVAL_PATH and scope["method"] == "POST":
            raw = await Request(scope, receive).body()
            status, doc = self.notices.approval(raw)
            await self._send_json(send, status, dumps(doc), {})
            self._log("POST", path, "Approval", "", status, doc, "")
            return
        await self._serve(scope, receive, send, path)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        method: str = scope["method"]
        request = Request(scope, receive)
        headers = request.headers
        tr_id = headers.get("tr_id", "")
        ep = BY_PATH.get(path)
        if ep is None or ep.method != method:
            extra = {DETAIL_HEADER: f"no such route: {method} {path}"}
            if ep is not None:
                status, body = envelope("EGW00101")
                status = 405
            elif path.startswith("/uapi/"):
                # A KIS API the emulator does not serve: say so instead of pretending KIS
                # has no such service.
                status, body = envelope("EMU00501")
                extra[DETAIL_HEADER] = f"not emulated: {method} {path}"
            else:
                status, body = envelope("OPSQ0002")
                status = 404
            await self._send_json(send, status, dumps(body), extra)
            self._log(method, path, "", tr_id, status, body, "")
            return
        fault = self.faults.take(path, ep.name, tr_id)
        raw = await request.body() if method == "POST" else b""
        if fault is not None and fault.kind == "late_commit":
            await self._late_commit(fault, receive, ep, headers, request, raw, tr_id)
            return
        if fault is not None and await self._pre_fault(fault, scope, receive, send, ep, tr_id):
            return
        status, body, extra = self._process(ep, headers, request, raw)
        if method == "POST" and status == 200:
            self.notices.sync()  # an order, modify or cancel: its acceptance notice
        content = dumps(body)
        if fault is not None and await self._post_fault(
            fault, scope, receive, send, ep, tr_id, status, body, content
        ):
            return
        await self._send_json(send, status, content, extra)
        self._log(method, path, ep.name, tr_id, status, body, fault.kind if fault else "")

    def _log(
        self,
        method: str,
        path: str,
        name: str,
        tr_id: str,
        status: int,
        body: dict[str, Any] | None,
        fault: str,
    ) -> None:
        msg_cd = ""
        if body:
            msg_cd = str(body.get("msg_cd") or body.get("error_code") or "")
        self.requests.append(
            RequestRecord(method, path, name, tr_id, status, msg_cd, self.clock.timestamp(), fault)
        )

    # --- request processing (synchronous, atomic under the state lock) -----------------
    def _process(self, ep: Endpoint, headers: Headers, request: Request, raw: bytes) -> Reply:
        try:
            with self.state.lock:
                now = self.clock.now()
                if ep.name == "tokenP":
                    return self._token(raw, now)
                if ep.name == "revokeP":
                    return self._revoke(raw)
                if ep.name == "hashkey":
                    return self._hashkey(headers, raw)
                return self._gated(ep, headers, request, raw, now)
        except Reject as r:
            return r.status, r.body, ({DETAIL_HEADER: r.detail} if r.detail else {})
        except Exception:
            # Never leak a traceback or a bare 500: answer with the KIS server-error envelope.
            log.exception("emulator: unexpected error on %s", ep.path)
            status, body = envelope("EGW00002")
            return status, body, {}

    def _gated(
        self, ep: Endpoint, headers: Headers, request: Request, raw: bytes, now: datetime
    ) -> Reply:
        ts = now.timestamp()
        key = check_app_key(headers, self.keys, self.config.mode)
        app_key = key.app_key
        check_token(headers, self.state, app_key, ts)
        stamp_admission(ts)  # the instant the rate gate below counts (request log, #9)
        budget = self.budget(key)
        real = self.clock.budget_time()  # budgets count real seconds, even on a frozen clock
        if not self.limiter.allow(app_key, real, budget):
            raise reject("EGW00201", f"{budget}/s budget of this app key")
        if ep.ledger and not self.ledger_limiter.allow(app_key, real):
            raise reject("EGW00215", f"ledger limit {self.config.ledger_limit_per_s}/s")
        check_custtype(headers, ep)
        tr_id = check_tr_id(headers, ep, self.config)
        data: Any
        if ep.request_in == "body":
            data = _parse_body(raw)
            hashkey = headers.get("hashkey")
            if hashkey and hashkey != canonical_hash(data):
                raise reject("EGW00131", "hashkey does not match the body")
        else:
            data = request.query_params
        ctx = Ctx(
            self.config,
            self.state,
            now,
            tr_id,
            headers.get("tr_cont", ""),
            data,
            self.calendar,
            key.accounts,
        )
        try:
            status, body, extra = HANDLERS[ep.name](ctx)
        except Reject as r:
            # Business answers of inquiry (GET) services carry the padded msg1, like KIS.
            if method_is_inquiry(ep):
                r.body["msg1"] = pad_msg(str(r.body.get("msg1", "")))
            raise
        if method_is_inquiry(ep) and "msg1" in body:
            body["msg1"] = pad_msg(str(body["msg1"]))
        extra["tr_id"] = tr_id
        gt_uid = headers.get("gt_uid")
        if gt_uid:
            extra["gt_uid"] = gt_uid
        return status, body, extra

    def _token_error(self, code: str) -> Reply:
        msg = MESSAGES[code]
        return 403, {"error_code": code, "error_description": msg.text}, {}

    def _token(self, raw: bytes, now: datetime) -> Reply:
        try:
            data = _parse_body(raw)
        except Reject:
            return self._token_error("EGW00101")
        cfg = self.config
        if data.get("grant_type") != "client_credentials":
            return self._token_error("EGW00101")
        app_key = data.get("appkey")
        if not app_key:
            return self._token_error("EGW00102")
        key = self.keys.get(str(app_key))
        if key is None:
            return self._token_error("EGW00103")
        if data.get("appsecret") != key.app_secret:
            return self._token_error("EGW00105")
        try:
            check_host(key, cfg.mode)
        except Reject as r:
            return self._token_error(str(r.body["msg_cd"]))
        ts = now.timestamp()
        real = self.clock.budget_time()
        # tokenP: 1 call/s of its own (KIS notice 2025-08-07) and part of the key's budget.
        # Both follow the master switch: rate_limit_per_s=None / --no-rate-limit turns them off.
        limited = self.limiter.limit > 0
        if (limited and not self.token_limiter.allow(key.app_key, real)) or not self.limiter.allow(
            key.app_key, real, self.budget(key)
        ):
            return self._token_error("EGW00201")
        last = self.state.last_issue.get(app_key)
        interval = cfg.token_issue_interval_s
        if interval and last is not None and ts - last < interval:
            return self._token_error("EGW00133")
        reuse = [
            t
            for t in self.state.tokens.values()
            if t.app_key == app_key
            and not t.revoked
            and t.expires_at > ts
            and ts - t.issued_at < SAME_TOKEN_WINDOW_S
        ]
        if reuse:
            token = max(reuse, key=lambda t: t.issued_at)
        else:
            token = Token(self._new_token(app_key, ts), app_key, ts, ts + cfg.token_lifetime_s)
            self.state.save_token(token)
        self.state.record_issuance(app_key, ts, new_token=not reuse)
        expires = datetime.fromtimestamp(token.expires_at, KST)
        body = {
            "access_token": token.token,
            "access_token_token_expired": expires.strftime("%Y-%m-%d %H:%M:%S"),
            "token_type": "Bearer",
            "expires_in": int(token.expires_at - ts),
        }
        return 200, body, {}

    def _new_token(self, app_key: str, ts: float) -> str:
        # JWT-shaped (KIS tokens are JWTs) but signed with nothing: clients must treat it opaque.
        header = _b64(b'{"typ":"JWT","alg":"HS512"}')
        claims = {
            "sub": "emulator",
            "aud": self._rng.getrandbits(64).to_bytes(8, "big").hex(),
            "iss": "kis-emulator",
            "prdt_cd": "",
            "iat": int(ts),
            "exp": int(ts + self.config.token_lifetime_s),
            "jti": app_key,
        }
        sig = _b64(self._rng.getrandbits(512).to_bytes(64, "big"))
        return f"{header}.{_b64(dumps(claims))}.{sig}"

    def _revoke(self, raw: bytes) -> Reply:
        try:
            data = _parse_body(raw)
        except Reject:
            return self._token_error("EGW00101")
        key = self.keys.get(str(data.get("appkey", "")))
        if key is None:
            return self._token_error("EGW00103")
        if data.get("appsecret") != key.app_secret:
            return self._token_error("EGW00105")
        token = self.state.tokens.get(str(data.get("token", "")))
        if token is None or token.revoked:
            return self._token_error("EGW00121")
        token.revoked = True
        self.state.save_token(token)
        return 200, {"code": 200, "message": "접근토큰 폐기에 성공하였습니다"}, {}

    def _hashkey(self, headers: Headers, raw: bytes) -> Reply:
        key = check_app_key(headers, self.keys, self.config.mode)
        # KIS counts hashkey calls against the key's per-second budget.
        if not self.limiter.allow(key.app_key, self.clock.budget_time(), self.budget(key)):
            raise reject("EGW00201", "hashkey calls count against the budget")
        if not raw.strip():
            raise reject("OPSQ9995")
        try:
            data = json.loads(raw)
        except ValueError:
            raise reject("OPSQ9997") from None
        return 200, {"BODY": data, "HASH": canonical_hash(data)}, {}

    # --- faults ------------------------------------------------------------------------
    async def _pre_fault(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send, ep: Endpoint, tr_id: str
    ) -> bool:
        """Apply a fault that acts before the state change; True if the request is done."""
        kind = fault.kind
        method = scope["method"]
        if kind == "delay":
            await asyncio.sleep(fault.seconds)
            return False
        if kind == "expire_token":
            self.expire_tokens()
            return False
        if kind == "reset_before":
            self._log(method, ep.path, ep.name, tr_id, 0, None, kind)
            await self._drop(receive)
            return True
        if kind == "hang" and not fault.commit:
            self._log(method, ep.path, ep.name, tr_id, 0, None, kind)
            await self._hang(receive, fault.seconds)
            return True
        if kind in ("http_error", "gateway_error") and fault.commit:
            return False  # answered after the state change (_post_fault)
        if kind in ("http_error", "gateway_error"):
            await self._error_reply(fault, scope, receive, send, ep, tr_id)
            return True
        if kind == "rate_limit":
            status, body = envelope("EGW00201")
            await self._send_json(send, status, dumps(body), {})
            self._log(method, ep.path, ep.name, tr_id, status, body, kind)
            return True
        return False

    async def _post_fault(
        self,
        fault: Fault,
        scope: Scope,
        receive: Receive,
        send: Send,
        ep: Endpoint,
        tr_id: str,
        status: int,
        body: dict[str, Any],
        content: bytes,
    ) -> bool:
        """Apply a fault that acts after the state change; True if the request is done."""
        kind = fault.kind
        method = scope["method"]
        if kind == "reset_after":
            self._log(method, ep.path, ep.name, tr_id, 0, body, kind)
            await self._drop(receive)
            return True
        if kind == "garbled":
            # Committed, then a 200 whose JSON is cut in half: the client cannot learn the seq.
            cut = content[: max(1, len(content) // 2)]
            await send_bytes(send, 200, cut, now=self.clock.timestamp())
            self._log(method, ep.path, ep.name, tr_id, 200, body, kind)
            return True
        if kind in ("http_error", "gateway_error"):  # commit=True: state already applied
            await self._error_reply(fault, scope, receive, send, ep, tr_id)
            return True
        if kind == "hang":  # commit=True: state already applied
            self._log(method, ep.path, ep.name, tr_id, 0, body, kind)
            await self._hang(receive, fault.seconds)
            return True
        return False

    async def _error_reply(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send, ep: Endpoint, tr_id: str
    ) -> None:
        """Answer an ``http_error`` (JSON or HTML) or ``gateway_error`` fault."""
        method = scope["method"]
        if fault.kind == "http_error" and fault.body == "html":
            html = HTML_ERROR.format(status=fault.status).encode()
            await send_bytes(
                send, fault.status, html, content_type=HTML_TYPE, now=self.clock.timestamp()
            )
            self._log(method, ep.path, ep.name, tr_id, fault.status, None, fault.kind)
            return
        if fault.kind == "gateway_error":
            status, body = 500, gateway_error_body(fault.code)
        else:
            status, body = fault.status, envelope("EGW00002")[1]
        await self._send_json(send, status, dumps(body), {})
        self._log(method, ep.path, ep.name, tr_id, status, body, fault.kind)

    async def _late_commit(
        self,
        fault: Fault,
        receive: Receive,
        ep: Endpoint,
        headers: Headers,
        request: Request,
        raw: bytes,
        tr_id: str,
    ) -> None:
        """No answer; the change is committed ``fault.seconds`` later (see ``faults``)."""
        self._log(ep.method, ep.path, ep.name, tr_id, 0, None, fault.kind)

        def commit() -> None:
            self._process(ep, headers, request, raw)

        if _transport(receive) is None:
            # ASGITransport has no read timeout: the caller's timeout "fires" now, and the
            # request is still processed later, as a slow KIS would.
            asyncio.get_running_loop().call_later(fault.seconds, commit)
            raise httpx.ReadTimeout("emulated: no reply within the read timeout")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + fault.seconds
        while not self.stopping and loop.time() < deadline:
            await asyncio.sleep(min(0.02, max(0.0, deadline - loop.time())))
        commit()
        await self._drop(receive)

    async def _hang(self, receive: Receive, seconds: float) -> None:
        """Hold the connection without answering, then drop it.

        Under ``httpx.ASGITransport`` there is no socket and no client timeout, so the hang
        is reported to the caller immediately as ``httpx.ReadTimeout`` instead.
        """
        if _transport(receive) is None:
            raise httpx.ReadTimeout("emulated hang (no response)")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        # Short steps so a server shutdown is not held up by a long hang.
        while not self.stopping and loop.time() < deadline:
            await asyncio.sleep(min(0.02, max(0.0, deadline - loop.time())))
        await self._drop(receive)

    async def _send_json(
        self, send: Send, status: int, content: bytes, extra: dict[str, str]
    ) -> None:
        """A JSON reply whose ``Date`` is the emulator's clock (the book's clock)."""
        await send_bytes(send, status, content, extra, now=self.clock.timestamp())

    async def _drop(self, receive: Receive) -> None:
        """Abort the TCP connection without a response (RST via SO_LINGER 0)."""
        transport = _transport(receive)
        if transport is None:
            # ASGITransport: surface the same exception httpx raises for a dropped connection.
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if transport.is_closing():  # the client already went away (e.g. it timed out)
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError, ValueError):  # platform dependent
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        # Let the protocol see connection_lost so uvicorn does not try to send its own 500.
        for _ in range(3):
            await asyncio.sleep(0)


def _transport(receive: Receive) -> Any:
    # uvicorn's RequestResponseCycle exposes the connection transport; other servers don't.
    owner = getattr(receive, "__self__", None)
    return getattr(owner, "transport", None)


def _parse_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise reject("OPSQ9995")
    try:
        data = json.loads(raw)
    except ValueError:
        raise reject("OPSQ9997") from None
    if not isinstance(data, dict):
        raise reject("OPSQ9997")
    return data


def method_is_inquiry(ep: Endpoint) -> bool:
    """Inquiry services (GET) pad msg1 to 80 bytes; POST answers are unpadded."""
    return ep.method == "GET"


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(config: EmulatorConfig | None = None) -> Emulator:
    """Build an :class:`Emulator`; its ``.app`` is the ASGI application."""
    return Emulator(config)


__all__ = ["Emulator", "create_app"]
