"""No secret in any tool result or log line of a whole session (debug logging on)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stock_manager.emulator import ServedEmulator

from .conftest import Elicitor, mcp_session, place_args


async def test_no_secret_in_results_or_logs(emu: ServedEmulator, home: Path) -> None:
    person = Elicitor()
    calls: list[tuple[str, dict[str, Any]]] = [
        ("search_apis", {"query": "잔고"}),
        ("describe_api", {"api_id": "v1_국내주식-020"}),
        ("call_api", {"api_id": "v1_국내주식-020", "params": {}}),  # missing fields: an error
        ("call_api", {"api_id": "CTSC0008U"}),
        ("list_reservations", {"include_cancelled": True}),
        ("reservation_report", {}),
        ("market_calendar", {"days": 5}),
        ("preview_reservation", place_args(symbol="12")),  # invalid: the library's message
        ("preview_reservation", {"action": "cancel", "seq": "999999"}),  # not found
        ("journal", {"limit": 50}),
        ("reconcile", {}),
        ("search_apis", {"query": "x", "nope": 1}),
    ]
    async with mcp_session(
        emu, home, "--allow-orders", elicitor=person, global_args=("--debug",)
    ) as s:
        for name, args in calls:
            await s.call(name, args)
        token = (await s.data("preview_reservation", place_args()))["confirmation_token"]
        await s.call("execute_reservation", {"confirmation_token": token})
        await s.call("execute_reservation", {"confirmation_token": token})
        await s.call("journal", {})
        results = list(s.results)
    assert len(results) == len(calls) + 4
    assert person.messages
    access_tokens = list(emu.state.tokens)
    assert access_tokens  # the session did authenticate
    account = emu.config.account
    secrets = {
        "app secret": emu.config.app_secret,
        "account number": account,
        "account (CANO)": account.split("-")[0],
        **{f"access token {i}": t for i, t in enumerate(access_tokens)},
    }
    texts = []
    for res in results:
        texts += [c.text for c in res.content if c.type == "text"]
        texts.append(json.dumps(res.structured_content, ensure_ascii=False))
    texts += person.messages
    log = (home / "server-stderr.log").read_text(encoding="utf-8")
    assert "DEBUG" in log  # debug logging was on: the scan below means something
    texts += log.splitlines()
    hits = [(what, t[:120]) for t in texts for what, s in secrets.items() if s in t]
    assert hits == []
    assert "Traceback" not in log
