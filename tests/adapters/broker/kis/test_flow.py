"""The drivers of ``_flow``: ``Call`` runs where it should and reports back into the flow."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from stock_manager.adapters.broker.kis._flow import (
    Call,
    Emit,
    Flow,
    Gather,
    collect,
    drive_async,
    drive_sync,
    iterate_async,
    iterate_sync,
    relay,
)


def _flow(blocking: bool) -> Flow[tuple[Any, ...]]:
    """Two calls: one that answers, one that raises; the flow sees both where it yielded."""
    thread = yield Call(lambda: threading.get_ident(), blocking)
    try:
        yield Call(lambda: 1 // 0, blocking)
    except ZeroDivisionError as exc:
        caught = type(exc).__name__
    else:  # pragma: no cover - the division always fails
        caught = "nothing"
    return thread, caught


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request expected")


@pytest.mark.parametrize("blocking", [False, True])
def test_the_blocking_driver_calls_in_place(blocking: bool) -> None:
    with httpx.Client(transport=httpx.MockTransport(_no_network)) as http:
        thread, caught = drive_sync(_flow(blocking), http)
    assert thread == threading.get_ident()
    assert caught == "ZeroDivisionError"


@pytest.mark.parametrize("blocking", [False, True])
async def test_the_async_driver_moves_only_blocking_calls_to_a_thread(blocking: bool) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as http:
        thread, caught = await drive_async(_flow(blocking), http)
    assert (thread != threading.get_ident()) is blocking
    assert caught == "ZeroDivisionError"


def test_an_exception_the_flow_does_not_catch_reaches_the_caller() -> None:
    def flow() -> Flow[None]:
        yield Call(lambda: int("x"))

    with (
        httpx.Client(transport=httpx.MockTransport(_no_network)) as http,
        pytest.raises(ValueError, match="invalid literal"),
    ):
        drive_sync(flow(), http)


# --- Emit, collect, Gather: what operations written once are built from ------------------------
def _counting(made: list[int], closed: list[bool]) -> Flow[str]:
    """Emits 0, 1, 2 (each made only when asked for) and records that it was closed."""
    try:
        for n in range(3):
            made.append(n)
            yield Emit(n)
        return "done"
    finally:
        closed.append(True)


def test_collect_stops_at_the_first_accepted_value_and_closes_the_flow() -> None:
    made: list[int] = []
    closed: list[bool] = []

    def outer() -> Flow[list[Any]]:
        return (yield from collect(_counting(made, closed), until=lambda n: n == 1))

    with httpx.Client(transport=httpx.MockTransport(_no_network)) as http:
        assert drive_sync(outer(), http) == [0, 1]
    assert made == [0, 1]  # the third value was never asked for
    assert closed == [True]


async def test_relay_runs_a_handler_that_is_a_flow_with_the_driver() -> None:
    """``relay``'s handler may itself yield (a blocking call while handling a value): its
    actions reach the driver (here: a call in a worker thread) and its value is what to emit."""
    made: list[int] = []
    closed: list[bool] = []
    loop_thread = threading.get_ident()

    def handle(n: int) -> Flow[tuple[list[Any], bool]]:
        thread = yield Call(threading.get_ident, True)
        return [(n, thread != loop_thread)], n == 1

    def outer() -> Flow[None]:
        yield from relay(_counting(made, closed), handle)

    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as http:
        got = [value async for value in iterate_async(outer(), http)]
    assert got == [(0, True), (1, True)]  # each handled in a worker thread; stopped at 1
    assert made == [0, 1] and closed == [True]


def test_a_flow_that_emits_is_iterated_not_driven() -> None:
    made: list[int] = []
    closed: list[bool] = []
    with httpx.Client(transport=httpx.MockTransport(_no_network)) as http:
        with pytest.raises(TypeError, match="iterate it"):
            drive_sync(_counting(made, closed), http)
        assert closed == [True]
        assert list(iterate_sync(_counting(made, closed), http)) == [0, 1, 2]


async def test_an_abandoned_async_iteration_closes_the_flow() -> None:
    made: list[int] = []
    closed: list[bool] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as http:
        steps = iterate_async(_counting(made, closed), http)
        async for n in steps:
            assert n == 0
            break
        await steps.aclose()
    assert made == [0]
    assert closed == [True]


def _gathering(fail: bool) -> Flow[tuple[list[Any], list[tuple[int, int, Any]]]]:
    seen: list[tuple[int, int, Any]] = []

    def item(n: int) -> Flow[int]:
        value = yield Call(lambda: n * 10)
        if fail and n == 1:
            raise ValueError("item 1")
        return value  # type: ignore[no-any-return]

    def progress(done: int, total: int, value: Any) -> None:
        seen.append((done, total, value))

    try:
        values = yield Gather([item(n) for n in range(3)], 2, progress)
    except ValueError as exc:
        return [str(exc)], seen
    return values, seen


def test_gather_runs_flows_in_threads_and_answers_in_order() -> None:
    with httpx.Client(transport=httpx.MockTransport(_no_network)) as http:
        values, seen = drive_sync(_gathering(False), http)
        assert values == [0, 10, 20]
        # As they finish (a bar counting in order lagged what was done, issue #22 item 14).
        assert sorted(v for _, _, v in seen) == [0, 10, 20]
        assert [(d, t) for d, t, _ in seen] == [(1, 3), (2, 3), (3, 3)]
        assert drive_sync(_gathering(True), http)[0] == ["item 1"]  # raised in the gatherer


async def test_gather_runs_flows_as_tasks_and_answers_in_order() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as http:
        values, seen = await drive_async(_gathering(False), http)
        assert values == [0, 10, 20]
        assert sorted(v for _, _, v in seen) == [0, 10, 20]
        assert [d for d, _, _ in seen] == [1, 2, 3]
        assert (await drive_async(_gathering(True), http))[0] == ["item 1"]
