"""Reading the fields of an admin request's JSON body: a bad or missing one is a 400 naming it.

Its own module because both the admin router (:mod:`.admin`) and the market routes
(:mod:`.market`) read bodies, and the router imports the market: a helper in either would be an
import cycle.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AdminError", "as_float", "as_int", "need", "opt_int"]


class AdminError(Exception):
    """A bad admin request: answered 400 with this text (never a 500 and a traceback)."""


def need(d: dict[str, Any], name: str) -> Any:
    """``d[name]``, or a 400 naming the missing field."""
    if d.get(name) is None:
        raise AdminError(f"missing field {name!r}")
    return d[name]


def as_int(d: dict[str, Any], name: str, default: int | None = None) -> int:
    """``d[name]`` as a whole number (``default`` when absent; required without one)."""
    value = d.get(name)
    if value is None:
        if default is None:
            raise AdminError(f"missing field {name!r}")
        return default
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise AdminError(f"field {name!r} must be a whole number, not {value!r}") from None


def opt_int(d: dict[str, Any], name: str) -> int | None:
    """``d[name]`` as a whole number, ``None`` when absent."""
    return None if d.get(name) is None else as_int(d, name)


def as_float(d: dict[str, Any], name: str, default: float) -> float:
    """``d[name]`` as a number (``default`` when absent)."""
    value = d.get(name)
    if value is None:
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise AdminError(f"field {name!r} must be a number, not {value!r}") from None
