"""The admin API answers a bad body with 400 naming the field, never a 500 (issue #22, item 1).

Every POST route is sent an empty body, and every field a wrong type; none may answer 500 or
put a traceback in the log.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from stock_manager.emulator import ServedEmulator

# Each POST admin route: (path, the fields a body needs, {field: a value of the wrong type}).
ROUTES: list[tuple[str, tuple[str, ...], dict[str, object]]] = [
    ("/_emulator/orders/fill", ("odno", "qty"), {"odno": "1", "qty": "three", "price": "x"}),
    ("/_emulator/market/quote", ("symbol", "price"), {"symbol": "005930", "price": "high"}),
    ("/_emulator/market/holding", ("symbol", "qty"), {"symbol": "005930", "qty": [1]}),
    ("/_emulator/market/cash", ("cash",), {"cash": "lots"}),
    ("/_emulator/faults", ("kind",), {"kind": "delay", "seconds": "long", "attempts": "x"}),
    ("/_emulator/clock/advance", (), {"seconds": "soon"}),
    ("/_emulator/clock/freeze", (), {"at": "tomorrow"}),
    ("/_emulator/process-day", (), {"outcomes": ["filled"]}),
    ("/_emulator/calendar", (), {"closed": ["2026-13-45"]}),
    ("/_emulator/expire-tokens", (), {}),
]


@pytest.mark.parametrize(("path", "needed", "bad"), ROUTES, ids=[r[0] for r in ROUTES])
def test_bad_admin_bodies_are_400_naming_the_field(
    emu: ServedEmulator,
    caplog: pytest.LogCaptureFixture,
    path: str,
    needed: tuple[str, ...],
    bad: dict[str, object],
) -> None:
    caplog.set_level(logging.DEBUG)
    with httpx.Client(base_url=emu.base_url, timeout=5) as http:
        empty = http.post(path, json={})
        if needed:
            assert empty.status_code == 400, empty.text
            assert repr(needed[0]) in empty.json()["error"], empty.text
        else:
            assert empty.status_code == 200, empty.text
        wrong = http.post(path, json=bad)
        if path != "/_emulator/expire-tokens":
            assert wrong.status_code == 400, wrong.text
            error = wrong.json()["error"]
            assert any(repr(name) in error for name in bad), error
        for bad_json in () if path.endswith("expire-tokens") else (b"{", b"[1, 2]"):
            r = http.post(path, content=bad_json, headers={"content-type": "application/json"})
            assert r.status_code == 400, r.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
