"""Standing reservations declared in a TOML file, validated as a whole.

::

    name = "my-book"            # optional: the namespace of the id links (default: file stem)

    [[reservation]]
    id = "samsung-dip"          # your name for this intent; letters, digits, - _ .
    symbol = "005930"
    side = "buy"                # buy | sell
    qty = 10
    price = 69000               # whole won; omit for market / pre-market
    order_type = "limit"        # limit | market | conditional | pre-market
    balance_type = "10"         # 주문대상잔고구분코드 (sell-side credit codes allowed)
    until = 2026-12-31          # last day this intent lives (TOML date or "YYYY-MM-DD")
    days = 5                    # each reservation: a period reservation over 5 open days
    renew = true                # place again when processed unfilled/partly, or expired

Every problem of the file is reported at once, each as ``FILE:LINE:COLUMN: reservation 'id':
field: message`` pointing at the offending key, before anything is sent (:class:`SpecError`).
The order terms (symbol, side, qty, price, order_type, balance_type) are checked by the
library's own model, :class:`~stock_manager.adapters.broker.kis.reservations.OrderTerms`, and
``until``/``days`` by its ``strict_date``/``strict_days``: the file accepts and refuses what
``place_reservation`` and ``resv place`` do, with the same words.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from stock_manager.adapters.broker.kis.errors import KISValidationError
from stock_manager.adapters.broker.kis.reservations.models import (
    BalanceType,
    OrderTerms,
    OrderType,
    Side,
    field_problems,
    strict_date,
    strict_days,
)

__all__ = ["Declaration", "SpecError", "StandingSpec", "load_spec", "parse_spec"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: The keys that are order terms: checked together by the library's OrderTerms model.
_TERMS = ("symbol", "side", "qty", "price", "order_type", "balance_type")
_KEYS = frozenset({"id", *_TERMS, "until", "days", "renew"})
_TOP_KEYS = frozenset({"name", "reservation"})


@dataclass(frozen=True, order=True)
class Problem:
    """One problem of a file: where (1-based; 0 when unknown), which entry, what."""

    line: int
    column: int
    entry: str  # "reservation 'a'", "reservation #2" or "" for the file as a whole
    message: str

    def render(self, path: str) -> str:
        """``FILE:LINE:COLUMN: entry: message``, the form editors and compilers use."""
        where = f"{path}:{self.line}:{self.column}" if self.line else path
        return (
            f"{where}: {self.entry}: {self.message}" if self.entry else f"{where}: {self.message}"
        )


class SpecError(KISValidationError):
    """The declaration file is invalid: nothing was sent.

    ``problems`` holds one ``FILE:LINE:COLUMN: entry: message`` line per problem, in file
    order; ``details`` the same as :class:`Problem` values.
    """

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.details = tuple(sorted(problems))
        self.problems = [p.render(path) for p in self.details]
        super().__init__(
            f"{path}: {len(self.problems)} problem(s), nothing was sent:\n"
            + "\n".join(self.problems)
        )


@dataclass(frozen=True)
class Declaration:
    """One declared standing reservation."""

    id: str
    symbol: str
    side: Side
    qty: int
    price: Decimal
    order_type: OrderType
    balance_type: BalanceType
    until: date | None
    days: int | None
    renew: bool
    line: int = 0

    @property
    def spec_hash(self) -> str:
        """Fingerprint of what was declared (a changed declaration means modify)."""
        data = {
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": self.qty,
            "price": str(self.price),
            "order_type": self.order_type.value,
            "balance_type": self.balance_type.value,
            "until": self.until.isoformat() if self.until else "",
            "days": self.days or 0,
            "renew": self.renew,
        }
        raw = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class StandingSpec:
    """A validated declaration file."""

    name: str
    declarations: tuple[Declaration, ...]
    path: str = ""

    def by_id(self) -> dict[str, Declaration]:
        """Declarations keyed by id."""
        return {d.id: d for d in self.declarations}


def load_spec(path: str | Path) -> StandingSpec:
    """Read and validate ``path`` (:class:`SpecError` listing every problem)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(str(p), [Problem(0, 0, "", f"cannot read: {why}")]) from None
    return parse_spec(text, name=p.stem, path=str(p))


Position = tuple[int, int]  # (line, column), 1-based


@dataclass
class _Positions:
    """Where the ``[[reservation]]`` headers and the keys of the file are written."""

    headers: list[Position]
    #: (entry index, key) -> position of the key; entry -1 for top-level keys.
    keys: dict[tuple[int, str], Position]

    def entry(self, i: int) -> Position:
        """The header of entry ``i``; for ``reservation = [{...}]`` the ``reservation`` key."""
        if i < len(self.headers):
            return self.headers[i]
        return self.keys.get((-1, "reservation"), (0, 0))

    def key(self, i: int, key: str) -> Position:
        """The line and column of ``key`` in entry ``i``, else of the entry itself."""
        return self.keys.get((i, key)) or self.entry(i)


_HEADER = re.compile(r"""\s*\[\[\s*(?:reservation|"reservation"|'reservation')\s*\]\]""")
_TABLE = re.compile(r"\s*\[")
_KEY = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"([^"\\]*)"|'([^']*)')\s*=""")


def _positions(text: str) -> _Positions:
    """Find each key's line and column by scanning ``text``, which tomllib already accepted.

    Why a scan: ``tomllib`` (the standard library's parser) gives values without positions,
    and no dependency of the project keeps them (``tomlkit`` round-trips text but records no
    line numbers either). The scan only has to *locate* keys of a document known to be valid
    TOML, so it needs just enough TOML to skip what may span lines and hide a ``key =`` or
    ``[`` at the start of a line: multi-line strings and multi-line arrays. A key it cannot
    place (a dotted key, an inline table) falls back to its entry's header: the message is
    still right, only less precise.
    """
    headers: list[Position] = []
    keys: dict[tuple[int, str], Position] = {}
    entry = -1  # -1: top level; -2: some other table, whose keys are not an entry's
    state = _Scan()
    # TOML's newline is LF (or CRLF); str.splitlines() would also split at U+2028 & co.
    for n, line in enumerate(text.split("\n"), start=1):
        if state.clean:
            if m := _HEADER.match(line):
                headers.append((n, len(line) - len(line.lstrip()) + 1))
                entry = len(headers) - 1
                continue
            if _TABLE.match(line):
                entry = -2
                continue
            if m := _KEY.match(line):
                name = next(g for g in m.groups() if g is not None)
                if entry != -2:
                    column = len(line) - len(line.lstrip()) + 1
                    keys.setdefault((entry, name), (n, column))
                state.feed(line[m.end() :])
                continue
        state.feed(line)
    return _Positions(headers, keys)


class _Scan:
    """Whether the scan is inside a multi-line string or array at the end of a line."""

    def __init__(self) -> None:
        self.quote = ""  # the delimiter (three quotes) while inside a multi-line string
        self.depth = 0  # open "[" of a value

    @property
    def clean(self) -> bool:
        """At a line where a new key or table may start."""
        return not self.quote and self.depth == 0

    def feed(self, text: str) -> None:
        """Advance over ``text`` (a value, or the rest of a value on the next line)."""
        i = 0
        while i < len(text):
            if self.quote:
                end = _close(text, i, self.quote)
                if end < 0:
                    return  # the string goes on to the next line
                self.quote, i = "", end
                continue
            c = text[i]
            if c == "#":
                return  # a comment runs to the end of the line
            if text.startswith('"""', i) or text.startswith("'''", i):
                self.quote, i = text[i : i + 3], i + 3
            elif c in "\"'":
                end = _close(text, i + 1, c)
                i = end if end >= 0 else len(text)
            else:
                self.depth += (c == "[") - (c == "]")
                i += 1


def _close(text: str, start: int, quote: str) -> int:
    """The index just after ``quote`` closing a string opened before ``start``, or -1.

    Basic strings (``"``) honour backslash escapes; literal ones (``'``) have none. A
    multi-line string may end with one or two extra quote characters before its delimiter.
    """
    i = start
    while i < len(text):
        if quote[0] == '"' and text[i] == "\\":
            i += 2
            continue
        if text.startswith(quote, i):
            end = i + len(quote)
            while len(quote) == 3 and end < len(text) and text[end] == quote[0]:
                end += 1
            return end
        i += 1
    return -1


def parse_spec(text: str, *, name: str = "default", path: str = "<spec>") -> StandingSpec:
    """Validate TOML ``text``; every problem is collected, then raised as one SpecError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message carries the line and column: "... (at line 3, column 7)".
        raise SpecError(path, [Problem(0, 0, "", f"not valid TOML: {exc}")]) from None
    pos = _positions(text)
    problems: list[Problem] = []
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(Problem(*pos.key(-1, key), "", f"unknown top-level key {key!r}"))
    ns = data.get("name", name)
    if not isinstance(ns, str) or not _ID.match(ns):
        problems.append(Problem(*pos.key(-1, "name"), "", "name must be a short identifier"))
        ns = name
    items = data.get("reservation", [])
    if not isinstance(items, list):
        problems.append(
            Problem(
                *pos.key(-1, "reservation"),
                "",
                "reservation must be an array of tables: [[reservation]]",
            )
        )
        items = []
    decls: list[Declaration] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        before = len(problems)
        decl = _declaration(i, item, pos, problems)
        rid = item.get("id") if isinstance(item, dict) else None
        if isinstance(rid, str) and rid in seen:
            message = f"id {rid!r} is declared twice (first on line {seen[rid]})"
            problems.append(Problem(*pos.key(i, "id"), f"reservation {rid!r}", message))
        elif isinstance(rid, str):
            seen[rid] = pos.key(i, "id")[0]
        if decl is not None and len(problems) == before:
            decls.append(decl)
    if problems:
        raise SpecError(path, problems)
    return StandingSpec(ns, tuple(decls), path)


def _declaration(i: int, item: Any, pos: _Positions, problems: list[Problem]) -> Declaration | None:
    """Entry ``i`` as a :class:`Declaration`, or ``None`` with its problems appended.

    Every field is checked, whatever the others hold: an entry with three bad fields gives
    three problems, each at its own key.
    """
    rid = item.get("id") if isinstance(item, dict) else None
    entry = f"reservation {rid!r}" if isinstance(rid, str) else f"reservation #{i + 1}"

    def problem(key: str, message: str) -> None:
        problems.append(Problem(*pos.key(i, key), entry, message))

    if not isinstance(item, dict):
        problem("", "a reservation must be a table")
        return None
    before = len(problems)
    for key in sorted(set(item) - _KEYS):
        problem(key, f"unknown key {key!r} (allowed: {', '.join(sorted(_KEYS))})")
    if not isinstance(rid, str) or not _ID.match(rid):
        problem("id", "id is required: letters, digits, '-', '_', '.' (up to 64)")
    # The order terms: the library's model, on the values exactly as TOML gave them (a TOML
    # float reaches it as a float and is refused as the library refuses it).
    terms: OrderTerms | None = None
    try:
        terms = OrderTerms(**{k: item[k] for k in _TERMS if k in item})
    except ValidationError as exc:
        for field, loc, message in field_problems(exc):
            problem(field, f"{loc}: {message}" if loc else message)
    until: date | None = None
    if "until" in item:
        try:
            value = strict_date(item["until"])
            until = value if isinstance(value, date) else None
        except ValueError as exc:
            problem("until", f"until: {exc}")
    days: int | None = None
    if "days" in item:
        try:
            days = strict_days(item["days"])
        except KISValidationError as exc:  # the one rule of days (with resv place --days)
            problem("days", str(exc))
    renew = item.get("renew", False)
    if not isinstance(renew, bool):
        problem("renew", "renew must be true or false")
    if terms is None or len(problems) > before or not isinstance(rid, str):
        return None
    return Declaration(
        id=rid,
        symbol=terms.symbol,
        side=terms.side,
        qty=terms.qty,
        price=terms.price,
        order_type=terms.order_type,
        balance_type=terms.balance_type,
        until=until,
        days=days,
        renew=renew,
        line=pos.entry(i)[0],
    )
