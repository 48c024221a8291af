"""The async surface equals the blocking one (issue #19, "every operation once").

Every public method and attribute of :class:`Reservations` exists on
:class:`AsyncReservations` with the same signature: a coroutine where the blocking one returns
a value, an async iterator where it yields, the very same function where it is shared pure
code (``describe_*``, ``plan_place``). Likewise for the managers and the pre-flight.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISConfig, KISRestClient
from stock_manager.adapters.broker.kis._flow import Flow
from stock_manager.adapters.broker.kis._surface import Awaiting, Blocking, Listing, Operation
from stock_manager.adapters.broker.kis.reservations import AsyncReservations, Reservations
from stock_manager.adapters.broker.kis.reservations.preflight import AsyncPreflight, Preflight
from stock_manager.manager import AsyncReservationManager, ReservationManager

PAIRS: list[tuple[type, type]] = [
    (Reservations, AsyncReservations),
    (ReservationManager, AsyncReservationManager),
    (Preflight, AsyncPreflight),
]


def _public(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


def surface_diff(sync: type, async_: type) -> list[str]:
    """What differs between the public surfaces of ``sync`` and ``async_`` (empty: equal)."""
    out: list[str] = []
    names_s, names_a = _public(sync), _public(async_)
    out += [f"only on {sync.__name__}: {n}" for n in sorted(names_s - names_a)]
    out += [f"only on {async_.__name__}: {n}" for n in sorted(names_a - names_s)]
    for name in sorted(names_s & names_a):
        s, a = getattr(sync, name), getattr(async_, name)
        if not callable(s) or isinstance(inspect.getattr_static(sync, name), property):
            if inspect.getattr_static(sync, name) is not inspect.getattr_static(async_, name):
                out.append(f"{name}: attributes differ")
            continue
        if inspect.signature(s) != inspect.signature(a):
            out.append(f"{name}: {inspect.signature(s)} != {inspect.signature(a)}")
        if s is a:
            continue  # the same (pure, shared) function on both
        if inspect.isgeneratorfunction(s):
            if not inspect.isasyncgenfunction(a):
                out.append(f"{name}: yields on {sync.__name__}, not an async iterator")
        elif inspect.iscoroutinefunction(s):
            out.append(f"{name}: a coroutine on the blocking {sync.__name__}")
        elif not inspect.iscoroutinefunction(a):
            out.append(f"{name}: returns a value on {sync.__name__}, not a coroutine")
    return out


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=lambda c: c.__name__)
def test_the_async_surface_equals_the_blocking_one(sync: type, async_: type) -> None:
    assert surface_diff(sync, async_) == []


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=lambda c: c.__name__)
def test_the_instance_attributes_match(sync: type, async_: type, tmp_path: Path) -> None:
    cfg = KISConfig(
        kis_app_key="k" * 16,
        kis_app_secret="s" * 32,
        kis_account_no="12345678-01",
        base_url="http://emulator.local",
        token_cache_dir=tmp_path,
        journal_path=tmp_path / "journal.sqlite3",
    )
    blocking, awaiting = KISRestClient(cfg), AsyncKISRestClient(cfg)
    try:
        assert set(vars(sync(blocking))) == set(vars(async_(awaiting)))
    finally:
        blocking.close()


def test_the_operations_run_the_way_their_class_says() -> None:
    """The method kinds come from the class (blocking or async), not from two class bodies."""
    assert inspect.iscoroutinefunction(AsyncReservations.reconcile)
    assert not inspect.iscoroutinefunction(Reservations.reconcile)
    assert inspect.isasyncgenfunction(AsyncReservations.list_reservations)
    assert inspect.isgeneratorfunction(Reservations.list_reservations)
    shared: Any = Reservations.describe_place
    assert shared is AsyncReservations.describe_place
    assert Reservations.place_reservation.__doc__ == AsyncReservations.place_reservation.__doc__
    assert Reservations.place_reservation.__name__ == "place_reservation"


# --- the check itself can fail ---------------------------------------------------------------
class _Ops:
    client: Any = None

    def _get(self, seq: str, *, fresh: bool = False) -> Flow[int]:
        yield from ()
        return 1

    get = Operation(_get)

    def _rows(self) -> Flow[None]:
        yield from ()

    rows = Listing(int, _rows)

    def describe(self) -> str:
        return ""


class _Sync(_Ops, Blocking):
    pass


class _AsyncExtra(_Ops, Awaiting):
    def extra(self) -> None:
        """Not on the blocking class."""


def _hand_written_async_get(self: Any, seq: str) -> Any:  # not a coroutine; "fresh" is lost
    raise NotImplementedError


def test_the_comparison_finds_drift() -> None:
    drifted: Callable[..., Any] = _hand_written_async_get
    async_cls = type("_AsyncDrifted", (_AsyncExtra,), {"get": drifted})
    diff = surface_diff(_Sync, async_cls)
    assert "only on _AsyncDrifted: extra" in diff
    assert any(d.startswith("get: ") and "fresh" in d for d in diff)
    assert "get: returns a value on _Sync, not a coroutine" in diff
    assert surface_diff(_Sync, type("_Async", (_Ops, Awaiting), {})) == []
