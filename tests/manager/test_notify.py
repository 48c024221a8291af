"""``notify``: the report's JSON posted to a webhook on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from stock_manager.emulator import ServedEmulator
from stock_manager.manager import ReservationManager, notify, parse_spec

from .conftest import at


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    raw: list[bytes]
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.raw.append(body)
        self.received.append(json.loads(body))
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "raw": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_notify_posts_summary_without_secrets(
    emu: ServedEmulator, manager: ReservationManager, webhook: tuple[str, type[_Hook]]
) -> None:
    url, hook = webhook
    spec = parse_spec(
        '[[reservation]]\nid = "x"\nsymbol = "005930"\nside = "buy"\nqty = 2\nprice = 70000\n'
    )
    manager.apply(spec)
    emu.clock.freeze(at(8, 7, 0))
    emu.process_day(default="rejected")
    emu.clock.freeze(at(8, 8, 40))
    report = manager.report()

    assert notify(url, report) is None
    assert len(hook.received) == 1
    payload = hook.received[0]
    assert payload["text"] == report.text
    assert "rejected 1" in payload["text"]
    assert payload["summary"]["rejected"] == 1
    assert payload["processed"][0]["symbol"] == "005930"
    raw = hook.raw[0].decode()
    cano = emu.config.account.split("-")[0]
    assert cano not in raw  # never the full account number
    assert emu.config.app_secret not in raw
    assert emu.config.app_key not in raw
    assert payload["account"] and "*" in payload["account"]


def test_failed_notify_is_reported_not_raised(
    manager: ReservationManager, webhook: tuple[str, type[_Hook]]
) -> None:
    report = manager.report()
    problem = notify(f"http://127.0.0.1:{_free_port()}/nobody", report, timeout=2)
    assert problem is not None and problem.startswith("notify failed")
    url, hook = webhook
    hook.status = 500
    assert notify(url, report) == "notify failed: HTTP 500"
