"""Admin API under ``/_emulator/...`` (not part of KIS; never logged, never faulted).

| Method | Path | Body / effect |
|---|---|---|
| GET | /_emulator/state | reservations, orders, counters |
| GET, DELETE | /_emulator/requests | request log / clear it |
| GET, POST, DELETE | /_emulator/faults | list / add (``{"target","kind",...}``) / clear |
| POST | /_emulator/process-day | ``{"outcomes": {"39607": "partial"}, "default": "filled"}`` |
| POST | /_emulator/orders/fill | ``{"odno": "0000117057", "qty": 3, "price": 70000}`` |
| POST | /_emulator/expire-tokens | expire every token now |
| GET | /_emulator/clock | current emulator time |
| POST | /_emulator/clock/advance | ``{"seconds": 61}`` |
| POST | /_emulator/clock/freeze | ``{"at": "2026-11-24T18:00:00+09:00"}`` (optional) |
| GET | /_emulator/codes | the msg_cd table, each code with its source and a note |
| GET, POST | /_emulator/calendar | closed/late days; ``{"closed": ["2026-12-02"], "late": [...],
  "open": [...]}`` declares days |
| GET | /_emulator/openapi.json, /openapi.json | OpenAPI 3 document |
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from stock_manager.emulator.admin_fields import AdminError, as_float, as_int, need, opt_int
from stock_manager.emulator.market import admin as market_admin
from stock_manager.emulator.messages import code_table
from stock_manager.emulator.wire import send_bytes

if TYPE_CHECKING:
    from stock_manager.emulator.clock import EmulatorClock
    from stock_manager.emulator.config import EmulatorConfig
    from stock_manager.emulator.faults import FaultRegistry
    from stock_manager.emulator.krx_calendar import KrxCalendar
    from stock_manager.emulator.requestlog import RequestLog
    from stock_manager.emulator.state import EmulatorState


class Emulator(Protocol):
    """What the admin API needs of the emulator (:class:`.app.Emulator` is the one).

    A protocol, not an import of the app: the app dispatches to this module, so this module
    stays below it (no import cycle, issue #19).
    """

    config: EmulatorConfig
    clock: EmulatorClock
    state: EmulatorState
    faults: FaultRegistry
    requests: RequestLog
    calendar: KrxCalendar

    def openapi(self) -> dict[str, Any]: ...

    def process_day(
        self, outcomes: dict[str, str] | None = None, default: str = "filled"
    ) -> list[dict[str, str]]: ...

    def fill_order(self, odno: str, qty: int, price: int | None = None) -> dict[str, Any]: ...

    def expire_tokens(self) -> int: ...


async def handle(emu: Emulator, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one admin request."""
    request = Request(scope, receive)
    try:
        status, body = await _route(emu, request)
    except AdminError as exc:
        status, body = 400, {"error": str(exc)}
    except (ValueError, TypeError) as exc:
        status, body = 400, {"error": f"bad request: {exc}"}
    except KeyError as exc:  # a field read without need(): still the client's mistake
        status, body = 400, {"error": f"missing field {exc}"}
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    await send_bytes(send, status, content, now=emu.clock.timestamp())


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise AdminError("body must be JSON") from None
    if not isinstance(data, dict):
        raise AdminError("body must be a JSON object")
    return data


def _attempts(d: dict[str, Any]) -> int | list[int] | None:
    value = d.get("attempts")
    if isinstance(value, list):
        return [as_int({"attempts": v}, "attempts") for v in value]
    return opt_int(d, "attempts")


def _days(d: dict[str, Any], name: str) -> list[date]:
    values = d.get(name)
    if values is None:
        return []
    if not isinstance(values, list):
        raise AdminError(f"field {name!r} must be a list of YYYY-MM-DD strings")
    try:
        return [date.fromisoformat(str(v)) for v in values]
    except ValueError as exc:
        raise AdminError(f"field {name!r} must hold YYYY-MM-DD strings: {exc}") from None


async def _route(emu: Emulator, request: Request) -> tuple[int, Any]:
    path = request.url.path.removeprefix("/_emulator")
    method = request.method
    if path in ("/openapi.json", "") and method == "GET":
        return 200, emu.openapi()
    if path == "/state" and method == "GET":
        snap = emu.state.snapshot()
        snap["clock"] = emu.clock.now().isoformat()
        snap["mode"] = emu.config.mode
        return 200, snap
    if path == "/requests":
        if method == "DELETE":
            emu.requests.clear()
            return 200, {"cleared": True}
        return 200, [r.as_dict() for r in emu.requests]
    if path == "/faults":
        if method == "DELETE":
            emu.faults.clear()
            return 200, {"cleared": True}
        if method == "POST":
            d = await _json(request)
            fault = emu.faults.add(
                str(d.get("target", "*")),
                str(need(d, "kind")),
                _attempts(d),
                times=opt_int(d, "times"),
                seconds=as_float(d, "seconds", 1.0),
                commit=bool(d.get("commit", False)),
                status=as_int(d, "status", 500),
                body=str(d.get("body", "json")),
                code=str(d.get("code", "EGW00002")),
            )
            return 201, fault.doc()
        return 200, [f.doc() for f in emu.faults.list()]
    if path == "/process-day" and method == "POST":
        d = await _json(request)
        raw_outcomes = d.get("outcomes") or {}
        if not isinstance(raw_outcomes, dict):
            raise AdminError('field \'outcomes\' must be an object {"SEQ": "filled", ...}')
        outcomes = {str(k): str(v) for k, v in raw_outcomes.items()}
        return 200, emu.process_day(outcomes, str(d.get("default", "filled")))
    if path == "/orders/fill" and method == "POST":
        d = await _json(request)
        odno, qty = str(need(d, "odno")), as_int(d, "qty")
        return 200, emu.fill_order(odno, qty, opt_int(d, "price"))
    if path == "/expire-tokens" and method == "POST":
        return 200, {"expired": emu.expire_tokens()}
    if path == "/clock" and method == "GET":
        return 200, {"now": emu.clock.now().isoformat(), "frozen": emu.clock.frozen}
    if path == "/clock/advance" and method == "POST":
        d = await _json(request)
        return 200, {"now": emu.clock.advance(as_float(d, "seconds", 0.0)).isoformat()}
    if path == "/clock/freeze" and method == "POST":
        d = await _json(request)
        try:
            at = datetime.fromisoformat(str(d["at"])) if d.get("at") else None
        except ValueError:
            raise AdminError(f"field 'at' must be an ISO date-time, not {d['at']!r}") from None
        return 200, {"now": emu.clock.freeze(at).isoformat()}
    if path.startswith("/market"):
        body = await _json(request) if method == "POST" else {}
        return await market_admin(emu.config, emu.state, method, path, body)
    if path == "/codes" and method == "GET":
        return 200, code_table()
    if path == "/calendar":
        if method == "POST":
            d = await _json(request)
            closed, opened, late = _days(d, "closed"), _days(d, "open"), _days(d, "late")
            emu.calendar.declare_closed(closed)
            emu.calendar.declare_open(opened)
            emu.calendar.declare_late(late)
        return 200, emu.calendar.doc()
    return 404, {"error": f"no admin route {method} {request.url.path}"}
