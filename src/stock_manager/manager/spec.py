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

Every problem of the file is reported at once, each with its line number, before anything is
sent (:class:`SpecError`). ``tomllib`` gives no positions for values, so the lines of
``[[reservation]]`` headers and keys are found by a line scan of the same text (a TOML parser
that keeps positions would be a dependency for this one message).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from stock_manager.adapters.broker.kis.errors import KISValidationError
from stock_manager.adapters.broker.kis.reservations.models import (
    BalanceType,
    OrderTerms,
    OrderType,
    Side,
    parse_order_type,
    parse_side,
)

__all__ = ["Declaration", "SpecError", "StandingSpec", "load_spec", "parse_spec"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEYS = frozenset(
    {"id", "symbol", "side", "qty", "price", "order_type", "balance_type", "until", "days"}
    | {"renew"}
)
_TOP_KEYS = frozenset({"name", "reservation"})
_BALANCE_ALIASES = {"cash": "10"}
MAX_DAYS = 30


class SpecError(KISValidationError):
    """The declaration file is invalid; ``problems`` holds one ``line N: ...`` per problem."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s): " + "; ".join(problems))


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
    except OSError as exc:
        raise SpecError(str(p), [f"cannot read: {exc.strerror or exc}"]) from None
    return parse_spec(text, name=p.stem, path=str(p))


def _lines(text: str) -> tuple[list[int], dict[tuple[int, str], int]]:
    """Header line of every ``[[reservation]]`` and the line of each key inside it."""
    headers: list[int] = []
    keys: dict[tuple[int, str], int] = {}
    header = re.compile(r"^\s*\[\[\s*reservation\s*\]\]")
    other = re.compile(r"^\s*\[")
    key = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")
    current = -1
    for n, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            headers.append(n)
            current = len(headers) - 1
            continue
        if other.match(line):
            current = -2  # some other table: keys there are not a reservation's
            continue
        m = key.match(line)
        if m and current >= 0:
            keys.setdefault((current, m.group(1)), n)
        elif m and current == -1:
            keys.setdefault((-1, m.group(1)), n)
    return headers, keys


def parse_spec(text: str, *, name: str = "default", path: str = "<spec>") -> StandingSpec:
    """Validate TOML ``text``; every problem is collected, then raised as one SpecError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(path, [f"not valid TOML: {exc}"]) from None
    headers, key_lines = _lines(text)
    problems: list[str] = []
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(f"line {key_lines.get((-1, key), 0)}: unknown top-level key {key!r}")
    ns = data.get("name", name)
    if not isinstance(ns, str) or not _ID.match(ns):
        problems.append(f"line {key_lines.get((-1, 'name'), 0)}: name must be a short identifier")
        ns = name
    items = data.get("reservation", [])
    if not isinstance(items, list):
        problems.append("reservation must be an array of tables: [[reservation]]")
        items = []
    decls: list[Declaration] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        head = headers[i] if i < len(headers) else 0

        def at(key: str, i: int = i, head: int = head) -> int:
            return key_lines.get((i, key), head)

        rid = item.get("id") if isinstance(item, dict) else None
        if isinstance(rid, str) and rid in seen:
            problems.append(
                f"line {at('id')}: id {rid!r} is declared twice (first on line {seen[rid]})"
            )
        elif isinstance(rid, str):
            seen[rid] = at("id")
        before = len(problems)
        decl = _declaration(item, head, at, problems)
        if decl is not None and len(problems) == before:
            decls.append(decl)
    if problems:
        raise SpecError(path, problems)
    return StandingSpec(ns, tuple(decls), path)


def _declaration(item: Any, head: int, at: Any, problems: list[str]) -> Declaration | None:
    if not isinstance(item, dict):
        problems.append(f"line {head}: a reservation must be a table")
        return None
    for key in sorted(set(item) - _KEYS):
        problems.append(
            f"line {at(key)}: unknown key {key!r} (allowed: {', '.join(sorted(_KEYS))})"
        )
    rid = item.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        problems.append(f"line {at('id')}: id is required: letters, digits, '-', '_', '.'")
        return None
    for key in ("symbol", "side", "qty"):
        if key not in item:
            problems.append(f"line {head}: reservation {rid!r} needs {key}")
    if any(k not in item for k in ("symbol", "side", "qty")):
        return None
    qty = item["qty"]
    if isinstance(qty, bool) or not isinstance(qty, int):
        problems.append(f"line {at('qty')}: qty must be a whole number of shares")
        return None
    price_raw = item.get("price", 0)
    if isinstance(price_raw, (float, bool)):
        problems.append(f"line {at('price')}: price must be whole won (int or string), not float")
        return None
    try:
        side = parse_side(str(item["side"]))
    except KISValidationError as exc:
        problems.append(f"line {at('side')}: {exc}")
        side = Side.BUY  # keep checking the other fields
    try:
        otype = parse_order_type(str(item.get("order_type", "limit")))
    except KISValidationError as exc:
        problems.append(f"line {at('order_type')}: {exc}")
        return None
    balance = str(item.get("balance_type", "10")).strip().lower()
    balance = _BALANCE_ALIASES.get(balance, balance)
    try:
        terms = OrderTerms.build(
            f"reservation {rid!r}",
            symbol=str(item["symbol"]),
            qty=qty,
            price=Decimal(str(price_raw)) if price_raw != "" else Decimal(0),
            side=side,
            order_type=otype,
            balance_type=balance,
        )
    except (KISValidationError, ArithmeticError) as exc:
        # The message names the field (symbol: ..., qty: ...): point at that key's line.
        text = str(exc)
        key = next((k for k in ("symbol", "qty", "price", "balance_type") if f"{k}:" in text), "")
        problems.append(f"line {at(key) if key else head}: {text}")
        return None
    until = item.get("until")
    until_date: date | None = None
    if until is not None:
        if isinstance(until, datetime):
            until_date = until.date()
        elif isinstance(until, date):
            until_date = until
        elif isinstance(until, str):
            try:
                until_date = date.fromisoformat(until.strip())
            except ValueError:
                problems.append(f"line {at('until')}: until must be a date like 2026-12-31")
        else:
            problems.append(f"line {at('until')}: until must be a date like 2026-12-31")
    days = item.get("days")
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS
    ):
        problems.append(f"line {at('days')}: days must be a whole number from 1 to {MAX_DAYS}")
        days = None
    renew = item.get("renew", False)
    if not isinstance(renew, bool):
        problems.append(f"line {at('renew')}: renew must be true or false")
        renew = False
    return Declaration(
        id=rid,
        symbol=terms.symbol,
        side=terms.side,
        qty=terms.qty,
        price=terms.price,
        order_type=terms.order_type,
        balance_type=terms.balance_type,
        until=until_date,
        days=days,
        renew=renew,
        line=head,
    )
