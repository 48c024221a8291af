"""Typed requests and tolerant responses of the reservation-order (예약주문) APIs.

Request models reject, before any network call, what KIS would reject or silently misread
(``shared/kis-spec.md`` §1.2, §1.3, §1.5). Response models accept what KIS really sends: every
value a string, upper- or lower-case keys, blanks for "none".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import constants as C
from ..errors import KISValidationError

__all__ = [
    "KST",
    "BalanceType",
    "OrderChanges",
    "OrderTerms",
    "OrderType",
    "Reservation",
    "ReservationStatus",
    "RuleError",
    "Side",
    "StatusFilter",
    "WindowPolicy",
    "check_window",
    "field_problems",
    "parse_balance_type",
    "parse_order_type",
    "parse_side",
    "strict_days",
    "today_kst",
    "validation_error",
]

KST = timezone(timedelta(hours=9))
MAX_PERIOD_DAYS = C.RESERVATION_MAX_PERIOD_DAYS
WindowPolicy = Literal["warn", "refuse", "ignore"]
#: Where a reservation is in its life (:attr:`Reservation.status`):
#:
#: * ``waiting``   — not sent yet; KIS sends it on its order date. Can be modified/cancelled.
#: * ``active``    — a period reservation (기간예약) KIS has already sent (``order_no`` is the
#:   order it became most recently) and will send again on a later open day, up to its end
#:   date, for the still-unfilled quantity. Can be modified/cancelled: that stops (or changes)
#:   the later days only; the order already sent is separate (``resv cancel-order``).
#: * ``sent``      — turned into an order for the last time (a one-day reservation after its
#:   day, or a period reservation on or after its end date), not fully filled. Ended as a
#:   reservation; its order may still be open (``resv cancel-order``).
#: * ``filled``    — fully filled. Ended.
#: * ``rejected``  — KIS refused it on a processing day (거부). Ended.
#: * ``cancelled`` — cancelled. Ended.
ReservationStatus = Literal["waiting", "active", "sent", "filled", "rejected", "cancelled"]
#: ``--status`` filters: ``pending`` = can still act (waiting + active); ``processed`` = sent or
#: rejected at least once (active, sent, filled, rejected); ``ended`` = will never act again.
StatusFilter = Literal["all", "pending", "waiting", "active", "processed", "ended"]
STATUS_FILTERS: tuple[str, ...] = ("all", "pending", "waiting", "active", "processed", "ended")
_FILTER_STATUSES: Mapping[str, frozenset[str]] = {
    "pending": frozenset({"waiting", "active"}),
    "waiting": frozenset({"waiting"}),
    "active": frozenset({"active"}),
    "processed": frozenset({"active", "sent", "filled", "rejected"}),
    "ended": frozenset({"sent", "filled", "rejected", "cancelled"}),
}
#: prcs_rslt of a reservation KIS refused on its processing day.
REJECTED_RESULT = "거부"
_UNPROCESSED_RESULTS = ("", "미처리")


class Side(StrEnum):
    """매도매수구분코드."""

    SELL = "01"
    BUY = "02"

    @property
    def label(self) -> str:
        """``buy`` / ``sell``."""
        return "sell" if self is Side.SELL else "buy"


class OrderType(StrEnum):
    """주문구분코드 of reservation orders: only these four exist (spec §1.2)."""

    LIMIT = "00"  # 지정가
    MARKET = "01"  # 시장가
    CONDITIONAL_LIMIT = "02"  # 조건부지정가
    PRE_MARKET = "05"  # 장전 시간외

    @property
    def label(self) -> str:
        """Lower-case English name."""
        return _TYPE_LABELS[self]

    @property
    def priced(self) -> bool:
        """Whether the order carries a price (``ORD_UNPR`` must be > 0)."""
        return self in (OrderType.LIMIT, OrderType.CONDITIONAL_LIMIT)


_TYPE_LABELS = {
    OrderType.LIMIT: "limit",
    OrderType.MARKET: "market",
    OrderType.CONDITIONAL_LIMIT: "conditional",
    OrderType.PRE_MARKET: "pre-market",
}
_TYPE_ALIASES = {
    **{v: k for k, v in _TYPE_LABELS.items()},
    "conditional-limit": OrderType.CONDITIONAL_LIMIT,
    "premarket": OrderType.PRE_MARKET,
    "pre_market": OrderType.PRE_MARKET,
}


class BalanceType(StrEnum):
    """주문대상잔고구분코드: ``10`` cash for both sides; the others are sell-side only."""

    CASH = "10"
    STOCK_LOAN = "12"
    LOAN_REPAY = "14"
    SELF_LOAN_NEW = "21"
    DIST_SHORT_NEW = "22"
    DIST_LOAN_NEW = "23"
    SELF_SHORT_NEW = "24"
    SELF_LOAN_REPAY = "25"
    DIST_SHORT_REPAY = "26"
    DIST_LOAN_REPAY = "27"
    SELF_SHORT_REPAY = "28"


def parse_side(value: Side | str) -> Side:
    """``"buy"``, ``"sell"``, ``"02"``, :class:`Side` → :class:`Side`."""
    if isinstance(value, Side):
        return value
    low = str(value).strip().lower()
    table = {"buy": Side.BUY, "b": Side.BUY, "02": Side.BUY, "sell": Side.SELL}
    table |= {"s": Side.SELL, "01": Side.SELL, "매수": Side.BUY, "매도": Side.SELL}
    if low not in table:
        raise KISValidationError(f"side must be buy or sell, not {value!r}")
    return table[low]


def parse_order_type(value: OrderType | str) -> OrderType:
    """``"limit"``, ``"market"``, ``"conditional"``, ``"pre-market"`` or a code."""
    if isinstance(value, OrderType):
        return value
    low = str(value).strip().lower()
    if low in _TYPE_ALIASES:
        return _TYPE_ALIASES[low]
    try:
        return OrderType(low)
    except ValueError:
        raise KISValidationError(
            f"order type must be limit (00), market (01), conditional (02) or pre-market (05)"
            f" for reservation orders, not {value!r}"
        ) from None


def parse_balance_type(value: str) -> str:
    """A balance-type code as written: surrounding blanks dropped, ``"cash"`` for ``10``.

    The code itself is checked by :class:`BalanceType` (the model field).
    """
    text = value.strip()
    return BalanceType.CASH.value if text.lower() == "cash" else text


def today_kst(now: datetime | None = None) -> date:
    """Today's date in Korea."""
    return (now or datetime.now(KST)).astimezone(KST).date()


def check_window(now: datetime, calendar: Any = None) -> str | None:
    """Why a reservation cannot be entered at ``now`` (spec §1.5), or ``None`` when it can.

    Decided by the KRX calendar (``calendar``, default the bundled one), as KIS states it:
    from 15:40 until 07:30 of the next business day, so weekends and holidays are inside; an
    open day's 07:30-15:40 (moved on late-session days) is outside, and 23:40 to 00:10 is
    blocked for server initialisation. ``None`` also when the calendar cannot tell (unknown
    day).
    """
    from stock_manager.calendar import bundled_calendar

    window = (calendar or bundled_calendar()).window(now)
    return None if window.inside is not False else window.reason


class RuleError(ValueError):
    """A rule across fields (price vs. order type, ...) broken; ``field`` is the one to fix.

    Raised inside the models' ``model_validator``: pydantic reports such errors without a
    location, and :func:`field_problems` reads the field back from here, so that a caller
    holding positions (the standing-reservations file) can point at the right key.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_problems(exc: ValidationError) -> list[tuple[str, str, str]]:
    """``(field, location, message)`` per problem, in pydantic's order, never echoing values.

    ``field`` is the top-level field to blame (for a cross-field rule, :attr:`RuleError.field`;
    ``""`` when none), ``location`` the dotted location pydantic gave (``""`` for a rule).
    The one source of the wording of :func:`validation_error` and of the file's messages.
    """
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        cause = err.get("ctx", {}).get("error")
        field = str(err["loc"][0]) if err["loc"] else getattr(cause, "field", "")
        out.append((field, loc, msg))
    return out


def validation_error(exc: ValidationError, what: str) -> KISValidationError:
    """One readable line per bad field, never echoing values."""
    parts = [f"{loc}: {msg}" if loc else msg for _, loc, msg in field_problems(exc)]
    return KISValidationError(f"invalid {what}: " + "; ".join(parts))


_PLAIN_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_GROUPED_DIGITS = re.compile(r"[0-9]{1,3}(,[0-9]{3})+", re.ASCII)
_FRACTION = re.compile(r"[0-9]+\.[0-9]*", re.ASCII)


def _ascii_digits(value: str, what: str, fractional: str) -> int:
    """``value`` as an int when it is ASCII digits, optionally grouped by thousands ("1,000").

    "1,0", "1_0", "１０" (full-width) and "١٠" (Arabic-Indic) are refused: Python's ``int()``
    and ``Decimal()`` read them as 10, and a user who typed them did not mean that.
    """
    text = value.strip(" \t")
    if _PLAIN_DIGITS.fullmatch(text) or _GROUPED_DIGITS.fullmatch(text):
        return int(text.replace(",", ""))
    if _FRACTION.fullmatch(text):
        raise ValueError(fractional)
    raise ValueError(f"{what} must be written with the digits 0-9 only (e.g. 1000 or 1,000)")


def strict_qty(v: object) -> object:
    """A quantity: ``int`` (not ``bool``) or a string of ASCII digits."""
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise ValueError(f"must be an int or a string of digits, not {type(v).__name__}")
    if isinstance(v, str):
        return _ascii_digits(v, "a quantity", "must be a whole number of shares")
    return int(v)


#: The most open days ``days`` may ask for (issue #22 item 8: one rule for all).
MAX_DAYS = MAX_PERIOD_DAYS
_DAYS_RULE = f"days must be a whole number of open days from 1 to {MAX_DAYS}"


def strict_days(v: object) -> int:
    """A number of open days: ``int`` (not ``bool``) or ASCII digits, 1 to :data:`MAX_DAYS`.

    The one rule of the library's schedule, ``resv place --days`` and the standing file's
    ``days``: more than 30 is refused everywhere (a period reservation lasts 30 calendar days
    at most; a bigger number is a mistake, not a wish to cap). Within it, an N-th open day
    past KIS's 30-day limit is the schedule's to handle, as an end date is (the end-date
    policy: snapped back with a warning, or refused).
    """
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise KISValidationError(_DAYS_RULE)
    if isinstance(v, str):
        try:
            v = _ascii_digits(v, "days", _DAYS_RULE)
        except ValueError as exc:
            raise KISValidationError(str(exc)) from None
    if not 1 <= v <= MAX_DAYS:
        raise KISValidationError(f"{_DAYS_RULE}, not {v}")
    return v


def strict_price(v: object) -> object:
    """A price: ``int`` (not ``bool``), a finite whole ``Decimal`` or a string of ASCII digits."""
    if isinstance(v, float):
        raise ValueError("give prices as int, str or Decimal, not float")
    if isinstance(v, bool) or not isinstance(v, int | str | Decimal):
        raise ValueError(f"must be an int, Decimal or string of digits, not {type(v).__name__}")
    if isinstance(v, str):
        return Decimal(_ascii_digits(v, "a price", "KRW prices are whole won"))
    if isinstance(v, Decimal):
        if not v.is_finite():  # Infinity, NaN and sNaN: comparing sNaN would raise
            raise ValueError("must be a finite number")
        if abs(v) >= Decimal(10) ** 18:
            raise ValueError("must be less than 10**18")
        if v != v.to_integral_value():
            raise ValueError("KRW prices are whole won")
        return v
    return Decimal(int(v))


def strict_date(v: object) -> object:
    """A date: ``date`` (not ``datetime``), ``None``, or ``YYYY-MM-DD`` / ``YYYYMMDD`` text.

    Pydantic would also read numbers and numeric strings as Unix timestamps.
    """
    if v is None or (isinstance(v, date) and not isinstance(v, datetime)):
        return v
    if isinstance(v, str):
        text = v.strip()
        for fmt in ("%Y-%m-%d", "%Y%m%d"):
            if len(text) == (10 if "-" in fmt else 8) and text.isascii():
                try:
                    return datetime.strptime(text, fmt).date()
                except ValueError:
                    continue
        raise ValueError("must be a date written YYYY-MM-DD or YYYYMMDD")
    raise ValueError(f"must be a date, not {type(v).__name__}")


class _TermsBase(BaseModel):
    """What new terms and a modify's changes share: strict numbers, dates, the end-date anchor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    today: date = Field(default_factory=today_kst, exclude=True)
    #: Last allowed end date (30 days from the next business day), when a calendar decided it.
    max_end_date: date | None = Field(default=None, exclude=True)

    @field_validator("qty", mode="before", check_fields=False)
    @classmethod
    def _qty(cls, v: object) -> object:
        return None if v is None else strict_qty(v)

    @field_validator("price", mode="before", check_fields=False)
    @classmethod
    def _price(cls, v: object) -> object:
        return None if v is None else strict_price(v)

    @field_validator("end_date", "loan_date", mode="before", check_fields=False)
    @classmethod
    def _dates(cls, v: object) -> object:
        return strict_date(v)

    @field_validator("order_type", mode="before", check_fields=False)
    @classmethod
    def _type(cls, v: object) -> object:
        return parse_order_type(v) if isinstance(v, str) else v

    @field_validator("balance_type", mode="before", check_fields=False)
    @classmethod
    def _balance(cls, v: object) -> object:
        return parse_balance_type(v) if isinstance(v, str) else v

    @classmethod
    def build(cls, what: str, **values: Any) -> Self:
        """Validate ``values``, raising :class:`KISValidationError` with a readable message."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise validation_error(exc, what) from None
        except KISValidationError as exc:
            raise KISValidationError(f"invalid {what}: {exc}") from None


class OrderChanges(_TermsBase):
    """The changes of a modify, checked on their own before anything is sent or listed."""

    qty: int | None = Field(default=None, gt=0, lt=10**10)
    price: Decimal | None = Field(default=None, ge=0, lt=Decimal(10) ** 18)
    order_type: OrderType | None = None
    end_date: date | None = None
    balance_type: BalanceType | None = None

    @model_validator(mode="after")
    def _rules(self) -> OrderChanges:
        if (
            self.qty is None
            and self.price is None
            and self.order_type is None
            and (self.end_date is None)
        ):
            raise ValueError("nothing to modify: give qty, price, order_type or end_date")
        _check_end_date(self.end_date, self.today, self.max_end_date)
        return self


def _digits(value: str) -> str:
    return value.replace(",", "").replace("_", "").strip()


def parse_symbol(text: str) -> str:
    """The KRX code in ``text`` (``a005930`` → ``005930``); ValueError when it is none.

    The one symbol check: order terms, listing filters and the CLI all use it.
    """
    if not text.isascii():
        # "ﬀ".upper() is "FF": only ASCII may be upper-cased into a code.
        raise ValueError("must be a 6-character KRX code like 005930")
    code = text.strip().upper().removeprefix("A")
    # KRX codes: 6 digits, or 6 alphanumerics for newer listings (e.g. 0009K0).
    if not re.fullmatch(r"[0-9][0-9A-Z]{4}[0-9]", code):
        raise ValueError("must be a 6-character KRX code like 005930")
    return code


class OrderTerms(_TermsBase):
    """The order terms of a reservation, checked the way KIS checks them.

    Used for placing and, after merging with the current reservation, for modifying.
    ``today`` anchors the end-date rule (it defaults to today in KST).
    """

    symbol: str = Field(description="6-character KRX code, e.g. 005930")
    qty: int = Field(gt=0, lt=10**10)
    price: Decimal = Field(default=Decimal(0), ge=0, lt=Decimal(10) ** 18)
    side: Side
    order_type: OrderType = OrderType.LIMIT
    balance_type: BalanceType = BalanceType.CASH
    end_date: date | None = None
    loan_date: date | None = None

    @field_validator("symbol", mode="before")
    @classmethod
    def _symbol(cls, v: object) -> object:
        return parse_symbol(v) if isinstance(v, str) else v

    @field_validator("side", mode="before")
    @classmethod
    def _side(cls, v: object) -> object:
        return parse_side(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _rules(self) -> OrderTerms:
        if self.order_type.priced and self.price <= 0:
            raise RuleError("price", f"a {self.order_type.label} order needs a price above 0")
        if not self.order_type.priced and self.price != 0:
            raise RuleError(
                "price",
                f"a {self.order_type.label} order is sent with price 0 (KIS rule); omit the price",
            )
        if self.side is Side.BUY and self.balance_type is not BalanceType.CASH:
            raise RuleError("balance_type", "buy reservations use balance type 10 (cash)")
        _check_end_date(self.end_date, self.today, self.max_end_date)
        return self

    def body(self) -> dict[str, str]:
        """The order-term fields of a CTSC0008U/CTSC0013U body, as KIS spells them."""
        out = {
            "PDNO": self.symbol,
            "ORD_QTY": str(self.qty),
            "ORD_UNPR": format(self.price.quantize(Decimal(1)), "f"),
            "SLL_BUY_DVSN_CD": self.side.value,
            "ORD_DVSN_CD": self.order_type.value,
            "ORD_OBJT_CBLC_DVSN_CD": self.balance_type.value,
        }
        # Optional fields are sent only when set, as the official sample does.
        if self.loan_date:
            out["LOAN_DT"] = self.loan_date.strftime("%Y%m%d")
        if self.end_date:
            out["RSVN_ORD_END_DT"] = self.end_date.strftime("%Y%m%d")
        return out


def _parse_date(v: object) -> object:
    if isinstance(v, str):
        s = v.strip()
        if not s or s.strip("0") == "":
            return None
        if len(s) == 8 and s.isdigit():
            # Slicing is ~10x faster than strptime (2 dates a row, 20 rows a page); date()
            # still rejects a month 13 or a 31 February.
            return date(int(s[:4]), int(s[4:6]), int(s[6:]))
        return datetime.strptime(s, "%Y%m%d").date()
    return v


def _num(v: object) -> object:
    if isinstance(v, str):
        s = _digits(v)
        return s or "0"
    return v


_ROW_FIELDS: Mapping[str, str] = {
    "rsvn_ord_seq": "seq",
    "rsvn_ord_ord_dt": "order_date",
    "rsvn_ord_rcit_dt": "receipt_date",
    "rsvn_ord_rcit_tmd": "receipt_time",
    "pdno": "symbol",
    "kor_item_shtn_name": "name",
    "sll_buy_dvsn_cd": "side",
    "ord_dvsn_cd": "order_type",
    "ord_dvsn_name": "order_type_name",
    "ord_rsvn_qty": "qty",
    "ord_rsvn_unpr": "price",
    "tot_ccld_qty": "filled_qty",
    "tot_ccld_amt": "filled_amount",
    "cncl_ord_dt": "cancel_date",
    "odno": "order_no",
    "ord_tmd": "order_time",
    "prcs_rslt": "result",
    "rjct_rson2": "reject_reason",
    "rsvn_end_dt": "end_date",
    "loan_dt": "loan_date",
}

_DATE_MEMO: dict[str, object] = {}
_DATE_MEMO_SIZE = 4096


def _row_date(v: object) -> object:
    """:func:`_parse_date`, remembered: the rows of a page repeat the same few dates."""
    if type(v) is not str:
        return _parse_date(v)
    parsed = _DATE_MEMO.get(v)
    if parsed is None:
        parsed = _parse_date(v)
        if len(_DATE_MEMO) < _DATE_MEMO_SIZE:
            _DATE_MEMO[v] = parsed
    return parsed


def _row_num(v: object) -> object:
    """:func:`_num`, skipped for the usual plain digits (pydantic parses those itself)."""
    return v if type(v) is str and v.isdigit() else _num(v)


_ROW_CONVERT: Mapping[str, Callable[[object], object]] = {
    **dict.fromkeys(
        ("order_date", "receipt_date", "cancel_date", "end_date", "loan_date"), _row_date
    ),
    **dict.fromkeys(("qty", "filled_qty", "price", "filled_amount"), _row_num),
}
# Key as KIS may spell it (lower or upper case) -> (field, converter). Mixed-case keys fall back
# to ``key.lower()``. ``cncl_rcit_tmd`` is read only to tell whether the row was cancelled.
_ROW_PLAN: dict[str, tuple[str, Callable[[object], object] | None] | None] = {}
for _key, _name in (*_ROW_FIELDS.items(), ("cncl_rcit_tmd", "_cancel_time")):
    _ROW_PLAN[_key] = _ROW_PLAN[_key.upper()] = (_name, _ROW_CONVERT.get(_name))


_UNSEEN: Any = object()
#: Keys remembered in ``_ROW_PLAN`` beyond the known ones (ignored fields, odd spellings): a
#: bound, so that a server inventing keys cannot grow it without end.
_ROW_PLAN_MAX = 512


def _plan_of(key: object) -> tuple[str, Callable[[object], object] | None] | None:
    """The plan of a key not in ``_ROW_PLAN`` as sent: by its lower case; remembered.

    A row of CTSC0004R carries ~7 fields we do not read; remembering them as "none" saves the
    lower-casing of each on every row (~1 µs a row, issue #14).
    """
    plan = _ROW_PLAN.get(str(key).lower())
    if len(_ROW_PLAN) < _ROW_PLAN_MAX and isinstance(key, str):
        _ROW_PLAN[key] = plan
    return plan


class Reservation(BaseModel):
    """One row of 주식예약주문조회 (CTSC0004R), typed.

    Built with :meth:`from_row`, which accepts upper- or lower-case keys and string values.
    """

    model_config = ConfigDict(frozen=True)

    seq: str
    order_date: date | None = None  # rsvn_ord_ord_dt: the day the order is to be sent
    receipt_date: date | None = None  # rsvn_ord_rcit_dt
    receipt_time: str = ""  # rsvn_ord_rcit_tmd HHMMSS
    symbol: str = ""
    name: str = ""
    side: Side | None = None
    order_type: str = ""
    order_type_name: str = ""
    qty: int = 0
    price: Decimal = Decimal(0)
    filled_qty: int = 0
    filled_amount: Decimal = Decimal(0)
    cancelled: bool = False
    cancel_date: date | None = None
    order_no: str = ""
    order_time: str = ""
    result: str = ""
    reject_reason: str = ""
    end_date: date | None = None
    loan_date: date | None = None
    #: The first open day on which KIS can still process reservations, as the lister's clock
    #: saw it (today before the morning processing on an open day, else the next open day):
    #: a period reservation already sent is ``active`` while its end date is not before it.
    #: ``None`` (a row parsed without a clock): a sent period reservation that is not filled
    #: counts as ``active`` — it may still act, so it stays cancellable.
    as_of: date | None = Field(default=None, exclude=True)

    @property
    def needs_as_of(self) -> bool:
        """Whether :attr:`status` depends on :attr:`as_of` (a sent, unfilled period one)."""
        return (
            self.end_date is not None
            and not self.cancelled
            and self.result != REJECTED_RESULT
            and self.sent
            and not (self.qty and self.filled_qty >= self.qty)
        )

    def dated(self, as_of: Callable[[], date]) -> Reservation:
        """This row with :attr:`as_of` from ``as_of()`` when its status depends on it (the
        call, which may read a calendar, is skipped for every other row)."""
        if self.as_of is not None or not self.needs_as_of:
            return self
        return self.model_copy(update={"as_of": as_of()})

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, as_of: date | None = None) -> Reservation:
        """Parse a KIS row (any key case, string values, blanks); ``as_of``: see the field."""
        # One pass over the row as sent; a blank value leaves the field at its default (the
        # same as parsing the blank), which skips half the converter calls of a typical row.
        data: dict[str, Any] = {}
        for key, value in row.items():
            plan = _ROW_PLAN.get(key, _UNSEEN)
            if plan is _UNSEEN:
                plan = _plan_of(key)
            if plan is None:
                continue
            name, convert = plan
            if isinstance(value, str):
                value = value.strip()
            if not value and name != "seq":
                continue
            data[name] = value if convert is None else convert(value)
        cancel_time = data.pop("_cancel_time", "")
        # (A blank side never reaches ``data``: it stays at its default, None.)
        data["cancelled"] = data.get("cancel_date") is not None or bool(str(cancel_time))
        if as_of is not None:
            data["as_of"] = as_of
        # The model's own validator, without model_validate's Python wrapper (~0.5 µs a row;
        # the model is complete at import, which is all that wrapper checks here).
        row_model: Reservation = cls.__pydantic_validator__.validate_python(data)
        return row_model

    @property
    def sent(self) -> bool:
        """Whether KIS has processed it at least once (turned it into an order, or refused)."""
        return bool(self.order_no) or self.result not in _UNPROCESSED_RESULTS

    @property
    def status(self) -> ReservationStatus:
        """Where it is in its life (see :data:`ReservationStatus`), as of :attr:`as_of`."""
        return self.status_at(self.as_of)

    def status_at(self, as_of: date | None) -> ReservationStatus:
        """:attr:`status` with "still active" measured against ``as_of`` instead (the first
        open day KIS can still process reservations on; ``None``: unknown, see the field)."""
        if self.cancelled:
            return "cancelled"
        if self.result == REJECTED_RESULT:
            return "rejected"
        if not self.sent:
            return "waiting"
        if self.qty and self.filled_qty >= self.qty:
            return "filled"
        if self.end_date is not None and (as_of is None or self.end_date >= as_of):
            return "active"
        return "sent"

    @property
    def is_pending(self) -> bool:
        """Can still act (``waiting``, or an ``active`` period reservation): the states that
        can be modified or cancelled."""
        return self.status in ("waiting", "active")

    def matches_status(self, status: StatusFilter) -> bool:
        """Whether it belongs to the ``status`` filter (see :data:`StatusFilter`)."""
        return status == "all" or self.status in _FILTER_STATUSES[status]

    def terms(self, *, today: date | None = None, **changes: Any) -> OrderTerms:
        """This reservation's order terms with ``changes`` applied, validated."""
        values: dict[str, Any] = {
            "symbol": self.symbol,
            "qty": self.qty,
            "price": self.price,
            "side": self.side,
            "order_type": self.order_type,
            "end_date": self.end_date,
            "loan_date": self.loan_date,
        }
        values.update({k: v for k, v in changes.items() if v is not None})
        if "order_type" in changes and changes["order_type"] is not None:
            new_type = parse_order_type(changes["order_type"])
            # Switching to market/pre-market drops the price; KIS wants "0" there.
            if not new_type.priced and changes.get("price") is None:
                values["price"] = Decimal(0)
        if today is not None:
            values["today"] = today
        return OrderTerms.build(f"modification of reservation {self.seq}", **values)


Clock = Callable[[], datetime]


def _check_end_date(end_date: date | None, today: date, max_end_date: date | None) -> None:
    """The end-date rule shared by new terms and changes: after today, within the period."""
    if end_date is None:
        return
    if end_date <= today:
        raise RuleError("end_date", "end_date must be after today (KST)")
    limit = max_end_date or today + timedelta(days=MAX_PERIOD_DAYS)
    if end_date > limit:
        raise RuleError(
            "end_date",
            f"end_date must be within {MAX_PERIOD_DAYS} days of the next business day"
            f" ({limit} at the latest)",
        )
