"""Fuzzing the tool arguments (hypothesis), in-process through the SDK's in-memory transport.

Whatever the arguments: no traceback, no unexpected server error, and not one order request
reaches the emulator, because the person (elicitation) never accepts.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import ClientSession
from mcp.client._memory import InMemoryTransport

from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.emulator import ServedEmulator
from stock_manager.mcp import ORDER_TOOLS, READ_TOOLS
from stock_manager.mcp.runtime import ServerOptions
from stock_manager.mcp.server import build_server, runtime_for

from .conftest import Elicitor, order_requests

PARAMS = {
    "search_apis": ["query", "category", "limit"],
    "describe_api": ["api_id"],
    "call_api": ["api_id", "params", "action", "max_rows"],
    "list_reservations": [
        "start",
        "end",
        "symbol",
        "side",
        "status",
        "include_cancelled",
        "max_rows",
    ],
    "reservation_report": ["day"],
    "market_calendar": ["start", "days"],
    "journal": ["limit", "outcome"],
    "reconcile": ["journal_id"],
    "preview_reservation": [
        "action",
        "symbol",
        "qty",
        "price",
        "side",
        "order_type",
        "end_date",
        "seq",
    ],
    "execute_reservation": ["confirmation_token"],
    "preview_apply": ["declarations", "file", "prune"],
    "execute_apply": ["confirmation_token"],
}
TOOLS = [*READ_TOOLS, *ORDER_TOOLS]
VALID_PREVIEW = {"action": "place", "symbol": "005930", "qty": 1, "price": 70000, "side": "buy"}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "005930",
            "buy",
            "sell",
            "place",
            "modify",
            "cancel",
            "limit",
            "market",
            "2026-12-31",
            "20261231",
            "v1_국내주식-020",
            "CTSC0008U",
            "TTTC0012U",
            "1",
            "0",
            "-1",
            "1e9",
            "NaN",
            "１２",
            "../../etc/passwd",
            "<current>",
            "x.y",
            "config.toml",
            '[[reservation]]\nid = "a"\nsymbol = "005930"\nside = "buy"\nqty = 1\nprice = 70000',
        ]
    ),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=8), scalars, max_size=3),
)


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from([*TOOLS, "no_such_tool"]))
    known = PARAMS.get(name, [])
    keys = draw(st.lists(st.sampled_from(known), unique=True)) if known else []
    args = {k: draw(values) for k in keys}
    if draw(st.integers(0, 5)) == 0:  # now and then an argument the tool does not have
        args[draw(st.text(min_size=1, max_size=8))] = draw(values)
    return name, args


@pytest.fixture(scope="module")
def fuzz_home() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=st.lists(tool_calls(), min_size=1, max_size=4), chain=st.booleans())
def test_fuzzed_arguments(
    emu: ServedEmulator, fuzz_home: Path, calls: list[tuple[str, dict[str, Any]]], chain: bool
) -> None:
    config = KISConfig(
        kis_app_key=emu.config.app_key,
        kis_app_secret=emu.config.app_secret,
        kis_account_no=emu.config.account,
        base_url=emu.base_url,
        token_cache_dir=fuzz_home / "tokens",
        journal_path=fuzz_home / "journal.sqlite3",
    )
    person = Elicitor("decline")
    errors = _Errors()
    root = logging.getLogger()
    root.addHandler(errors)
    before = order_requests(emu)

    async def session() -> list[Any]:
        rt = runtime_for(config, ServerOptions(allow_orders=True))
        server, _ = build_server(rt)
        out = []
        try:
            async with (
                InMemoryTransport(server) as (read, write),
                ClientSession(read, write, elicitation_callback=person) as client,
            ):
                await client.initialize()
                if chain:  # a valid preview first, so that a real token gets executed too
                    calls.insert(0, ("preview_reservation", VALID_PREVIEW))
                for name, args in calls:
                    res = await client.call_tool(name, args)
                    out.append(res)
                    token = (res.structured_content or {}).get("confirmation_token")
                    if chain and isinstance(token, str):
                        # a real token, executed: the person declines
                        out.append(
                            await client.call_tool(
                                "execute_reservation", {"confirmation_token": token}
                            )
                        )
        finally:
            rt.close()
        return out

    try:
        results = anyio.run(session)
    finally:
        root.removeHandler(errors)
    for res in results:
        text = " ".join(c.text for c in res.content if c.type == "text")
        assert "Traceback" not in text, text
        assert text, res
    assert errors.records == [], [r.getMessage() for r in errors.records]
    assert order_requests(emu) == before
    if chain:
        assert person.messages  # the valid token reached the person, who declined
