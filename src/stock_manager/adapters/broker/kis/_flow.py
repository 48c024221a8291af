"""The sans-I/O protocol shared by the sync and async clients.

Request logic (token, rate limit, headers, retries, classification) is written once, as a
generator that *yields* what it needs done — sleep, send an HTTP request, take a blocking lock,
call something that may wait on the network (a Redis budget) — and is *sent* the result. Two
small drivers perform those actions, one with blocking calls and one with ``await``; this is how
httpx shares its auth flows between ``Client`` and ``AsyncClient``. Nothing in a flow may block
or do network I/O itself.

Flows compose with ``yield from``: the reservation API and the manager write each operation
as one flow over the client's (``request_flow``, ``pages_flow``), and :mod:`._surface` turns
it into a blocking and an async method. A listing emits its rows (:class:`Emit`;
:func:`iterate_sync`, :func:`iterate_async`, :func:`collect` inside another flow); a bulk
operation runs flows side by side with :class:`Gather`. Local I/O inside those flows (the
journal's reads and writes, the calendar's cache file, a shared rate budget's file lock) is
yielded as a blocking :class:`Call`, so the async driver runs it in a worker thread.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

import httpx

if TYPE_CHECKING:
    # Only the async driver needs a pool (~6 ms to import; the CLI never does, issue #14).
    from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "NOT_STARTED",
    "Acquire",
    "Call",
    "Emit",
    "Flow",
    "Gather",
    "GatherInterrupted",
    "Send",
    "SendResult",
    "Sleep",
    "blocking_io",
    "collect",
    "drive_async",
    "drive_sync",
    "iterate_async",
    "iterate_sync",
    "relay",
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
    """Wait ``seconds``, with ``using`` when given (else the driver's sleep).

    ``using`` lets a flow wait with its owner's clock (the manager's window wait) while the
    client's own waits (back-offs) keep the client's; the async driver awaits its result.
    """

    seconds: float
    using: Callable[[float], Any] | None = None


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


class Emit(NamedTuple):
    """Hand ``value`` to whoever iterates the flow (:func:`iterate_sync`/:func:`iterate_async`);
    the flow resumes (receiving ``None``) when the next value is asked for. A paged listing
    emits each page, so the caller can stop before the next page is requested."""

    value: Any


class Gather(NamedTuple):
    """Run ``flows`` side by side, at most ``limit`` at a time, and receive their values in
    order: worker threads in the blocking driver, tasks in the async one. ``progress(done,
    total, value)`` is called as each flow finishes (both drivers). A flow's exception is
    raised in the gathering flow, so a flow that must not stop its siblings catches its own.
    An interruption — Ctrl-C in the blocking driver, the task's cancellation in the async one —
    lets the running flows finish, starts no other, and is :class:`GatherInterrupted` in the
    gathering flow (async: then the task ends with ``CancelledError``, caused by what the flow
    raised)."""

    flows: Sequence[Generator[Any, Any, Any]]
    limit: int = 1
    progress: Callable[[int, int, Any], None] | None = None


Action = Sleep | Send | Acquire | Call | Emit | Gather
Flow = Generator[Action, Any, T]


class _Return(NamedTuple):
    """A flow's value, once it has ended (an async generator cannot return one)."""

    value: Any


def _resume(flow: Generator[Any, Any, Any], reply: Any, error: BaseException | None) -> Any:
    """The flow's next action after ``reply`` (or ``error``, raised in it), or its value as a
    :class:`_Return` when it ends."""
    try:
        return flow.send(reply) if error is None else flow.throw(error)
    except StopIteration as stop:
        return _Return(stop.value)


def drive_sync(
    flow: Flow[T], client: httpx.Client, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run ``flow`` with blocking calls; return its value (it must not :class:`Emit`)."""
    steps = iterate_sync(flow, client, sleep)
    try:
        value = next(steps)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    steps.close()
    raise TypeError(f"the flow emitted {type(value).__name__}: iterate it, do not drive it")


def iterate_sync(
    flow: Flow[T], client: httpx.Client, sleep: Callable[[float], None] = time.sleep
) -> Generator[Any, None, T]:
    """Run ``flow`` with blocking calls, yielding what it emits; returns its value."""
    try:
        return (yield from _steps_sync(flow, client, sleep))
    except BaseException:
        # KeyboardInterrupt, or the caller stopped iterating: let the flow release its locks
        # and journal the interruption now, not whenever the generator is garbage-collected.
        flow.close()
        raise


def _steps_sync(
    flow: Flow[T], client: httpx.Client, sleep: Callable[[float], None]
) -> Generator[Any, None, T]:
    reply: Any = None
    error: BaseException | None = None
    while True:
        action = _resume(flow, reply, error)
        if isinstance(action, _Return):
            return action.value  # type: ignore[no-any-return]
        reply, error = None, None
        if isinstance(action, Gather):  # threads: for this driver, one blocking call
            action = Call(functools.partial(_gather_sync, action, client, sleep))
        if isinstance(action, Call):
            try:
                reply = action.fn()
            except (Exception, GatherInterrupted) as exc:  # raised in the flow, where written
                error = exc
        elif isinstance(action, Sleep):
            (action.using or sleep)(action.seconds)
        elif isinstance(action, Send):
            started = time.perf_counter()
            try:
                reply = SendResult(response=client.send(action.request))
            except httpx.HTTPError as exc:
                reply = SendResult(error=exc)
            reply = SendResult(reply.response, reply.error, time.perf_counter() - started)
        elif isinstance(action, Emit):
            yield action.value
        else:
            action.lock.acquire()


class GatherInterrupted(KeyboardInterrupt):
    """Ctrl-C during a blocking :class:`Gather` (or the cancellation of the task running an
    async one): the flows not started were not started, the ones running were let finish (a
    request in flight keeps its true outcome; a second interruption leaves it unknown).
    ``values`` has one entry per flow: its value, its exception, or :data:`NOT_STARTED`. The
    driver throws it into the gathering flow, which can tell the caller what was done (then
    re-raise)."""

    def __init__(self, values: list[Any]) -> None:
        super().__init__("interrupted")
        self.values = values


#: A :class:`GatherInterrupted` value: that flow never started (nothing of it was sent).
NOT_STARTED: Any = object()


def _gather_sync(action: Gather, client: httpx.Client, sleep: Callable[[float], None]) -> list[Any]:
    # Imported here: only a bulk operation needs threads (start-up time, issue #14).
    from concurrent.futures import ThreadPoolExecutor, as_completed

    total = len(action.flows)
    pool = ThreadPoolExecutor(max_workers=max(1, action.limit))
    futures = [pool.submit(drive_sync, f, client, sleep) for f in action.flows]
    try:
        # Progress as each finishes (a bar that counts only in order lags what was done).
        for done, future in enumerate(as_completed(futures), 1):
            value = future.result()
            if action.progress:
                action.progress(done, total, value)
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()  # the ones not started never start
        try:
            pool.shutdown(wait=True)  # the running ones finish: their outcome is known
        except KeyboardInterrupt:  # a second Ctrl-C: what still runs is left unknown
            pool.shutdown(wait=False)
        raise GatherInterrupted([_settled(f) for f in futures]) from None
    except BaseException:
        pool.shutdown(wait=True)  # as before: siblings finish before the error is raised
        raise
    pool.shutdown(wait=True)
    return [f.result() for f in futures]


def _settled(future: Any) -> Any:
    if future.cancelled():
        return NOT_STARTED
    if not future.done():
        return TimeoutError("still running when interrupted")
    return future.exception() or future.result()


async def drive_async(
    flow: Flow[T],
    client: httpx.AsyncClient,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> T:
    """Run ``flow`` with ``await`` (``sleep`` defaults to :func:`asyncio.sleep`); blocking
    locks are taken in a worker thread. Returns its value (it must not :class:`Emit`)."""
    steps = _steps_async(flow, client, sleep)
    try:
        async for item in steps:
            if isinstance(item, _Return):
                return item.value  # type: ignore[no-any-return]
            raise TypeError(f"the flow emitted {type(item).__name__}: iterate it, do not drive it")
    finally:
        await steps.aclose()
    raise AssertionError("unreachable: the steps end with the flow's value")


async def iterate_async(
    flow: Flow[Any],
    client: httpx.AsyncClient,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncGenerator[Any, None]:
    """Run ``flow`` with ``await``, yielding what it emits (its value is dropped)."""
    steps = _steps_async(flow, client, sleep)
    try:
        async for item in steps:
            if isinstance(item, _Return):
                return
            yield item
    finally:
        await steps.aclose()


async def _steps_async(
    flow: Flow[Any],
    client: httpx.AsyncClient,
    sleep: Callable[[float], Awaitable[None]] | None,
) -> AsyncGenerator[Any, None]:
    # asyncio is imported here, not at the top: the blocking client (every CLI command) never
    # needs it, and it costs ~10 ms to import (issue #14).
    import asyncio

    wait = sleep or asyncio.sleep
    reply: Any = None
    error: Exception | None = None
    try:
        while True:
            action = _resume(flow, reply, error)
            if isinstance(action, _Return):
                yield action
                return
            reply, error = None, None
            if isinstance(action, Call):
                try:
                    if action.blocking:
                        # A cancellation waits for the thread to return (see _call_in_thread),
                        # so the flow's clean-up sees what the call did.
                        reply = await _call_in_thread(action.fn)
                    else:
                        reply = action.fn()
                except Exception as exc:
                    error = exc
            elif isinstance(action, Sleep):
                await (action.using or wait)(action.seconds)
            elif isinstance(action, Send):
                started = time.perf_counter()
                try:
                    reply = SendResult(response=await client.send(action.request))
                except httpx.HTTPError as exc:
                    reply = SendResult(error=exc)
                reply = SendResult(reply.response, reply.error, time.perf_counter() - started)
            elif isinstance(action, Emit):
                yield action.value
            elif isinstance(action, Gather):
                try:
                    reply = await _gather_async(action, client, sleep)
                except Exception as exc:
                    error = exc
                except GatherInterrupted as stop:
                    # This task was cancelled midway: the gathering flow is told what was done
                    # (as after Ctrl-C in the blocking driver), then the task ends cancelled.
                    raise _cancelled(flow, stop)  # noqa: B904 - its __cause__ is set there
            else:
                await _acquire_in_thread(action.lock)
    except BaseException:
        flow.close()  # a cancelled task, an abandoned iteration: release locks, journal it
        raise


def _cancelled(flow: Generator[Any, Any, Any], stop: GatherInterrupted) -> BaseException:
    """The :class:`asyncio.CancelledError` ending a task cancelled during a :class:`Gather`.

    ``stop`` is thrown into the gathering flow first, so it can say what was done, as it does
    after Ctrl-C in the blocking driver (a bulk cancel raises ``BulkInterrupted`` with the
    per-item result). Whatever the flow raises becomes the ``__cause__`` of a plain
    ``CancelledError`` (plain: ``asyncio.timeout`` turns only that exact type into its
    ``TimeoutError``), so the task still ends cancelled and the result can be found on the
    chain (``BulkInterrupted.of(exc)``).
    """
    import asyncio

    try:
        _resume(flow, None, stop)
    except BaseException as exc:  # whatever it is, it is the cause the caller is shown
        cause: BaseException = exc
    else:  # the flow went on regardless: the task is cancelled all the same
        cause = stop
    error = asyncio.CancelledError("cancelled during a bulk operation")
    error.__cause__ = cause
    return error


async def _gather_async(
    action: Gather,
    client: httpx.AsyncClient,
    sleep: Callable[[float], Awaitable[None]] | None,
) -> list[Any]:
    import asyncio  # already imported by the running event loop

    gate = asyncio.Semaphore(max(1, action.limit))
    total, done = len(action.flows), 0
    values: list[Any] = [NOT_STARTED] * total

    async def one(index: int, flow: Generator[Any, Any, Any]) -> None:
        nonlocal done
        async with gate:
            values[index] = _RUNNING  # from here on its requests may leave
            values[index] = await drive_async(flow, client, sleep)
        done += 1
        if action.progress:
            action.progress(done, total, values[index])

    if not total:
        return []
    tasks = [asyncio.ensure_future(one(i, f)) for i, f in enumerate(action.flows)]
    try:
        # asyncio.wait, not gather: a cancellation of this task must not cancel the flows on
        # their way (gather would), and siblings finish before an error is raised (as with
        # the threads of the blocking driver).
        await asyncio.wait(tasks)
    except asyncio.CancelledError:
        # The same rule as Ctrl-C in the blocking driver (see _gather_sync): the flows not
        # started never start, the running ones finish (their outcome is then known); a
        # second cancellation leaves those unknown (their flows journal the interruption).
        running = [t for i, t in enumerate(tasks) if values[i] is _RUNNING]
        for i, task in enumerate(tasks):
            if values[i] is NOT_STARTED:
                task.cancel()
        try:
            if running:
                await asyncio.wait(running)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            # Let them close their flows (journal "interrupted") before saying what is known.
            await asyncio.wait(running)
        raise GatherInterrupted(
            [_task_settled(t, v) for t, v in zip(tasks, values, strict=True)]
        ) from None
    errors = [t.exception() for t in tasks]  # every one retrieved (no "never retrieved")
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return values


#: A value of an async :class:`Gather` flow that has started and not ended yet.
_RUNNING: Any = object()


def _task_settled(task: Any, value: Any) -> Any:
    """What one flow of an interrupted async :class:`Gather` left (as :func:`_settled`)."""
    if value is NOT_STARTED:
        return NOT_STARTED
    if task.done() and not task.cancelled() and task.exception() is not None:
        return task.exception()
    if value is _RUNNING:
        return TimeoutError("still running when interrupted")
    return value


#: What :func:`relay`'s ``on_emit`` returns: the values to emit and whether to stop, or a flow
#: whose value that is (when handling a value needs the driver, e.g. a blocking call).
Handled = tuple[Iterable[Any], bool]


def relay(
    flow: Flow[T], on_emit: Callable[[Any], Handled | Flow[Handled]]
) -> Generator[Action, Any, T | None]:
    """``flow`` inside another flow, with what it emits handled by ``on_emit(value)``: it
    returns the values to emit in their place and whether to stop ``flow`` there (then the
    value is ``None``), or a flow with that value, run right there (its actions go to the
    driver, its exceptions out of ``relay``). Every other action of ``flow`` passes through to
    the driver, and what the driver throws back is raised in ``flow``."""
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            action = _resume(flow, reply, error)
            if isinstance(action, _Return):
                return action.value  # type: ignore[no-any-return]
            reply, error = None, None
            if isinstance(action, Emit):
                handled = on_emit(action.value)
                if isinstance(handled, Generator):
                    handled = yield from handled
                out, stop_now = handled
                for value in out:
                    yield Emit(value)
                if stop_now:
                    return None
                continue
            try:
                reply = yield action
            except Exception as exc:  # the driver's answer was an error: the flow's to handle
                error = exc
    finally:
        flow.close()


def collect(flow: Flow[Any], until: Callable[[Any], bool] | None = None) -> Flow[list[Any]]:
    """The values ``flow`` emits, as a list; with ``until``, stop after the first value it
    accepts (the rest, and the pages behind them, are never asked for)."""
    out: list[Any] = []

    def keep(value: Any) -> tuple[tuple[()], bool]:
        out.append(value)
        return (), bool(until and until(value))

    yield from relay(flow, keep)
    return out


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
