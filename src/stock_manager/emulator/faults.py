"""Fault injection: make the Nth request to an endpoint misbehave in a chosen way.

A fault targets an endpoint by path (``/uapi/domestic-stock/v1/trading/order-resv``), by short
name (``order-resv``, ``tokenP``), by TR_ID (``CTSC0008U``) or ``*`` for everything. Attempt
numbers count requests to that target **after the fault was added**, starting at 1, so a test
can say "the 2nd order-resv call after this point resets".

Kinds (``commit`` = the state change is applied before the misbehaviour):

* ``delay`` — wait ``seconds``, then process and answer (a client with a shorter read timeout
  gives up first; the change is still committed after the delay, as KIS would);
* ``late_commit`` — no answer; the change is committed ``seconds`` later (under uvicorn the
  connection is held that long then reset; under ``httpx.ASGITransport``, which has no
  timeouts, the client is told ``ReadTimeout`` at once and the commit follows in the
  background) — "delay past the read timeout, committed after the delay" in both transports;
* ``hang`` (``commit`` optional), ``reset_before``, ``reset_after`` (committed), ``garbled``
  (committed 200 cut in half);
* ``http_error`` — ``status`` with a JSON EGW00002 envelope or an HTML page (``body``);
  ``commit`` optional;
* ``gateway_error`` — HTTP 500 with ``code`` (EGW00001, EGW00002, EGW00301 or EGW00302) in
  the KIS envelope; ``commit`` optional;
* ``rate_limit`` (EGW00201, never committed), ``expire_token`` (expire tokens, then process).

WebSocket kinds (target ``ws``; see :mod:`stock_manager.emulator.ws`), counted per event of
their own, never per REST request: ``ws_drop`` and ``ws_bad_utf8`` per notice frame,
``ws_no_ping`` per session opened, ``ws_busy`` (OPSP8996 for ``seconds``) per session ended;
``ws_layout23`` switches notices to the 23-field layout for as long as it is armed.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "delay",
    "hang",
    "reset_before",
    "reset_after",
    "http_error",
    "garbled",
    "rate_limit",
    "expire_token",
    "gateway_error",
    "late_commit",
    "ws_drop",
    "ws_bad_utf8",
    "ws_layout23",
    "ws_busy",
    "ws_no_ping",
]
#: WebSocket fault kinds by the event they count (``ws_layout23`` is a mode, never taken).
WS_EVENT_KINDS: dict[str, frozenset[str]] = {
    "notice": frozenset({"ws_drop", "ws_bad_utf8"}),
    "connect": frozenset({"ws_no_ping"}),
    "disconnect": frozenset({"ws_busy"}),
}
WS_KINDS = frozenset({"ws_drop", "ws_bad_utf8", "ws_layout23", "ws_busy", "ws_no_ping"})
FAULT_KINDS: tuple[str, ...] = (
    "delay",
    "hang",
    "reset_before",
    "reset_after",
    "http_error",
    "garbled",
    "rate_limit",
    "expire_token",
    "gateway_error",
    "late_commit",
    *sorted(WS_KINDS),
)
# Kinds that let the handler run (state committed) before misbehaving.
COMMITTING_KINDS = frozenset({"reset_after", "garbled"})
# ``gateway_error`` codes: KIS's gateway answers them (HTTP 500) without saying whether the
# request reached the business layer (spec §4: "check the previous transaction").
GATEWAY_ERROR_TEXT = {
    "EGW00001": "일시적인 오류가 발생했습니다.",
    "EGW00002": "서버 에러가 발생하였습니다.",
    "EGW00301": "연결시간이 초과되었습니다. 이전 거래를 확인하세요.",
    "EGW00302": "거래시간이 초과되었습니다. 이전 거래를 확인하세요.",
}


def gateway_error_body(code: str) -> dict[str, str]:
    """The KIS envelope of a ``gateway_error`` fault."""
    return {"rt_cd": "1", "msg_cd": code, "msg1": GATEWAY_ERROR_TEXT[code]}


_ids = itertools.count(1)


@dataclass
class Fault:
    """One armed fault.

    ``attempts`` lists the matching request numbers (1-based, counted from when the fault was
    added). ``seconds`` is the delay/hang length, ``commit`` whether a hang applies the state
    change before hanging, ``status``/``body`` shape ``http_error`` (``body`` "json" or "html").
    """

    target: str
    kind: str
    attempts: tuple[int, ...] = (1,)
    seconds: float = 1.0
    commit: bool = False
    status: int = 500
    body: str = "json"
    code: str = "EGW00002"
    id: int = field(default_factory=lambda: next(_ids))
    seen: int = 0
    fired: int = 0

    def matches(self, path: str, name: str, tr_id: str) -> bool:
        """Whether this fault's target names this request."""
        t = self.target
        return t in ("*", path, name) or (bool(tr_id) and t.upper() == tr_id.upper())

    @property
    def exhausted(self) -> bool:
        """True once every listed attempt has passed."""
        return self.seen >= max(self.attempts)

    def doc(self) -> dict[str, Any]:
        """JSON-able description."""
        return {
            "id": self.id,
            "target": self.target,
            "kind": self.kind,
            "attempts": list(self.attempts),
            "seconds": self.seconds,
            "commit": self.commit,
            "status": self.status,
            "body": self.body,
            "code": self.code,
            "seen": self.seen,
            "fired": self.fired,
        }


class FaultRegistry:
    """Thread-safe list of armed faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        target: str,
        kind: str,
        attempts: int | Iterable[int] | None = None,
        *,
        times: int | None = None,
        seconds: float = 1.0,
        commit: bool = False,
        status: int = 500,
        body: str = "json",
        code: str = "EGW00002",
    ) -> Fault:
        """Arm a fault. ``attempts`` (int or list) or ``times`` (= attempts 1..times)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {FAULT_KINDS}")
        if body not in ("json", "html"):
            raise ValueError("body must be 'json' or 'html'")
        if code not in GATEWAY_ERROR_TEXT:
            raise ValueError(f"code must be one of {sorted(GATEWAY_ERROR_TEXT)}")
        if times is not None:
            nums: tuple[int, ...] = tuple(range(1, times + 1))
        elif attempts is None:
            nums = (1,)
        elif isinstance(attempts, int):
            nums = (attempts,)
        else:
            nums = tuple(attempts)
        if not nums or min(nums) < 1:
            raise ValueError("attempt numbers start at 1")
        fault = Fault(
            target=target,
            kind=kind,
            attempts=nums,
            seconds=seconds,
            commit=commit,
            status=status,
            body=body,
            code=code,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def remove(self, fault_id: int) -> bool:
        """Disarm one fault by id."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def list(self) -> list[Fault]:
        """Currently armed faults."""
        with self._lock:
            return list(self._faults)

    def take(self, path: str, name: str, tr_id: str) -> Fault | None:
        """Count this request against every matching fault; return the first that fires."""
        if not self._faults:  # fast path for the benchmark / normal use
            return None
        chosen: Fault | None = None
        with self._lock:
            for f in self._faults:
                if f.kind in WS_KINDS or not f.matches(path, name, tr_id):
                    continue
                f.seen += 1
                if chosen is None and f.seen in f.attempts:
                    f.fired += 1
                    chosen = f
            self._faults = [f for f in self._faults if not f.exhausted]
        return chosen

    def take_ws(self, event: str) -> Fault | None:
        """Count one WebSocket ``event`` (notice, connect, disconnect) against the armed
        faults of its kinds (target ``ws`` or ``*``); return the first that fires."""
        kinds = WS_EVENT_KINDS[event]
        if not self._faults:
            return None
        chosen: Fault | None = None
        with self._lock:
            for f in self._faults:
                if f.kind not in kinds or f.target not in ("ws", "*"):
                    continue
                f.seen += 1
                if chosen is None and f.seen in f.attempts:
                    f.fired += 1
                    chosen = f
            self._faults = [f for f in self._faults if f.kind == "ws_layout23" or not f.exhausted]
        return chosen
