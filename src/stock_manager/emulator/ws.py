"""The emulator's WebSocket side: ``/oauth2/Approval`` and real-time execution notices.

Served on the REST port at ``/`` and ``/tryitout`` (and ``/tryitout/<TR>``, the sheet's
path), so clients written for KIS work unmodified (research §1.13):

* ``POST /oauth2/Approval`` ``{"grant_type", "appkey", "secretkey"}`` → ``{"approval_key"}``
  (a UUID, valid 24 h on the emulator clock);
* subscribe/unsubscribe messages with ``tr_type`` "1"/"2", answered with OPSP0000/0001/0002/
  0003; OPSP0011 for an unknown approval key; OPSP8996 (``rt_cd`` "9", header tr_id
  "(null)", then the socket is closed) for a second session on an app key; OPSP0008 past 41
  registrations; OPSP8991 for a TR the server does not offer (H0STCNI0 on the paper server,
  H0STCNI9 on the real one); OPSP8992 (invalid tr_key) for a notice subscription whose HTS ID
  is not the app key's — KIS's exact answer to a wrong HTS ID is not published, this is the
  emulator's choice;
* notice subscriptions answer ``encrypt: "Y"`` with a fresh 32-char key and 16-char iv (the
  official sample decides to decrypt from that header);
* execution notices (26 fields, AES-256-CBC, base64) pushed from the book: an acceptance
  when an order appears (process-day, order-rvsecncl), a fill when its filled quantity grows
  (admin fill, process-day), modify/cancel acceptances, a rejection when process-day rejects
  a reservation. Notices of one change go out as one multi-record frame;
* ``{"header":{"tr_id":"PINGPONG","datetime":...}}`` every ``ws_ping_interval_s``; a pong
  control frame (the official sample) and an echoed text frame (python-kis) both count.

Fault kinds (target ``ws``; :mod:`stock_manager.emulator.faults`): ``ws_drop`` (the Nth
notice frame is not sent; the TCP connection is reset, no close frame), ``ws_bad_utf8`` (the
Nth notice goes out as a plain frame whose stock name is cut mid-character: invalid UTF-8
in a text frame), ``ws_layout23`` (notices use the old 23-field layout), ``ws_busy`` (after
the Nth session ends, every session of that app key is refused with OPSP8996 for
``seconds``), ``ws_no_ping`` (the Nth session gets no PINGPONG).

This module imports nothing from the client (``stock_manager.notices``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import math
import secrets
import socket
import string
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from stock_manager.emulator.config import AppKey, EmulatorConfig
from stock_manager.emulator.faults import FaultRegistry
from stock_manager.emulator.fields import symbol_name
from stock_manager.emulator.state import BRANCH_NO, EmulatorState, Order

log = logging.getLogger("stock_manager.emulator.ws")

APPROVAL_PATH = "/oauth2/Approval"
APPROVAL_LIFETIME_S = 86400
MAX_REGISTRATIONS = 41
NOTICE_TR = {"real": "H0STCNI0", "paper": "H0STCNI9"}
# TRs the paper server offers (research §1.2); the real server accepts any H0..... TR.
PAPER_TRS = frozenset({"H0STCNI9", "H0STCNT0", "H0STASP0"})
MAX_RECORDS_PER_FRAME = 20
_KEY_ALPHABET = string.ascii_letters + string.digits

NOTICE_COLUMNS: tuple[str, ...] = (
    "CUST_ID",
    "ACNT_NO",
    "ODER_NO",
    "OODER_NO",
    "SELN_BYOV_CLS",
    "RCTF_CLS",
    "ODER_KIND",
    "ODER_COND",
    "STCK_SHRN_ISCD",
    "CNTG_QTY",
    "CNTG_UNPR",
    "STCK_CNTG_HOUR",
    "RFUS_YN",
    "CNTG_YN",
    "ACPT_YN",
    "BRNC_NO",
    "ODER_QTY",
    "ACNT_NAME",
    "ORD_COND_PRC",
    "ORD_EXG_GB",
    "POPUP_YN",
    "FILLER",
    "CRDT_CLS",
    "CRDT_LOAN_DATE",
    "CNTG_ISNM40",
    "ODER_PRC",
)
OLD_NOTICE_COLUMNS: tuple[str, ...] = (
    "CUST_ID",
    "ACNT_NO",
    "ODER_NO",
    "OODER_NO",
    "SELN_BYOV_CLS",
    "RCTF_CLS",
    "ODER_KIND",
    "ODER_COND",
    "STCK_SHRN_ISCD",
    "CNTG_QTY",
    "CNTG_UNPR",
    "STCK_CNTG_HOUR",
    "RFUS_YN",
    "CNTG_YN",
    "ACPT_YN",
    "BRNC_NO",
    "ODER_QTY",
    "ACNT_NAME",
    "CNTG_ISNM",
    "CRDT_CLS",
    "CRDT_LOAN_DATE",
    "CNTG_ISNM40",
    "ODER_PRC",
)

REPLIES = {
    "OPSP0000": ("0", "SUBSCRIBE SUCCESS"),
    "OPSP0001": ("0", "UNSUBSCRIBE SUCCESS"),
    "OPSP0002": ("0", "ALREADY IN SUBSCRIBE"),
    "OPSP0003": ("1", "UNSUBSCRIBE ERROR(not found!)"),
    "OPSP0008": ("1", "MAX SUBSCRIBE OVER"),
    "OPSP0011": ("1", "invalid approval : NOT FOUND"),
    "OPSP8991": ("1", "invalid tr_id"),
    "OPSP8992": ("1", "invalid tr_key"),
    "OPSP8996": ("9", "ALREADY IN USE appkey"),
    "OPSP8997": ("1", "invalid tr_type"),
    "OPSP8998": ("1", "invalid custtype"),
    "OPSP9991": ("1", "input not found"),
    "OPSP9999": ("1", "invalid json"),
}


class KisWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, also counting the pong control frames a client sends
    (ASGI does not surface them; the official sample answers PINGPONG that way)."""

    kis_pongs = 0

    def handle_pong(self, event: Any) -> None:
        """Count the pong, then let uvicorn handle it."""
        self.kis_pongs += 1
        super().handle_pong(event)


def _random_key(n: int) -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(n))


def encrypt(key: str, iv: str, text: bytes) -> str:
    """AES-256-CBC + PKCS#7 + base64 of ``text``, key and iv used as their UTF-8 bytes."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(text) + padder.finalize()
    enc = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(enc.update(padded) + enc.finalize()).decode("ascii")


def reply(code: str, tr_id: str = "", tr_key: str = "", **extra: Any) -> str:
    """A control reply in KIS's shape."""
    rt_cd, msg1 = REPLIES[code]
    header = {"tr_id": tr_id or "(null)", "tr_key": tr_key, "encrypt": extra.pop("encrypt", "N")}
    body: dict[str, Any] = {"rt_cd": rt_cd, "msg_cd": code, "msg1": msg1}
    if extra.get("output"):
        body["output"] = extra["output"]
    return json.dumps({"header": header, "body": body}, ensure_ascii=False)


def text_frame(payload: bytes) -> bytes:
    """One unmasked server TEXT frame, bytes as given (they need not be valid UTF-8)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + payload


@dataclass
class Notice:
    """One notice record before it is laid out."""

    account: str
    values: dict[str, str]


@dataclass
class WsSession:
    """One connected client."""

    id: int
    queue: asyncio.Queue[tuple[str, Any]]
    proto: Any
    app_key: str = ""
    subs: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    pings: bool = True
    pong_texts: int = 0
    closed: bool = False
    presented: str = ""  # the app key its first request's approval key belongs to

    @property
    def pong_frames(self) -> int:
        """Pong control frames received on this connection."""
        return int(getattr(self.proto, "kis_pongs", 0))


class NoticeHub:
    """Approval keys, live sessions and the notice feed of one emulator."""

    def __init__(
        self,
        config: EmulatorConfig,
        keys: dict[str, AppKey],
        state: EmulatorState,
        faults: FaultRegistry,
        now: Callable[[], datetime],
        budget_time: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.keys = keys
        self.state = state
        self.faults = faults
        self.now = now
        # Real seconds plus the clock's advances (EmulatorClock.budget_time): how long KIS
        # keeps a key busy after a drop; a test moves it with the clock instead of waiting.
        self.budget_time = budget_time
        self.approvals: dict[str, tuple[str, float]] = {}
        self.sessions: dict[str, WsSession] = {}  # app key -> the session holding it
        self.live: list[WsSession] = []
        self.busy_until: dict[str, float] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._ids = 0
        self._orders: dict[str, tuple[int, int]] = {}
        self._rejected: set[int] = set()
        self._stale = False
        #: Counters tests read: sessions opened, most sessions at once per key, pongs seen.
        self.opened = 0
        self.max_concurrent: dict[str, int] = {}
        #: Per app key: most connections at once that presented it (refused ones included:
        #: KIS would have seen two sessions try), and refusals because another session held
        #: it (OPSP8996 not caused by the ws_busy fault).
        self.max_sessions: dict[str, int] = {}
        self.refused_in_use: dict[str, int] = {}
        self.pong_texts = 0
        self.pings_sent = 0
        self._pongs_done = 0
        self.notices_sent = 0
        self.frames_sent = 0
        self.baseline()

    # --- HTS IDs --------------------------------------------------------------------------
    def hts_id(self, app_key: str) -> str:
        """The HTS ID of ``app_key`` (the primary key's is ``config.hts_id``)."""
        key = self.keys.get(app_key)
        if key is not None and key.hts_id:
            return key.hts_id
        if app_key == self.config.app_key:
            return self.config.hts_id
        return "emu" + app_key[-6:].lower()

    def _accounts(self, app_key: str) -> tuple[str, ...]:
        key = self.keys.get(app_key)
        return key.accounts if key is not None and key.accounts else self.config.accounts

    # --- approval -------------------------------------------------------------------------
    def approval(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Answer ``POST /oauth2/Approval``."""
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("grant_type") != "client_credentials":
            return 403, {"error_code": "EGW00101", "error_description": "invalid request"}
        key = self.keys.get(str(data.get("appkey") or ""))
        if key is None:
            return 403, {"error_code": "EGW00103", "error_description": "invalid appkey"}
        # The approval body names the secret "secretkey"; "appsecret" is refused as KIS would.
        if data.get("secretkey") != key.app_secret:
            return 403, {"error_code": "EGW00105", "error_description": "invalid secretkey"}
        approval_key = str(uuid.uuid4())
        with self._lock:
            self.approvals[approval_key] = (key.app_key, self.now().timestamp())
        return 200, {"approval_key": approval_key}

    def _app_key_of(self, approval_key: str) -> str | None:
        with self._lock:
            entry = self.approvals.get(approval_key)
        if entry is None or self.now().timestamp() - entry[1] > APPROVAL_LIFETIME_S:
            return None
        return entry[0]

    # --- the feed -------------------------------------------------------------------------
    def baseline(self) -> None:
        """Take the book as it is now as already notified."""
        with self.state.lock:
            self._orders = {
                o.odno: (o.tot_ccld_qty, o.tot_ccld_amt) for o in self.state.orders.values()
            }
            self._rejected = {
                r.seq for r in self.state.reservations.values() if r.prcs_rslt == "거부"
            }

    def sync(self, *, reservations: bool = False) -> int:
        """Notify every change of the book since the last call; returns notices queued.

        With no session connected nothing is scanned (the book is re-read as the baseline
        when a notice subscription arrives), so REST traffic pays nothing for the feed.
        ``reservations`` also looks for reservations process-day rejected.
        """
        with self._lock:
            listening = any(x.app_key and not x.closed for x in self.live)
            if not listening:
                self._stale = True
                return 0
        notices: list[Notice] = []
        tmd = self.now().strftime("%H%M%S")
        with self.state.lock:
            for o in sorted(self.state.orders.values(), key=lambda o: o.odno):
                before = self._orders.get(o.odno)
                if before is None:
                    notices.append(self._notice(o, tmd, fill=None))
                    before = (0, 0)
                qty, amt = o.tot_ccld_qty - before[0], o.tot_ccld_amt - before[1]
                if qty > 0:
                    notices.append(self._notice(o, tmd, fill=(qty, amt // qty)))
                self._orders[o.odno] = (o.tot_ccld_qty, o.tot_ccld_amt)
            rows = self.state.reservations.values() if reservations else ()
            for r in sorted(rows, key=lambda r: r.seq):
                if r.prcs_rslt == "거부" and r.seq not in self._rejected:
                    self._rejected.add(r.seq)
                    rejected = Order(
                        odno=r.odno or "0" * 10,
                        account=r.account,
                        pdno=r.pdno,
                        qty=r.qty,
                        unpr=r.unpr,
                        sll_buy=r.sll_buy,
                        ord_dvsn=r.ord_dvsn,
                        ord_tmd=tmd,
                    )
                    notices.append(self._notice(rejected, tmd, fill=None, rejected=True))
        if notices:
            self._dispatch(notices)
        return len(notices)

    def _notice(
        self, o: Order, tmd: str, *, fill: tuple[int, int] | None, rejected: bool = False
    ) -> Notice:
        qty, price = fill if fill is not None else (o.qty, o.unpr)
        values = {
            "ACNT_NO": o.account.replace("-", ""),
            "ODER_NO": o.odno,
            "OODER_NO": o.orgn_odno,
            "SELN_BYOV_CLS": o.sll_buy,
            "RCTF_CLS": {"01": "1", "02": "2"}.get(o.rvse_cncl, "0"),
            "ODER_KIND": o.ord_dvsn,
            "ODER_COND": "0",
            "STCK_SHRN_ISCD": o.pdno,
            "CNTG_QTY": str(qty).zfill(10),
            "CNTG_UNPR": str(price).zfill(9),
            "STCK_CNTG_HOUR": tmd,
            "RFUS_YN": "1" if rejected else "0",
            "CNTG_YN": "2" if fill is not None else "1",
            "ACPT_YN": "1",
            "BRNC_NO": BRANCH_NO,
            "ODER_QTY": str(o.qty).zfill(9),
            "ACNT_NAME": "에뮬레이터",
            "ORD_COND_PRC": "0".zfill(9),
            "ORD_EXG_GB": "1",
            "POPUP_YN": "N",
            "FILLER": "",
            "CRDT_CLS": "",
            "CRDT_LOAN_DATE": "",
            "CNTG_ISNM40": symbol_name(o.pdno),
            "CNTG_ISNM": symbol_name(o.pdno),
            "ODER_PRC": str(o.unpr).zfill(9),
        }
        return Notice(o.account, values)

    def _dispatch(self, notices: list[Notice]) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        with self._lock:
            targets = [s for s in self.live if s.app_key and not s.closed]
        for s in targets:
            accounts = self._accounts(s.app_key)
            mine = [n for n in notices if n.account in accounts]
            tr = NOTICE_TR[self.config.mode]
            sub = next((v for (t, _k), v in s.subs.items() if t == tr), None)
            if not mine or sub is None:
                continue
            for i in range(0, len(mine), MAX_RECORDS_PER_FRAME):
                batch = mine[i : i + MAX_RECORDS_PER_FRAME]
                loop.call_soon_threadsafe(s.queue.put_nowait, ("notice", (tr, sub, batch)))

    def _frame(self, s: WsSession, tr: str, key_iv: tuple[str, str], batch: list[Notice]) -> Any:
        """The bytes/str of one notice frame, with the faults that apply to it."""
        fault = self.faults.take_ws("notice")
        hts = self.hts_id(s.app_key)
        layout = OLD_NOTICE_COLUMNS if self._layout23_armed() else NOTICE_COLUMNS
        records = []
        for n in batch:
            values = {**n.values, "CUST_ID": hts}
            records.append("^".join(values[c] for c in layout))
        plain = "^".join(records)
        if fault and fault.kind == "ws_drop":
            return ("drop", None)
        if fault and fault.kind == "ws_bad_utf8":
            name = batch[0].values["CNTG_ISNM40"].encode()
            broken = plain.encode().replace(name, name[:-1], 1)
            return ("raw", f"0|{tr}|{len(batch):03d}|".encode() + broken)
        key, iv = key_iv
        return ("text", f"1|{tr}|{len(batch):03d}|{encrypt(key, iv, plain.encode())}")

    def _layout23_armed(self) -> bool:
        return any(f.kind == "ws_layout23" and f.target in ("ws", "*") for f in self.faults.list())

    # --- one connection -------------------------------------------------------------------
    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run one WebSocket connection."""
        msg = await receive()
        if msg["type"] != "websocket.connect":
            return
        self.loop = asyncio.get_running_loop()
        await send({"type": "websocket.accept"})
        with self._lock:
            self._ids += 1
            s = WsSession(self._ids, asyncio.Queue(), getattr(receive, "__self__", None))
            self.live.append(s)
            self.opened += 1
        fault = self.faults.take_ws("connect")
        s.pings = not (fault is not None and fault.kind == "ws_no_ping")
        writer = asyncio.create_task(self._writer(s, send))
        pinger = asyncio.create_task(self._pinger(s))
        try:
            while not s.closed:
                msg = await receive()
                if msg["type"] == "websocket.disconnect":
                    break
                text = msg.get("text")
                if text is None and msg.get("bytes") is not None:
                    text = bytes(msg["bytes"]).decode("utf-8", "replace")
                if text is not None:
                    self._on_text(s, text)
        finally:
            s.closed = True
            pinger.cancel()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pinger
            self._end(s)

    def _end(self, s: WsSession) -> None:
        with self._lock:
            if s in self.live:
                self.live.remove(s)
                self._pongs_done += s.pong_frames
            if s.app_key and self.sessions.get(s.app_key) is s:
                del self.sessions[s.app_key]
                fault = self.faults.take_ws("disconnect")
                if fault is not None and fault.kind == "ws_busy" and self.loop is not None:
                    self.busy_until[s.app_key] = self.budget_time() + fault.seconds

    async def _writer(self, s: WsSession, send: Send) -> None:
        while True:
            kind, item = await s.queue.get()
            if kind == "text":
                await send({"type": "websocket.send", "text": item})
            elif kind == "close":
                await send({"type": "websocket.close", "code": 1000})
                s.closed = True
                return
            elif kind == "notice":
                tr, key_iv, batch = item
                how, data = self._frame(s, tr, key_iv, batch)
                if how == "drop":
                    self._abort(s)
                    return
                self.notices_sent += len(batch)
                self.frames_sent += 1
                if how == "raw":
                    transport = getattr(s.proto, "transport", None)
                    if transport is not None:
                        transport.write(text_frame(data))
                else:
                    await send({"type": "websocket.send", "text": data})

    def _abort(self, s: WsSession) -> None:
        """Drop the connection without a close frame (TCP reset)."""
        s.closed = True
        transport = getattr(s.proto, "transport", None)
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError, ValueError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def _pinger(self, s: WsSession) -> None:
        interval = self.config.ws_ping_interval_s
        if interval <= 0:
            return
        while not s.closed:
            await asyncio.sleep(interval)
            if s.pings and not s.closed:
                stamp = self.now().strftime("%Y%m%d%H%M%S")
                doc = {"header": {"tr_id": "PINGPONG", "datetime": stamp}}
                self.pings_sent += 1
                s.queue.put_nowait(("text", json.dumps(doc)))

    def _on_text(self, s: WsSession, text: str) -> None:
        def answer(code: str, tr: str = "", key: str = "", **extra: Any) -> None:
            s.queue.put_nowait(("text", reply(code, tr, key, **extra)))

        try:
            doc = json.loads(text)
        except ValueError:
            answer("OPSP9999")
            return
        header = doc.get("header") if isinstance(doc, dict) else None
        if not isinstance(header, dict):
            answer("OPSP9999")
            return
        if header.get("tr_id") == "PINGPONG":  # python-kis echoes the ping as text
            s.pong_texts += 1
            self.pong_texts += 1
            return
        app_key = self._app_key_of(str(header.get("approval_key") or ""))
        if app_key is None:
            answer("OPSP0011")
            return
        self._presented(s, app_key)
        if not self._claim(s, app_key):
            answer("OPSP8996")
            s.queue.put_nowait(("close", None))
            return
        body = doc.get("body")
        inp = body.get("input") if isinstance(body, dict) else None
        if not isinstance(inp, dict) or not inp.get("tr_id") or not inp.get("tr_key"):
            answer("OPSP9991")
            return
        tr_id, tr_key = str(inp["tr_id"]), str(inp["tr_key"])
        tr_type = str(header.get("tr_type") or "")
        if tr_type not in ("1", "2"):
            answer("OPSP8997", tr_id, tr_key)
            return
        if str(header.get("custtype") or "") not in ("P", "B"):
            answer("OPSP8998", tr_id, tr_key)
            return
        if not self._offered(tr_id):
            answer("OPSP8991", tr_id, tr_key)
            return
        notice = tr_id == NOTICE_TR[self.config.mode]
        if notice and tr_key != self.hts_id(app_key):
            answer("OPSP8992", tr_id, tr_key)
            return
        sub_key = (tr_id, tr_key)
        if tr_type == "2":
            if s.subs.pop(sub_key, None) is None:
                answer("OPSP0003", tr_id, tr_key)
            else:
                answer("OPSP0001", tr_id, tr_key)
            return
        if sub_key in s.subs:
            key, iv = s.subs[sub_key]
            answer("OPSP0002", tr_id, tr_key, output={"iv": iv, "key": key})
            return
        if len(s.subs) >= MAX_REGISTRATIONS:
            answer("OPSP0008", tr_id, tr_key)
            return
        if notice and self._stale:
            self._stale = False
            self.baseline()  # changes made while nobody listened are not notified
        key, iv = _random_key(32), _random_key(16)
        s.subs[sub_key] = (key, iv)
        enc = "Y" if notice else "N"
        answer("OPSP0000", tr_id, tr_key, encrypt=enc, output={"iv": iv, "key": key})

    def _presented(self, s: WsSession, app_key: str) -> None:
        with self._lock:
            if s.presented:
                return
            s.presented = app_key
            now = sum(1 for x in self.live if x.presented == app_key and not x.closed)
            self.max_sessions[app_key] = max(self.max_sessions.get(app_key, 0), now)

    def _claim(self, s: WsSession, app_key: str) -> bool:
        """Bind the session to ``app_key``; False when another session holds it (OPSP8996)."""
        with self._lock:
            if s.app_key:
                return s.app_key == app_key
            holder = self.sessions.get(app_key)
            busy = self.busy_until.get(app_key, -math.inf) > self.budget_time()
            in_use = holder is not None and holder is not s and not holder.closed
            if in_use:
                self.refused_in_use[app_key] = self.refused_in_use.get(app_key, 0) + 1
            if busy or in_use:
                return False
            s.app_key = app_key
            self.sessions[app_key] = s
            held = sum(1 for x in self.live if x.app_key == app_key and not x.closed)
            self.max_concurrent[app_key] = max(self.max_concurrent.get(app_key, 0), held)
            return True

    def _offered(self, tr_id: str) -> bool:
        if self.config.mode == "paper":
            return tr_id in PAPER_TRS
        return tr_id != "H0STCNI9" and len(tr_id) == 8 and tr_id.startswith("H")

    # --- inspection -----------------------------------------------------------------------
    @property
    def pong_frames(self) -> int:
        """Pong control frames received so far (every session)."""
        with self._lock:
            return self._pongs_done + sum(s.pong_frames for s in self.live)
