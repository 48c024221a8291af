"""The notice session: one WebSocket to KIS, kept alive unattended (research §1.2–1.10).

:class:`NoticeSession` is written once, async; :class:`NoticeStream` drives it from plain
code through a background event loop. What it does, each from a sourced fact:

* subscribes with ``tr_type`` "1" and unsubscribes with "2"; a notice's ``tr_key`` is the
  HTS ID; paper mode uses the paper TR (H0STCNI9) and the paper host, and a TR paper trading
  lacks is refused before any connection;
* keeps at most 41 registrations (KIS's per-session limit) and refuses the 42nd locally;
* treats any ``rt_cd`` other than "0" as failure and branches on ``msg_cd``: OPSP8996
  (another session holds the app key) waits at least ``busy_wait_s`` (20 s; the field report
  of a slot stuck by fast retries), OPSP0011 issues a new approval key, OPSP0010 stops;
* decides encryption from each frame's first character and decrypts with the key and iv of
  the current session only (both dropped on every reconnect);
* answers PINGPONG by echoing the text frame (python-kis' form; KIS accepts it);
* decodes invalid UTF-8 leniently (``recv(decode=False)``) instead of closing with 1007;
* reconnects with exponential back-off and jitter and re-subscribes everything;
* reconciles with REST (주식일별주문체결조회) after every connect and on demand, through a
  :class:`~stock_manager.notices.ledger.FillLedger` so no fill is lost or delivered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import random
import threading
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from stock_manager.adapters.broker.kis.config import KISConfig
from stock_manager.adapters.broker.kis.tr_ids import CATALOG
from stock_manager.masking import mask_hts_id
from stock_manager.notices.approval import ApprovalError, ApprovalKeys
from stock_manager.notices.crypto import DecryptError, FrameKey, decrypt
from stock_manager.notices.events import (
    Connected,
    Disconnected,
    ErrorEvent,
    Event,
    ExecutionEvent,
    Reconciled,
    SubscriptionEvent,
    record_event,
)
from stock_manager.notices.frames import (
    NOTICE_TRS,
    DataFrame,
    FrameError,
    WidthError,
    decode,
    parse,
    split_records,
)
from stock_manager.notices.ledger import FillLedger

__all__ = [
    "MAX_REGISTRATIONS",
    "NoticeError",
    "NoticeLimitError",
    "NoticeSession",
    "NoticeStream",
    "Subscription",
    "ws_url",
]

#: Registrations KIS allows per session (all products together; research §1.9).
MAX_REGISTRATIONS = 41
REAL_WS_URL = "ws://ops.koreainvestment.com:21000"
PAPER_WS_URL = "ws://ops.koreainvestment.com:31000"
# Reply codes that retrying the same subscription cannot fix: drop it and say so.
_PERMANENT = frozenset({"OPSP0008", "OPSP8991", "OPSP8992", "OPSP8997", "OPSP8998", "OPSP9990"})
# Reply codes of a trouble on KIS's side: reconnect with back-off.
_TRANSIENT = frozenset({"OPSP0007", "OPSP0009"})

Fetch = Callable[[], Awaitable[Sequence[Mapping[str, object]]]]


class NoticeError(RuntimeError):
    """The stream cannot go on (invalid app key, bad request before connecting...)."""


class NoticeLimitError(NoticeError):
    """A 42nd registration: KIS allows 41 per session."""


class _Retry(Exception):
    def __init__(self, reason: str, *, wait: float = 0.0, new_key: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.wait, self.new_key = reason, wait, new_key


@dataclass(frozen=True)
class Subscription:
    """One registration: a TR and its key (a stock code, or the HTS ID for notices)."""

    tr_id: str
    tr_key: str

    def message(self, approval_key: str, tr_type: str, custtype: str) -> str:
        """The subscribe (``"1"``) or unsubscribe (``"2"``) request."""
        header = {
            "approval_key": approval_key,
            "custtype": custtype,
            "tr_type": tr_type,
            "content-type": "utf-8",
        }
        body = {"input": {"tr_id": self.tr_id, "tr_key": self.tr_key}}
        return json.dumps({"header": header, "body": body})


def ws_url(config: KISConfig) -> str:
    """The WebSocket URL: KIS's real/paper host, or the emulator's port when ``base_url`` is
    set to an http URL (the emulator serves REST and WebSocket on one port)."""
    if config.base_url and not config.base_url.startswith("https://openapi"):
        return config.base_url.replace("https://", "wss://").replace("http://", "ws://") + (
            "/tryitout"
        )
    return (PAPER_WS_URL if config.is_paper else REAL_WS_URL) + "/tryitout"


class NoticeSession:
    """An auto-reconnecting KIS WebSocket session; iterate :meth:`events`.

    ``fetch`` returns today's 주식일별주문체결조회 rows (``output1``); it is called after every
    connect and by :meth:`reconcile`. ``sleep``, ``rand`` and ``clock`` are injectable so
    back-off can be tested without waiting. ``idle_timeout_s``: with no frame at all for that
    long (KIS sends PINGPONG about every 110 s) the session is presumed dead and replaced.
    """

    def __init__(
        self,
        config: KISConfig,
        *,
        hts_id: str | None = None,
        url: str | None = None,
        approval: ApprovalKeys | None = None,
        fetch: Fetch | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 120.0,
        busy_wait_s: float = 20.0,
        idle_timeout_s: float = 180.0,
        open_timeout_s: float = 10.0,
        reconcile_window_s: float = 2.0,
        ledger: FillLedger | None = None,
    ) -> None:
        self.config = config
        self.hts_id = (hts_id or config.hts_id or "").strip()
        self.url = url or ws_url(config)
        self.approval = approval or ApprovalKeys(config, clock=clock)
        self.fetch = fetch
        # A ledger passed in carries what was already delivered (a session taken over from a
        # holder that died: :mod:`stock_manager.notices.shared`).
        self.ledger = ledger if ledger is not None else FillLedger(clock, reconcile_window_s)
        self._sleep, self._rand, self._clock = sleep, rand, clock
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.busy_wait_s, self.idle_timeout_s = busy_wait_s, idle_timeout_s
        self.open_timeout_s = open_timeout_s
        self._wanted: dict[Subscription, None] = {}
        self._keys: dict[str, FrameKey] = {}
        self._ws: ClientConnection | None = None
        self._closed = False
        self._reconcile_due = False
        self._confirm_at: float | None = None
        #: Sessions opened so far and the back-off delays chosen (for tests and summaries).
        self.connects = 0
        self.delays: list[float] = []

    # --- registrations --------------------------------------------------------------------
    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """What the session registers on every connect."""
        return tuple(self._wanted)

    def resolve(self, tr_id: str, tr_key: str | None = None) -> Subscription:
        """Check a registration locally (no network): catalogued WS TR, paper support,
        key present; the TR is mapped to its paper TR in paper mode."""
        tr = tr_id.strip().upper()
        spec = CATALOG.by_tr_id(tr)
        if spec is None or spec.transport != "WS":
            raise ValueError(f"{tr_id!r} is not a WebSocket TR of the KIS catalog")
        paper = self.config.is_paper
        tr = spec.tr_id(paper=paper)  # PaperTradingNotSupportedError for a real-only TR
        if tr in NOTICE_TRS or tr_id.strip().upper() in NOTICE_TRS:
            key = (tr_key or self.hts_id).strip()
            if not key:
                raise NoticeError(
                    "execution notices are keyed by the HTS ID: set KIS_HTS_ID (or hts_id in"
                    " the profile)"
                )
        else:
            key = (tr_key or "").strip()
            if not key:
                raise ValueError(f"{tr} needs a tr_key (e.g. a 6-digit stock code)")
        if len(key) > 12:
            raise ValueError(f"tr_key {key[:16]!r}... is longer than 12 characters")
        return Subscription(tr, key)

    async def subscribe(self, tr_id: str, tr_key: str | None = None) -> Subscription:
        """Register a TR (sent now when connected, and again after every reconnect)."""
        sub = self.resolve(tr_id, tr_key)
        if sub in self._wanted:
            return sub
        if len(self._wanted) >= MAX_REGISTRATIONS:
            raise NoticeLimitError(
                f"KIS allows {MAX_REGISTRATIONS} registrations per session; {sub.tr_id}"
                f" {sub.tr_key} would be number {len(self._wanted) + 1} (unsubscribe one first)"
            )
        self._wanted[sub] = None
        await self._send(sub, "1")
        return sub

    async def subscribe_notices(self) -> Subscription:
        """Register the domestic execution notice (H0STCNI0, H0STCNI9 in paper mode)."""
        return await self.subscribe("H0STCNI0")

    async def unsubscribe(self, tr_id: str, tr_key: str | None = None) -> None:
        """Deregister (``tr_type`` "2"); it is not re-sent on reconnect."""
        sub = self.resolve(tr_id, tr_key)
        self._wanted.pop(sub, None)
        await self._send(sub, "2")

    async def _send(self, sub: Subscription, tr_type: str) -> None:
        ws = self._ws
        if ws is None:
            return  # sent on (re)connect
        key = await self.approval.get()
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(sub.message(key, tr_type, self.config.custtype))

    def reconcile(self) -> None:
        """Ask for a REST reconciliation now (done by the running :meth:`events` loop)."""
        self._reconcile_due = True

    async def close(self) -> None:
        """End :meth:`events` after the current frame and close the socket."""
        self._closed = True
        ws = self._ws
        if ws is not None:
            await ws.close()

    # --- the loop -------------------------------------------------------------------------
    def backoff(self, attempt: int, minimum: float = 0.0) -> float:
        """Exponential back-off with equal jitter; at least ``minimum`` (plus jitter)."""
        step = min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, attempt - 1))
        delay = step / 2 + self._rand() * step / 2
        if minimum:
            delay = max(delay, minimum + self._rand() * minimum / 4)
        return float(delay)

    async def events(self) -> AsyncGenerator[Event, None]:
        """Connect, subscribe and yield events until :meth:`close`; reconnects by itself."""
        failures = 0
        while not self._closed:
            reason, minimum = "closed", 0.0
            healthy = [False]
            try:
                async for ev in self._one_session(healthy):
                    yield ev
                if healthy[0]:
                    failures = 0
            except _Retry as r:
                reason, minimum = r.reason, r.wait
                if r.new_key:
                    self.approval.invalidate()
            except ApprovalError as exc:
                reason = str(exc)
            except TimeoutError:
                reason = f"no frame for {self.idle_timeout_s:g} s (PINGPONG stopped?)"
            except websockets.ConnectionClosed as exc:
                reason = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
            except (OSError, websockets.InvalidHandshake) as exc:
                reason = f"cannot connect: {type(exc).__name__}: {exc}"
            finally:
                self._ws = None
                self._keys.clear()  # key and iv belong to the session that issued them
            if healthy[0]:
                failures = 0
            if self._closed:
                return
            failures += 1
            delay = self.backoff(failures, minimum)
            self.delays.append(delay)
            yield Disconnected(reason, delay)
            await self._sleep(delay)

    async def _one_session(self, healthy: list[bool]) -> AsyncIterator[Event]:
        key = await self.approval.get()
        async with websockets.connect(
            self.url,
            ping_interval=None,  # KIS keeps the session alive with PINGPONG text frames
            open_timeout=self.open_timeout_s,
            max_size=2**22,
            compression=None,
        ) as ws:
            self._ws = ws
            self._keys.clear()
            self.connects += 1
            yield Connected(self.url, self.connects)
            for sub in list(self._wanted):
                await ws.send(sub.message(key, "1", self.config.custtype))
            async for ev in self._reconcile():
                yield ev
            last_frame = self._clock()
            while not self._closed:
                # Wake for the confirming reconcile even when no frame comes; give up on the
                # socket after idle_timeout_s without any frame.
                wait = self.idle_timeout_s - (self._clock() - last_frame)
                if self._confirm_at is not None:
                    wait = min(wait, max(0.01, self._confirm_at - self._clock()))
                try:
                    raw = await asyncio.wait_for(ws.recv(decode=False), max(0.01, wait))
                except TimeoutError:
                    if self._clock() - last_frame >= self.idle_timeout_s:
                        raise
                else:
                    last_frame = self._clock()
                    async for ev in self._handle(ws, raw, healthy):
                        yield ev
                if self._confirm_at is not None and self._clock() >= self._confirm_at:
                    self._confirm_at = None
                    self._reconcile_due = True
                if self._reconcile_due:
                    async for ev in self._reconcile():
                        yield ev

    async def _reconcile(self) -> AsyncIterator[Event]:
        self._reconcile_due = False
        if self.fetch is None:
            return
        try:
            rows = await self.fetch()
        except Exception as exc:  # any REST failure is reported; the stream goes on
            yield ErrorEvent("reconcile", f"REST reconciliation failed: {exc}", source="rest")
            return
        fills = self.ledger.rest_rows(rows)
        for ev in fills:
            yield ev
        yield Reconciled(len(rows), len(fills))

    async def _handle(
        self, ws: ClientConnection, raw: str | bytes, healthy: list[bool]
    ) -> AsyncIterator[Event]:
        text = decode(raw)
        try:
            msg = parse(text)
        except FrameError as exc:
            yield ErrorEvent("frame", str(exc))
            return
        if isinstance(msg, DataFrame):
            for ev in self._data(msg):
                yield ev
            return
        header: dict[str, Any] = msg["header"] if isinstance(msg.get("header"), dict) else {}
        if header.get("tr_id") == "PINGPONG":
            await ws.send(text)
            return
        body: dict[str, Any] = msg["body"] if isinstance(msg.get("body"), dict) else {}
        reply = self._control(header, body, healthy)
        if reply is not None:
            yield reply

    def _control(
        self, header: Mapping[str, Any], body: Mapping[str, Any], healthy: list[bool]
    ) -> Event | None:
        rt_cd, code = str(body.get("rt_cd", "")), str(body.get("msg_cd", ""))
        msg1 = str(body.get("msg1", "")).strip()
        tr_id, tr_key = str(header.get("tr_id", "")), str(header.get("tr_key", ""))
        shown = mask_hts_id(tr_key) if tr_id in NOTICE_TRS else tr_key  # the HTS login ID
        if code == "OPSP8996":
            raise _Retry(
                f"OPSP8996 {msg1}: another session holds this app key", wait=self.busy_wait_s
            )
        if code == "OPSP0011":
            raise _Retry(f"OPSP0011 {msg1}: issuing a new approval key", new_key=True)
        if code == "OPSP0010":
            raise NoticeError(f"OPSP0010 {msg1}: KIS does not know this app key")
        if code in _TRANSIENT:
            raise _Retry(f"{code} {msg1}")
        if rt_cd == "0":
            output: dict[str, Any] = body["output"] if isinstance(body.get("output"), dict) else {}
            if code in ("OPSP0000", "OPSP0002") and output.get("key") and output.get("iv"):
                self._keys[tr_id] = FrameKey(str(output["key"]), str(output["iv"]))
            if code in ("OPSP0000", "OPSP0002"):
                healthy[0] = True
            active = code in ("OPSP0000", "OPSP0002")
            return SubscriptionEvent(tr_id, shown, code, msg1, active)
        if code == "OPSP0003":  # unsubscribe of something not registered: harmless, reported
            return SubscriptionEvent(tr_id, shown, code, msg1, False)
        if code in _PERMANENT:
            for sub in [s for s in self._wanted if s.tr_id == tr_id and s.tr_key == tr_key]:
                self._wanted.pop(sub, None)
        return ErrorEvent(code or "reply", f"{code} {msg1}".strip(), tr_id)

    def _data(self, frame: DataFrame) -> list[Event]:
        payload = frame.payload
        if frame.encrypted:
            key = self._keys.get(frame.tr_id)
            if key is None:
                return [ErrorEvent("no-key", "encrypted frame before its key", frame.tr_id)]
            try:
                payload = decrypt(key, payload)
            except DecryptError as exc:
                return [ErrorEvent("decrypt", str(exc), frame.tr_id)]
        try:
            records = split_records(frame.tr_id, frame.count, payload)
        except WidthError as exc:
            return [ErrorEvent("width", str(exc), frame.tr_id, width=exc.width)]
        out: list[Event] = []
        for rec in records:
            ev = record_event(frame.tr_id, rec)
            if isinstance(ev, ExecutionEvent) and ev.kind == "filled":
                kept = self.ledger.ws_fill(ev)
                if self.ledger.absorbed and self._confirm_at is None:
                    self.ledger.absorbed = False
                    self._confirm_at = self._clock() + self.ledger.window_s
                if kept is None:
                    continue
                ev = kept
            out.append(ev)
        return out


class NoticeStream:
    """Blocking iteration over a :class:`NoticeSession` (a background event loop drives it).

    ``for ev in NoticeStream(session, notices=True): ...``; :meth:`close` (or leaving a
    ``with`` block) stops it.
    """

    def __init__(
        self,
        session: NoticeSession,
        *,
        notices: bool = True,
        subscriptions: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.session = session
        for tr, key in subscriptions:
            session.resolve(tr, key)  # bad input fails here, before any thread or socket
        if notices:
            session.resolve("H0STCNI0")
        self._subs = list(subscriptions)
        self._notices = notices
        self._queue: queue.Queue[Event | BaseException | None] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="kis-notices", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        async def main() -> None:
            if self._notices:
                await self.session.subscribe_notices()
            for tr, key in self._subs:
                await self.session.subscribe(tr, key)
            async for ev in self.session.events():
                self._queue.put(ev)

        try:
            self._loop.run_until_complete(main())
            self._queue.put(None)
        except BaseException as exc:
            self._queue.put(exc)
        finally:
            self._loop.close()

    def __iter__(self) -> Iterator[Event]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def reconcile(self) -> None:
        """Ask for a REST reconciliation now."""
        self._loop.call_soon_threadsafe(self.session.reconcile)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the session and wait for the thread."""
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # loop already finished
                asyncio.run_coroutine_threadsafe(self.session.close(), self._loop)
            self._thread.join(timeout)

    def __enter__(self) -> NoticeStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
