"""Reading WebSocket messages: JSON control replies and ``enc|TR|count|fields`` data frames.

A data frame is ``<0|1>|<TR_ID>|<count>|<payload>`` (research §1.5): the payload holds
``count`` records of the TR's fields joined by ``^``, the records themselves also joined by
``^``. The payload is split only when its length is ``count`` × a known width of that TR; any
other width is reported (:class:`WidthError` names it) instead of being read by position,
which is how peers silently misread the 26-field notice as the 23-field one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from stock_manager.adapters.broker.kis.tr_ids import CATALOG

__all__ = [
    "NOTICE_TRS",
    "OLD_NOTICE_COLUMNS",
    "DataFrame",
    "FrameError",
    "WidthError",
    "columns_of",
    "decode",
    "layouts",
    "parse",
    "split_records",
]

#: The domestic execution notice TRs (real, paper).
NOTICE_TRS = frozenset({"H0STCNI0", "H0STCNI9"})
#: The 23-field H0STCNI0 layout before KIS added three fields (python-kis#68/#80).
OLD_NOTICE_COLUMNS: tuple[str, ...] = (
    "CUST_ID",
    "ACNT_NO",
    "ODER_NO",
    "OODER_NO",
    "SELN_BYOV_CLS",
    "RCTF_CLS",
    "ODER_KIND",
    "ODER_COND",
    "STCK_SHRN_ISCD",
    "CNTG_QTY",
    "CNTG_UNPR",
    "STCK_CNTG_HOUR",
    "RFUS_YN",
    "CNTG_YN",
    "ACPT_YN",
    "BRNC_NO",
    "ODER_QTY",
    "ACNT_NAME",
    "CNTG_ISNM",
    "CRDT_CLS",
    "CRDT_LOAN_DATE",
    "CNTG_ISNM40",
    "ODER_PRC",
)


class FrameError(ValueError):
    """A message that is neither JSON nor a well-formed data frame."""


class WidthError(FrameError):
    """The payload's field count is not ``count`` × any known width of the TR."""

    def __init__(self, tr_id: str, count: int, fields: int, known: tuple[int, ...]) -> None:
        self.tr_id, self.count, self.fields, self.known = tr_id, count, fields, known
        width = f"{fields / count:g}" if count else "?"
        super().__init__(
            f"{tr_id}: {fields} fields for {count} record(s) (width {width});"
            f" known widths: {', '.join(map(str, known)) or 'none'}"
        )

    @property
    def width(self) -> float:
        """Fields per record as received (may be fractional when nothing fits)."""
        return self.fields / self.count if self.count else float(self.fields)


@dataclass(frozen=True)
class DataFrame:
    """One data frame, payload still as received (encrypted when ``encrypted``)."""

    encrypted: bool
    tr_id: str
    count: int
    payload: str


def decode(raw: str | bytes) -> str:
    """Text of a message; invalid UTF-8 becomes U+FFFD instead of killing the connection."""
    return raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")


def parse(text: str) -> dict[str, Any] | DataFrame:
    """A JSON control message (dict) or a :class:`DataFrame`; :class:`FrameError` otherwise."""
    if text[:1] in ("0", "1") and text[1:2] == "|":
        parts = text.split("|", 3)
        if len(parts) != 4 or not parts[2].isdigit():
            raise FrameError(f"malformed data frame header: {text[:40]!r}")
        return DataFrame(parts[0] == "1", parts[1], int(parts[2]), parts[3])
    try:
        doc = json.loads(text)
    except ValueError:
        raise FrameError(f"neither JSON nor a data frame: {text[:40]!r}") from None
    if not isinstance(doc, dict):
        raise FrameError(f"unexpected JSON message: {text[:40]!r}")
    return doc


@cache
def columns_of(tr_id: str) -> tuple[str, ...]:
    """The TR's field names from the API catalog (``()`` for a TR the catalog lacks)."""
    spec = CATALOG.by_tr_id(tr_id)
    if spec is None or spec.transport != "WS":
        return ()
    blocks = [b for b in spec.response if b.fields]
    return (
        tuple(name for name, _ in max(blocks, key=lambda b: len(b.fields)).fields) if blocks else ()
    )


def layouts(tr_id: str) -> tuple[tuple[str, ...], ...]:
    """Every column layout the TR is known to use, current first."""
    current = columns_of(tr_id)
    if tr_id in NOTICE_TRS:
        return (current, OLD_NOTICE_COLUMNS)
    return (current,) if current else ()


def split_records(tr_id: str, count: int, plain: str) -> list[dict[str, str]]:
    """The frame's records as ``{column: value}``, after the count × width check."""
    values = plain.split("^")
    known = tuple(len(cols) for cols in layouts(tr_id))
    for cols in layouts(tr_id):
        width = len(cols)
        if count > 0 and len(values) == count * width:
            return [
                dict(zip(cols, values[i * width : (i + 1) * width], strict=True))
                for i in range(count)
            ]
    raise WidthError(tr_id, count, len(values), known)
