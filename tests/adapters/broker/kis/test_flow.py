"""The drivers of ``_flow``: ``Call`` runs where it should and reports back into the flow."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from stock_manager.adapters.broker.kis._flow import Call, Flow, drive_async, drive_sync


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
