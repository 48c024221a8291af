"""The sans-I/O protocol shared by the sync and async clients.

Request logic (token, rate limit, headers, retries, classification) is written once, as a
generator that *yields* what it needs done — sleep, send an HTTP request, take a blocking lock,
call something that may wait on the network (a Redis budget) — and is *sent* the result. Two
small drivers perform those actions, one with blocking calls and one with ``await``; this is how
httpx shares its auth flows between ``Client`` and ``AsyncClient``. Nothing in a flow may block
or do network I/O itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

import httpx

if TYPE_CHECKING:
    # Only the async driver needs a pool (~6 ms to import; the CLI never does, issue #14).
    from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "Acquire",
    "Call",
    "Flow",
    "Send",
    "SendResult",
    "Sleep",
    "blocking_io",
    "drive_async",
    "drive_sync",
]

T = TypeVar("T")


class Lock(Protocol):
    """Anything with blocking ``acquire()`` and ``release()``."""

    def acquire(self) -> Any: ...

    def release(self) -> Any: ...


# The messages between a flow and its driver are NamedTuples, not dataclasses: as immutable,
# and a seventh of the cost to define (~0.07 ms against ~0.45 ms a class at every start-up,
# issue #14).
class Sleep(NamedTuple):
    """Wait ``seconds``."""

    seconds: float


class Send(NamedTuple):
    """Send ``request``; the flow receives a :class:`SendResult`."""

    request: httpx.Request


class Acquire(NamedTuple):
    """Take ``lock`` (it may block); the flow itself releases it."""

    lock: Lock


class Call(NamedTuple):
    """Call ``fn()``; the flow receives its value, or its exception is raised in the flow.

    ``blocking``: ``fn`` may wait on I/O — a Redis round trip (up to its socket timeout), a
    synced SQLite commit of the order journal (up to its busy timeout), a file. The async
    driver then runs it in a worker thread, so the event loop never waits on it; otherwise
    both drivers call it in place (a thread hop would cost more than the call).

    A blocking call the flow started is finished before the flow hears of a cancellation: the
    flow is closed only once ``fn`` returned, so what ``fn`` did (a journal row committed, a
    budget slot booked) is done, not half-known, when the flow's clean-up runs.
    """

    fn: Callable[[], Any]
    blocking: bool = False


def blocking_io(backend: object) -> bool:
    """Whether ``backend`` (a rate budget, a token store) may wait on the network.

    A backend says so with a true ``blocking_io`` attribute (the Redis ones); its calls are then
    yielded as ``Call(..., blocking=True)``. Without the attribute it answers in place.
    """
    return bool(getattr(backend, "blocking_io", False))


class SendResult(NamedTuple):
    """Either the response (body read) or the httpx error that prevented one."""

    response: httpx.Response | None = None
    error: httpx.HTTPError | None = None
    elapsed: float = 0.0


Action = Sleep | Send | Acquire | Call
Flow = Generator[Action, Any, T]


def drive_sync(
    flow: Flow[T], client: httpx.Client, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run ``flow`` with blocking calls."""
    try:
        return _drive_sync(flow, client, sleep)
    except BaseException:
        # KeyboardInterrupt and the like: let the flow release its locks and journal the
        # interruption now, not whenever the generator is garbage-collected.
        flow.close()
        raise


def _drive_sync(flow: Flow[T], client: httpx.Client, sleep: Callable[[float], None]) -> T:
    reply: Any = None
    error: Exception | None = None
    while True:
        try:
            action = flow.send(reply) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        reply, error = None, None
        if isinstance(action, Call):
            try:
                reply = action.fn()
            except Exception as exc:  # raised in the flow, where the call was written
                error = exc
        elif isinstance(action, Sleep):
            sleep(action.seconds)
        elif isinstance(action, Send):
            started = time.perf_counter()
            try:
                reply = SendResult(response=client.send(action.request))
            except httpx.HTTPError as exc:
                reply = SendResult(error=exc)
            reply = SendResult(reply.response, reply.error, time.perf_counter() - started)
        else:
            action.lock.acquire()


async def drive_async(
    flow: Flow[T],
    client: httpx.AsyncClient,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> T:
    """Run ``flow`` with ``await`` (``sleep`` defaults to :func:`asyncio.sleep`); blocking
    locks are taken in a worker thread."""
    # asyncio is imported here, not at the top: the blocking client (every CLI command) never
    # needs it, and it costs ~10 ms to import (issue #14).
    import asyncio

    try:
        return await _drive_async(flow, client, sleep or asyncio.sleep)
    except BaseException:
        flow.close()  # a cancelled task: release locks, journal the interruption
        raise


async def _drive_async(
    flow: Flow[T],
    client: httpx.AsyncClient,
    sleep: Callable[[float], Awaitable[None]],
) -> T:

    reply: Any = None
    error: Exception | None = None
    while True:
        try:
            action = flow.send(reply) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        reply, error = None, None
        if isinstance(action, Call):
            try:
                if action.blocking:
                    reply = await _call_in_thread(action.fn)
                else:
                    reply = action.fn()
            except Exception as exc:
                error = exc
        elif isinstance(action, Sleep):
            await sleep(action.seconds)
        elif isinstance(action, Send):
            started = time.perf_counter()
            try:
                reply = SendResult(response=await client.send(action.request))
            except httpx.HTTPError as exc:
                reply = SendResult(error=exc)
            reply = SendResult(reply.response, reply.error, time.perf_counter() - started)
        else:
            await _acquire_in_thread(action.lock)


_lock_pool: ThreadPoolExecutor | None = None
_lock_pool_guard = threading.Lock()


def _lock_waiters() -> ThreadPoolExecutor:
    """The threads that wait on locks for the async driver, apart from the default pool.

    A thread waiting on a lock may wait as long as the holder holds it. Were the waits in the
    default pool (``asyncio.to_thread``), enough waiters would fill it, and the holder's own
    blocking calls (reading the token store under the issuance lock) would queue behind them
    for ever. Here the waiters only queue behind each other.
    """
    global _lock_pool
    from concurrent.futures import ThreadPoolExecutor  # loaded by asyncio already

    with _lock_pool_guard:
        if _lock_pool is None:
            _lock_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kis-lock-wait")
        return _lock_pool


async def _acquire_in_thread(lock: Lock) -> None:
    import asyncio  # already imported by the running event loop

    waiting = asyncio.get_running_loop().run_in_executor(_lock_waiters(), lock.acquire)
    task = asyncio.ensure_future(waiting)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        # The worker thread may still obtain the lock after we were cancelled: give it back.
        task.add_done_callback(lambda t: None if t.cancelled() or t.exception() else lock.release())
        raise


async def _call_in_thread(fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread; a cancellation waits for it to return (see :class:`Call`)."""
    import asyncio  # already imported by the running event loop

    task = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        # The thread cannot be stopped: let it finish, so the flow's clean-up (closing the
        # journal entry the call just wrote, ...) sees what it did. A second cancellation
        # stops this wait; the thread still finishes on its own. Its exception, if any, is
        # retrieved here (the flow is closed, nobody else will).
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        await asyncio.wait([task])
        raise
