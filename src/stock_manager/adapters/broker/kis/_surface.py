"""One definition, two surfaces: a blocking and an async class from the same flows.

An operation (place, reconcile, apply ...) is written once, as a flow (see :mod:`._flow`): a
generator method that yields what it needs done. The public method is then declared once, on
the shared base class, with :class:`Operation` or :class:`Listing`; the class it is read from
decides how it runs:

* on a :class:`Blocking` class, ``obj.place(...)`` drives the flow with blocking calls and
  returns its value; a listing is an iterator;
* on an :class:`Awaiting` class, ``obj.place(...)`` is a coroutine; a listing is an async
  iterator.

So the two surfaces cannot drift: the name, signature and docstring of both methods are the
flow's (``inspect.signature`` is the same), only the calling convention differs. This is
httpx's ``auth_flow`` with ``sync_auth_flow``/``async_auth_flow``, made generic, instead of two
hand-kept class bodies. Bulk operations that run flows side by side yield
:class:`~._flow.Gather`: threads or tasks are the driver's business.

Hand-written rather than a library: the few helpers that do this (``unasync`` code generation)
need a build step and a drift check; ~170 lines of descriptors need neither.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from ._flow import Flow

__all__ = ["Awaiting", "Blocking", "Listing", "Operation"]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")


class Blocking:
    """Marks a class whose operations run with blocking calls through ``self.client``."""

    client: Any

    def _run(self, flow: Flow[T]) -> T:
        return self.client.run(flow)  # type: ignore[no-any-return]

    def _iterate(self, flow: Flow[Any]) -> Iterator[Any]:
        return self.client.iterate(flow)  # type: ignore[no-any-return]


class Awaiting:
    """Marks a class whose operations are coroutines over ``self.client`` (async)."""

    client: Any

    async def _run(self, flow: Flow[T]) -> T:
        return await self.client.run(flow)  # type: ignore[no-any-return]

    def _iterate(self, flow: Flow[Any]) -> AsyncIterator[Any]:
        return self.client.iterate(flow)  # type: ignore[no-any-return]


def _returning(flow: Callable[..., Any]) -> Callable[..., Any]:
    def blocking(obj: Blocking, /, *args: Any, **kwargs: Any) -> Any:
        return obj._run(flow(obj, *args, **kwargs))

    return blocking


def _awaiting(flow: Callable[..., Any]) -> Callable[..., Any]:
    async def awaiting(obj: Awaiting, /, *args: Any, **kwargs: Any) -> Any:
        return await obj._run(flow(obj, *args, **kwargs))

    return awaiting


def _yielding(flow: Callable[..., Any]) -> Callable[..., Any]:
    def blocking(obj: Blocking, /, *args: Any, **kwargs: Any) -> Any:
        # A generator function, so nothing (not even validation) runs before the first row
        # is asked for: as a hand-written generator would.
        yield from obj._iterate(flow(obj, *args, **kwargs))

    return blocking


def _async_yielding(flow: Callable[..., Any]) -> Callable[..., Any]:
    async def awaiting(obj: Awaiting, /, *args: Any, **kwargs: Any) -> Any:
        async for row in obj._iterate(flow(obj, *args, **kwargs)):
            yield row

    return awaiting


class _Driven:
    """A public method made from a flow: one function a kind, built on first use."""

    #: How to make the blocking and the async function of a flow.
    makers: tuple[Callable[..., Any], Callable[..., Any]]

    def __init__(self, flow: Callable[..., Any]) -> None:
        self.flow = flow
        self.name = flow.__name__.lstrip("_")
        self._made: dict[type, Callable[..., Any]] = {}

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def _get(self, obj: object, owner: type) -> Any:
        kind = _kind(owner)
        if kind is None:  # read from the shared base itself (documentation tools do)
            return self
        fn = self._made.get(kind)
        if fn is None:
            make = self.makers[0 if kind is Blocking else 1]
            fn = self._made[kind] = _named(make(self.flow), self.flow, self.name)
        return fn if obj is None else fn.__get__(obj, owner)


class Operation(_Driven, Generic[P, T]):
    """A public method backed by the flow ``flow`` (a value): see the module docstring."""

    makers = (_returning, _awaiting)

    def __init__(self, flow: Callable[Concatenate[Any, P], Flow[T]]) -> None:
        super().__init__(flow)

    @overload
    def __get__(self, obj: None, owner: type) -> Callable[..., Any]: ...
    @overload
    def __get__(self, obj: Blocking, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: Awaiting, owner: type) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, obj: object, owner: type) -> Any:
        return self._get(obj, owner)


class Listing(_Driven, Generic[P, R]):
    """A public iterator of ``rows`` backed by the flow ``flow``, which emits them."""

    makers = (_yielding, _async_yielding)

    def __init__(self, rows: type[R], flow: Callable[Concatenate[Any, P], Flow[None]]) -> None:
        super().__init__(flow)
        self.rows = rows

    @overload
    def __get__(self, obj: None, owner: type) -> Callable[..., Any]: ...
    @overload
    def __get__(self, obj: Blocking, owner: type) -> Callable[P, Iterator[R]]: ...
    @overload
    def __get__(self, obj: Awaiting, owner: type) -> Callable[P, AsyncIterator[R]]: ...
    def __get__(self, obj: object, owner: type) -> Any:
        return self._get(obj, owner)


def _kind(owner: type) -> type | None:
    if issubclass(owner, Blocking):
        return Blocking
    if issubclass(owner, Awaiting):
        return Awaiting
    return None


def _named(fn: Callable[..., Any], flow: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``fn`` dressed as the public method: name, docstring and signature of ``flow``."""
    functools.update_wrapper(fn, flow)
    fn.__name__ = name
    fn.__qualname__ = flow.__qualname__.rsplit(".", 1)[0] + "." + name
    # The signature of the flow, minus its return type (a Flow): the public one returns the
    # flow's value. __wrapped__ would make inspect report the flow's own.
    del fn.__wrapped__  # type: ignore[attr-defined]
    sig = inspect.signature(flow).replace(return_annotation=inspect.Signature.empty)
    fn.__signature__ = sig  # type: ignore[attr-defined]
    return fn
