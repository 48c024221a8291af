"""Plain JSON data from the library's results: one conversion for the CLI's ``--json`` and the
MCP tools (below both, so neither imports the other for it)."""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Plain JSON data from pydantic models, dataclasses, enums, dates and decimals."""
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if hasattr(obj, "model_dump"):
        data = obj.model_dump(mode="json")
        # Computed properties (Reservation.status) are not fields: add the well-known ones.
        for extra in ("status",):
            if extra not in data and isinstance(getattr(type(obj), extra, None), property):
                data[extra] = to_jsonable(getattr(obj, extra))
        return data
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, BaseException):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "items"):  # CIDict and other mappings
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return str(obj)
