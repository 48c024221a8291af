"""An order whose answer never came: "unknown", never retried, settled by ``reconcile``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stock_manager.emulator import ServedEmulator

from .conftest import PLACE_TR, Elicitor, mcp_session, place_args, server_env


async def test_unknown_outcome_then_reconcile_settles_it(emu: ServedEmulator, home: Path) -> None:
    before = emu.requests.count(tr_id=PLACE_TR)
    env = server_env(emu, home, KIS_READ_TIMEOUT="1")
    async with mcp_session(emu, home, "--allow-orders", elicitor=Elicitor(), env=env) as s:
        token = (await s.data("preview_reservation", place_args(qty=4)))["confirmation_token"]
        emu.faults.add(PLACE_TR, "delay", seconds=2.5)  # answered after the client gave up
        out = await s.data("execute_reservation", {"confirmation_token": token})
        assert out["result"] == "unknown", out
        journal_id = out["journal_id"]
        assert isinstance(journal_id, int)
        assert "reconcile" in out["hint"]
        entries = (await s.data("journal", {}))["entries"]
        assert entries[0]["id"] == journal_id and entries[0]["outcome"] == "unknown"
        verdict = None
        for _ in range(20):  # the emulator commits it 2.5 s after it arrived
            result = (await s.data("reconcile", {"journal_id": journal_id}))["results"][0]
            verdict = result["verdict"]
            if verdict != "unknown":
                break
            await asyncio.sleep(0.5)
        assert verdict == "applied", result
        entries = (await s.data("journal", {}))["entries"]
        assert entries[0]["outcome"] == "reconciled_applied"
    # exactly one place request: the server never re-sent it
    assert emu.requests.count(tr_id=PLACE_TR) == before + 1
