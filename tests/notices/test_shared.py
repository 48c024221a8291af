"""The election and the event log behind one session per app key (file and real Redis).

The failover itself (three processes, SIGKILL) is tested through the CLI:
``tests/cli/test_watch_failover.py``.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis.shared_state import RedisConnection
from stock_manager.notices import ExecutionEvent
from stock_manager.notices.events import Event, Role, event_from_json
from stock_manager.notices.ledger import FillLedger
from stock_manager.notices.session import NoticeSession
from stock_manager.notices.shared import (
    Channel,
    FileChannel,
    LostLease,
    RedisChannel,
    SharedSession,
)
from tests.adapters.broker.kis._redis import (
    RedisServer,
    redis_server_fixture,
    redis_session_fixture,
)

__all__ = ["redis_server_fixture", "redis_session_fixture"]

DAY = date(2030, 1, 2)


def fill(i: int) -> ExecutionEvent:
    return ExecutionEvent(
        kind="filled",
        order_no=f"{i:010d}",
        original_order_no="",
        symbol="005930",
        side="buy",
        qty=i,
        price=70000,
        order_qty=i,
        time="090000",
        account="12******01",
        fields={"CUST_ID": "em******"},
    )


def redis_channel(server: RedisServer) -> RedisChannel:
    return RedisChannel(RedisConnection(server.url), "test:ns", DAY)


def test_event_json_round_trip() -> None:
    ev = fill(3)
    assert event_from_json(ev.to_json()) == ev
    assert event_from_json(Role("holder", "file").to_json()) == Role("holder", "file")
    with pytest.raises(ValueError, match="unknown event type"):
        event_from_json({"type": "Nope"})


def test_file_lock_is_exclusive_and_the_log_reads_whole_lines(tmp_path: Path) -> None:
    a, b = FileChannel(tmp_path, "d", DAY), FileChannel(tmp_path, "d", DAY)
    assert a.try_acquire() and not b.try_acquire()
    with pytest.raises(LostLease):
        b.publish({"x": 1})
    first = a.publish(fill(1).to_json())
    # A line still being written is not read.
    with open(a.log_path, "ab") as fh:
        fh.write(b'{"type": "Exec')
    got = b.read(b.start, 0.0)
    assert [e.id for e in got] == [first]
    assert oct(os.stat(a.log_path).st_mode & 0o777) == "0o600"
    a.close()
    assert b.try_acquire()  # released: the next process takes it
    b.close()


def test_redis_lease_fences_a_holder_that_lost_it(redis_server: RedisServer) -> None:
    a, b = redis_channel(redis_server), redis_channel(redis_server)
    assert a.try_acquire() and not b.try_acquire()
    a.publish(fill(1).to_json())
    redis_server.client().delete(a.lock_key)  # as if a's lease expired while it was stalled
    assert b.try_acquire()
    with pytest.raises(LostLease):
        a.publish(fill(2).to_json())  # fenced: never reaches the log
    assert not a.renew()
    b.publish(fill(3).to_json())
    entries = b.read(b.start, 0.1)
    assert [e.doc["qty"] for e in entries] == [1, 3]
    b.close()
    a.close()


class _NoSession:
    def __call__(self, ledger: FillLedger) -> NoticeSession:
        raise AssertionError("a follower must not open a session")


async def _follow(channel: Channel, n: int, after: str | None = None) -> tuple[list[Event], str]:
    shared = SharedSession(channel, _NoSession(), after=after)
    got: list[Event] = []
    async for ev in shared.events():
        got.append(ev)
        if sum(isinstance(e, ExecutionEvent) for e in got) >= n:
            break
    return got, shared.position


@pytest.mark.parametrize("backend", ["file", "redis"])
async def test_follower_restarted_resumes_from_its_last_entry(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    def channel() -> Channel:
        if backend == "file":
            return FileChannel(tmp_path, "d", DAY)
        return redis_channel(request.getfixturevalue("redis_server"))

    holder = channel()
    assert holder.try_acquire()
    for i in range(1, 6):
        holder.publish(fill(i).to_json())
    first, pos = await _follow(channel(), 3)
    assert isinstance(first[0], Role) and first[0].role == "follower"
    for i in range(6, 9):  # published while that follower was away
        holder.publish(fill(i).to_json())
    second, _ = await asyncio.wait_for(_follow(channel(), 5, after=pos), 10)
    qtys = [e.qty for e in first + second if isinstance(e, ExecutionEvent)]
    assert qtys == list(range(1, 9))  # nothing missed, nothing twice
    holder.close()
