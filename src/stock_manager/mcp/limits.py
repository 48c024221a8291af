"""The ``[mcp]`` limits of a profile, and the check every order tool runs before it sends.

::

    # $XDG_CONFIG_HOME/stock-manager/config.toml
    [work]
    app_key = "..."
    [work.mcp]
    max_order_value = 2_000_000      # won, qty x price of one order
    orders_per_day = 10              # place + modify requests per KST day
    value_per_day = 10_000_000       # won, summed over those requests
    symbols = ["005930", "000660"]   # allowlist (absent: any symbol)
    kill_switch = "~/STOP-TRADING"   # while this file exists every order tool refuses

The day's usage is counted from the order journal (entries created since 00:00 KST of the
injected clock's date, for this account), so a restart of the server forgets nothing. What is
counted: place and modify requests whose outcome is not "rejected", "not sent" or "reconciled:
not applied" (a cancel lowers exposure and is never limited, except by the kill switch). The
value of a modify is its full new value (qty x price), so counting it again is conservative.

A market (or pre-market) order has no price to bound: while a value limit is set it is refused,
naming the limit, rather than guessed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["LimitRefusal", "Limits", "OrderValue", "Usage", "check_order", "usage_today"]

KST = timezone(timedelta(hours=9), "KST")
# Journal intents that add exposure (the reservation API's place and modify).
COUNTED_INTENTS = frozenset({"place", "modify"})
_NOT_COUNTED = frozenset({"rejected", "not_sent", "reconciled_not_applied"})


class LimitRefusal(Exception):
    """An order tool refused because of a limit; ``limit`` names it (e.g. ``orders_per_day``)."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


class Limits(BaseModel):
    """The ``[PROFILE.mcp]`` table: every limit is optional; unknown keys are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_order_value: int | None = Field(default=None, gt=0, description="won per order")
    orders_per_day: int | None = Field(default=None, ge=0)
    value_per_day: int | None = Field(default=None, gt=0, description="won per KST day")
    symbols: tuple[str, ...] | None = None
    kill_switch: Path | None = None

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, v: object) -> object:
        if v is None:
            return v
        if not isinstance(v, list | tuple):
            raise ValueError("must be a list of stock codes")
        # The library's symbol rule (OrderTerms) is the one validator of a stock code.
        from stock_manager.adapters.broker.kis.reservations.models import OrderTerms

        out = []
        for item in v:
            try:
                terms = OrderTerms(symbol=item, qty=1, price=1, side="buy")
            except ValidationError as exc:
                if any(e["loc"] == ("symbol",) for e in exc.errors()):
                    raise ValueError(f"{item!r} is not a 6-character KRX code") from None
                raise
            out.append(terms.symbol)
        return tuple(out)

    @field_validator("kill_switch", mode="before")
    @classmethod
    def _expand(cls, v: object) -> object:
        return Path(os.path.expanduser(v)) if isinstance(v, str) else v

    @classmethod
    def from_table(cls, table: Any, where: str) -> Limits:
        """Parse the TOML table; a bad one is a :class:`ValueError` naming ``where``."""
        if table is None:
            return cls()
        if not isinstance(table, dict):
            raise ValueError(f"{where} must be a table")
        try:
            return cls.model_validate(table)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'mcp'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"bad {where}: {problems}") from None

    def describe(self) -> dict[str, Any]:
        """The limits as JSON data (what the server reports at start and in refusals)."""
        return {
            "max_order_value": self.max_order_value,
            "orders_per_day": self.orders_per_day,
            "value_per_day": self.value_per_day,
            "symbols": list(self.symbols) if self.symbols is not None else None,
            "kill_switch": str(self.kill_switch) if self.kill_switch else None,
        }

    def kill_switch_engaged(self) -> bool:
        """Whether the kill-switch file exists (checked on every order tool call)."""
        return self.kill_switch is not None and self.kill_switch.exists()


@dataclass(frozen=True)
class OrderValue:
    """What a limit needs to know of one order: ``price`` None/0 for a market order."""

    symbol: str
    qty: int
    price: Decimal | None

    @property
    def value(self) -> Decimal | None:
        """qty x price in won, or None when there is no price."""
        return self.qty * self.price if self.price else None


@dataclass(frozen=True)
class Usage:
    """Orders and value counted today (KST) from the journal."""

    day: str
    orders: int
    value: Decimal


def _value_of(request: dict[str, Any]) -> Decimal:
    try:
        qty = Decimal(str(request.get("ORD_QTY", "0")).strip() or "0")
        price = Decimal(str(request.get("ORD_UNPR", "0")).strip() or "0")
    except InvalidOperation:
        return Decimal(0)
    return qty * price if qty.is_finite() and price.is_finite() else Decimal(0)


def usage_today(entries: Iterable[Any], now: datetime, account: str) -> Usage:
    """Count ``entries`` (journal entries, newest first) of ``account`` on ``now``'s KST day."""
    day = now.astimezone(KST).date()
    orders, value = 0, Decimal(0)
    for e in entries:
        if e.created_at.astimezone(KST).date() != day or e.intent not in COUNTED_INTENTS:
            continue
        if str(e.outcome) in _NOT_COUNTED or (account and e.account and e.account != account):
            continue
        orders += 1
        value += _value_of(e.request)
    return Usage(day.isoformat(), orders, value)


def day_start(now: datetime) -> datetime:
    """00:00 KST of ``now``'s KST date (the journal query's lower bound)."""
    return datetime.combine(now.astimezone(KST).date(), time(0), KST)


def check_order(limits: Limits, order: OrderValue | None, usage: Usage) -> None:
    """Raise :class:`LimitRefusal` naming the first limit ``order`` would break.

    ``order`` None (a cancel) is checked against the kill switch only.
    """
    if limits.kill_switch_engaged():
        raise LimitRefusal(
            "kill_switch",
            f"kill_switch {limits.kill_switch} exists: every order tool is stopped"
            " (remove the file to allow orders again)",
        )
    if order is None:
        return
    if limits.symbols is not None and order.symbol not in limits.symbols:
        raise LimitRefusal(
            "symbols",
            f"{order.symbol} is not in the symbols allowlist ({', '.join(limits.symbols)})",
        )
    value = order.value
    if value is None and (limits.max_order_value or limits.value_per_day):
        name = "max_order_value" if limits.max_order_value else "value_per_day"
        raise LimitRefusal(
            name,
            f"an order without a price (market/pre-market) cannot be bounded by {name};"
            " use a limit order",
        )
    if limits.max_order_value is not None and value is not None and value > limits.max_order_value:
        raise LimitRefusal(
            "max_order_value",
            f"order value {value:,.0f} won exceeds max_order_value {limits.max_order_value:,} won",
        )
    if limits.orders_per_day is not None and usage.orders + 1 > limits.orders_per_day:
        raise LimitRefusal(
            "orders_per_day",
            f"{usage.orders} order request(s) already journaled on {usage.day} (KST);"
            f" orders_per_day is {limits.orders_per_day}",
        )
    if (
        limits.value_per_day is not None
        and value is not None
        and usage.value + value > limits.value_per_day
    ):
        raise LimitRefusal(
            "value_per_day",
            f"{usage.value:,.0f} won already journaled on {usage.day} (KST) + {value:,.0f} won"
            f" exceeds value_per_day {limits.value_per_day:,} won",
        )
