"""The sans-I/O protocol shared by the sync and async clients.

Request logic (token, rate limit, headers, retries, classification) is written once, as a
generator that *yields* what it needs done — sleep, send an HTTP request, take a blocking lock,
call something that may wait on the network (a Redis budget) — and is *sent* the result. Two
small drivers perform those actions, one with blocking calls and one with ``await``; this is how
httpx shares its auth flows between ``Client`` and ``AsyncClient``. Nothing in a flow may block
or do network I/O itself.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, NamedTuple, Protocol, TypeVar

import httpx

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

    ``blocking``: ``fn`` may wait on the network (a Redis round trip, up to its socket
    timeout). The async driver then runs it in a worker thread, so the event loop never waits
    on it; otherwise both drivers call it in place (a thread hop would cost more than the call).
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
    import asyncio  # imported by drive_async already

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
                    # A cancelled caller leaves the thread to finish: at worst a slot is booked
                    # and not used.
                    reply = await asyncio.to_thread(action.fn)
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


async def _acquire_in_thread(lock: Lock) -> None:
    import asyncio  # already imported by the running event loop

    task = asyncio.ensure_future(asyncio.to_thread(lock.acquire))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        # The worker thread may still obtain the lock after we were cancelled: give it back.
        task.add_done_callback(lambda t: None if t.cancelled() or t.exception() else lock.release())
        raise
