"""Parsed KIS responses: the envelope, case-insensitive outputs and continuation data."""

from __future__ import annotations

import json
from collections.abc import ItemsView, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CIDict", "KISResponse", "ci", "loads_ci"]


class CIDict(Mapping[str, Any]):
    """Read-only mapping whose look-ups ignore case (KIS mixes ``ODNO`` and ``odno``).

    Iteration yields the keys as the server sent them.
    """

    # ``_lower`` (lower-case key -> key as sent) is built on the first look-up: a typed row
    # parser only iterates ``items()``, and most rows of a page are never looked up by key.
    __slots__ = ("_data", "_lower")

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})
        self._lower: dict[str, str] | None = None

    @classmethod
    def _adopt(cls, data: dict[str, Any]) -> CIDict:
        """Wrap a dict this module just built, without copying it."""
        self = cls.__new__(cls)
        self._data = data
        self._lower = None
        return self

    def _keys_by_lower(self) -> dict[str, str]:
        lower = self._lower
        if lower is None:
            lower = self._lower = {k.lower(): k for k in self._data}
        return lower

    def __getitem__(self, key: str) -> Any:
        return self._data[self._keys_by_lower()[key.lower()]]

    def get(self, key: str, default: Any = None) -> Any:
        """``self[key]`` or ``default`` (any key case)."""
        name = self._keys_by_lower().get(key.lower()) if isinstance(key, str) else None
        return default if name is None else self._data[name]

    def items(self) -> ItemsView[str, Any]:
        """``(key as sent, value)`` pairs."""
        return self._data.items()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._keys_by_lower()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        # Masked: bodies carry CANO and continuation keys that begin with the account number.
        from stock_manager.masking import mask_request

        return f"CIDict({mask_request(self.to_dict())!r})"

    def to_dict(self) -> dict[str, Any]:
        """A plain ``dict`` (nested values converted too)."""
        return {k: _plain(v) for k, v in self._data.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, CIDict):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# JSON scalars: ``ci`` passes them through with one set look-up instead of two ``isinstance``
# checks against ABCs (a 20-row page has ~450 of them; that was 0.1 ms a page).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def ci(value: Any) -> Any:
    """Wrap every mapping inside ``value`` (recursively) in a :class:`CIDict`."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict or isinstance(value, Mapping):
        return CIDict._adopt({k: v if type(v) in _SCALARS else ci(v) for k, v in value.items()})
    if kind is list:
        return [v if type(v) in _SCALARS else ci(v) for v in value]
    if isinstance(value, list):
        return [ci(v) for v in value]
    return value


def loads_ci(content: bytes | str) -> Any:
    """Parse JSON with every object already a :class:`CIDict`.

    The decoder hands each object to ``CIDict._adopt`` as it builds it: one call per object
    instead of walking the parsed tree again (which ``ci`` has to do).
    """
    return json.loads(content, object_hook=CIDict._adopt)


@dataclass(frozen=True)
class KISResponse(Mapping[str, Any]):
    """A successful KIS reply (``rt_cd == "0"``).

    It is also a read-only, case-insensitive mapping over the JSON body, so code written
    against raw dicts (``response["rt_cd"]``, ``response.get("output")``) keeps working.
    """

    http_status: int
    tr_id: str
    body: CIDict
    headers: CIDict = field(default_factory=CIDict)
    #: The order-journal entry of this request, when it was journaled.
    journal_id: int | None = None

    def __repr__(self) -> str:
        return (
            f"KISResponse(http_status={self.http_status!r}, tr_id={self.tr_id!r},"
            f" body={self.body!r}, headers={self.headers!r}, journal_id={self.journal_id!r})"
        )

    __str__ = __repr__

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.body)

    def __len__(self) -> int:
        return len(self.body)

    @property
    def rt_cd(self) -> str:
        """``"0"`` on success."""
        return str(self.body.get("rt_cd", "")).strip()

    @property
    def msg_cd(self) -> str:
        """The 8-character message code (``KIOK0430``, ``APBK2938`` ...)."""
        return str(self.body.get("msg_cd", "")).strip()

    @property
    def msg1(self) -> str:
        """The message, without KIS's right-padding (``msg`` is accepted for ``msg1``)."""
        return str(self.body.get("msg1", self.body.get("msg", ""))).strip()

    @property
    def output(self) -> Any:
        """``output`` (a :class:`CIDict` or a list of them), or ``None``."""
        return self.body.get("output")

    @property
    def output1(self) -> Any:
        """``output1`` where the API has one."""
        return self.body.get("output1")

    @property
    def output2(self) -> Any:
        """``output2`` where the API has one."""
        return self.body.get("output2")

    def rows(self, key: str = "output") -> list[CIDict]:
        """An output as a list whatever shape KIS used (object, list or missing)."""
        value = self.body.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return [v for v in value if isinstance(v, CIDict)]
        return [value] if isinstance(value, CIDict) else []

    def first(self, key: str = "output") -> CIDict:
        """The first row of an output (an empty mapping when there is none)."""
        rows = self.rows(key)
        return rows[0] if rows else CIDict()

    @property
    def ctx(self) -> dict[str, str]:
        """Continuation keys (``ctx_area_fk200`` ...) in lower case, padding stripped."""
        return {
            k.lower(): str(v).strip()
            for k, v in self.body.items()
            if k.lower().startswith("ctx_area_")
        }

    @property
    def tr_cont(self) -> str:
        """Response header ``tr_cont``: ``F``/``M`` more pages follow, ``D``/``E`` last page."""
        return str(self.headers.get("tr_cont", "")).strip().upper()

    @property
    def has_next(self) -> bool:
        """Whether another page can be asked for with ``tr_cont: N``."""
        return self.tr_cont in {"F", "M"}

    @property
    def gt_uid(self) -> str:
        """Response header ``gt_uid`` (corporate customers), or ``""``."""
        return str(self.headers.get("gt_uid", "")).strip()
