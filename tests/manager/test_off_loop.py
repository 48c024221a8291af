"""The async manager reads and writes its link store and the journal off the event loop
(issue #19): each is a blocking ``Call`` that the async driver runs in a worker thread."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient
from stock_manager.emulator import ServedEmulator
from stock_manager.journal import OrderJournal
from stock_manager.manager import AsyncReservationManager
from stock_manager.manager.links import LinkStore

from .conftest import kis_config
from .test_plan import spec


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def test_apply_uses_the_link_store_and_journal_off_the_event_loop(
    emu: ServedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, bool]] = []
    watched = [
        (LinkStore, ("__init__", "links", "all_seqs", "begin_place", "update")),
        (OrderJournal, ("needs_reconcile", "labelled")),
    ]
    for owner, names in watched:
        for name in names:
            original = getattr(owner, name)

            def spied(*a: Any, _o: Any = original, _n: str = name, **kw: Any) -> Any:
                calls.append((_n, _on_loop()))
                return _o(*a, **kw)

            monkeypatch.setattr(owner, name, functools.wraps(original)(spied))
    client = AsyncKISRestClient(kis_config(emu, tmp_path))
    m = AsyncReservationManager(client, clock=emu.clock.now)
    try:
        placed = await m.apply(spec())
        changed = await m.apply(spec(68000, drop_b=True), prune=["000660"])
        planned = await m.plan(spec(68000, drop_b=True))
    finally:
        m.close()
        await client.aclose()
    assert [i.ok for i in placed.items] == [True, True]
    assert sorted(i.item.action for i in changed.items) == ["cancel", "modify"]
    assert all(i.ok for i in changed.items) and planned.counts()["keep"] == 1
    ran = {name for name, _ in calls}
    assert {"__init__", "links", "all_seqs", "begin_place", "update", "needs_reconcile"} <= ran
    assert [name for name, looped in calls if looped] == []
