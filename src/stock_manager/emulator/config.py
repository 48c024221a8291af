"""Configuration of the local KIS emulator.

The defaults mirror the real KIS limits (20 req/s real, 2 req/s paper, one token per minute,
24 h tokens) so that a client that behaves well here behaves well against KIS.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Literal, cast

KST = timezone(timedelta(hours=9), "KST")

Mode = Literal["real", "paper"]

DEMO_APP_KEY_PREFIX = "PSEMU"
DEMO_HTS_ID = "emuhts01"


def kst_now() -> datetime:
    """Current wall-clock time in KST (aware)."""
    return datetime.now(KST)


def _default_rate(mode: Mode) -> int:
    # KIS notice (2025-08-07): 20 req/s for real accounts, 2 req/s for paper accounts.
    return 20 if mode == "real" else 2


# KIS notice 2026-03-20: keys issued from 2026-04-03 are limited to 3 calls/s for 3 days.
NEW_KEY_LIMIT_PER_S = 3


@dataclass(frozen=True)
class AppKey:
    """One app key the emulator accepts, with its own mode, budget and accounts.

    ``mode`` is the host the key was issued for: a paper key sent to a real-mode emulator is
    refused with EGW02004, a real key sent to a paper-mode emulator with EGW02007.
    ``rate_limit_per_s`` ``-1`` = KIS default for the key's mode, ``None``/``0`` = unlimited.
    ``new_key`` caps the budget at :data:`NEW_KEY_LIMIT_PER_S` (the new-customer limit).
    """

    app_key: str
    app_secret: str
    mode: Mode = "real"
    rate_limit_per_s: int | None = -1
    accounts: tuple[str, ...] = ()
    new_key: bool = False
    #: The HTS ID execution notices of this key are subscribed with ("" = derived demo ID).
    hts_id: str = ""

    @property
    def rate_limit(self) -> int:
        """Effective requests per second for this key, 0 when unlimited."""
        limit = _default_rate(self.mode) if self.rate_limit_per_s == -1 else self.rate_limit_per_s
        limit = int(limit or 0)
        if self.new_key:
            return min(limit, NEW_KEY_LIMIT_PER_S) if limit else NEW_KEY_LIMIT_PER_S
        return limit


@dataclass
class EmulatorConfig:
    """Everything that shapes one emulator instance.

    ``rate_limit_per_s`` left at ``-1`` means "the KIS default for ``mode``"; ``None`` or ``0``
    turns the limiter off. ``state_file`` ``None`` keeps state in memory, a path persists it in
    SQLite. ``clock`` is a callable returning an aware datetime (KST recommended);
    ``start_at`` starts a running clock at that instant instead of the wall clock.
    ``budget_clock`` is the monotonic seconds source the per-second rate limits count (default
    :func:`time.monotonic`; see :meth:`EmulatorClock.budget_time`): tests that want the limiter
    to move only with ``advance`` pass a constant.

    ``enforce_window`` (alias ``window``) applies the reservation entry window of a real
    KIS server (on by default in both modes); ``closed_days``/``late_days`` add to the bundled
    KRX calendar. ``keys`` adds app keys beyond the primary one (each with its own mode and
    budget); ``new_key`` puts the primary key under the 3/s new-customer limit.
    ``ledger_limit_per_s`` > 0 makes order/account TRs answer EGW00215 above that rate
    (KIS's per-second limit of its ledger system; the real threshold is not published).
    ``token_rate_per_s`` caps tokenP calls per second (KIS notice: 1/s).
    ``any_symbol`` accepts orders for codes outside the emulator's listing (tests);
    ``starting_cash`` is every account's orderable cash at start (see market.py).
    """

    app_key: str = "PSEMUdemoappkey000000000000000000000"
    app_secret: str = "emulator-demo-secret"
    account: str = "12345678-01"
    mode: Mode = "real"
    rate_limit_per_s: int | None = -1
    token_issue_interval_s: float = 60.0
    token_lifetime_s: int = 86400
    enforce_window: bool = True
    max_period_reservations: int = 1000
    state_file: str | os.PathLike[str] | None = None
    clock: Callable[[], datetime] | None = None
    budget_clock: Callable[[], float] | None = None
    seed: int | None = None
    extra_accounts: tuple[str, ...] = field(default_factory=tuple)
    window: bool | None = None
    start_at: datetime | None = None
    closed_days: tuple[date, ...] = ()
    late_days: tuple[date, ...] = ()
    keys: tuple[AppKey, ...] = ()
    new_key: bool = False
    ledger_limit_per_s: int = 0
    token_rate_per_s: int = 1
    #: The primary key's HTS ID (the ``tr_key`` of its execution notices).
    hts_id: str = DEMO_HTS_ID
    #: Seconds between PINGPONG frames (KIS: about 110 s, unverified); 0 = none.
    ws_ping_interval_s: float = 110.0
    #: Accept orders for any well-formed code (tests); off: only listed codes, as KIS does
    #: (the emulator's listing, fields.SYMBOL_NAMES, plus codes given a quote by the admin API).
    any_symbol: bool = False
    #: Orderable cash (won) every account starts with; fills move it. ``None`` = no cash data
    #: (buying power answers 0 and the processing day does not judge funds).
    starting_cash: int | None = 100_000_000

    def __post_init__(self) -> None:
        if self.mode not in ("real", "paper"):
            raise ValueError(f"mode must be 'real' or 'paper', not {self.mode!r}")
        if self.window is not None:
            self.enforce_window = self.window
        if self.start_at is not None and self.start_at.tzinfo is None:
            raise ValueError("start_at must be an aware datetime (e.g. 2026-12-01T16:00+09:00)")
        for k in self.keys:
            if k.mode not in ("real", "paper"):
                raise ValueError(f"key mode must be 'real' or 'paper', not {k.mode!r}")
            for acct in k.accounts:
                split_account(acct)
        if self.rate_limit_per_s == -1:
            self.rate_limit_per_s = _default_rate(self.mode)
        for acct in (self.account, *self.extra_accounts):
            split_account(acct)

    @property
    def rate_limit(self) -> int:
        """Effective requests per second, 0 when the limiter is off."""
        return int(self.rate_limit_per_s or 0)

    @property
    def accounts(self) -> tuple[str, ...]:
        """All accounts (``CANO-ACNT_PRDT_CD``) owned by the primary app key."""
        return (self.account, *self.extra_accounts)

    @property
    def primary_key(self) -> AppKey:
        """The primary app key (``app_key``/``app_secret``/``mode``/``account``)."""
        return AppKey(
            self.app_key,
            self.app_secret,
            self.mode,
            self.rate_limit_per_s if self.rate_limit_per_s is not None else 0,
            self.accounts,
            self.new_key,
        )

    def key_table(self) -> dict[str, AppKey]:
        """Every accepted app key by its value (the primary key wins a clash)."""
        table = {k.app_key: k for k in self.keys}
        table[self.app_key] = self.primary_key
        return table

    @classmethod
    def demo(cls, seed: int | None = None, **overrides: object) -> EmulatorConfig:
        """A config with a freshly generated demo key, secret and account number."""
        app_key, app_secret, account = demo_credentials(seed)
        values: dict[str, object] = {
            "app_key": app_key,
            "app_secret": app_secret,
            "account": account,
            "seed": seed,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def demo_credentials(seed: int | None = None) -> tuple[str, str, str]:
    """Generate a demo (app_key, app_secret, account) triple in the KIS shapes.

    Real app keys are 36 characters, secrets up to 180; the emulator uses the same sizes so
    client-side length assumptions get exercised.
    """
    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    alphabet = string.ascii_letters + string.digits
    key = DEMO_APP_KEY_PREFIX + "".join(rng.choice(alphabet) for _ in range(36 - 5))
    secret = "".join(rng.choice(alphabet + "+/") for _ in range(180))
    cano = "".join(rng.choice(string.digits) for _ in range(8))
    return key, secret, f"{cano}-01"


def parse_key(text: str) -> AppKey:
    """Parse ``--key KEY:SECRET[:MODE[:ACCOUNT,...[:RATE|new]]]`` into an :class:`AppKey`.

    ``MODE`` is real (default) or paper; ``RATE`` is requests/second (``0`` = unlimited,
    blank = the KIS default of the mode) or ``new`` for a newly issued key (3/s).
    """
    parts = text.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1] or len(parts) > 5:
        raise ValueError(
            f"--key wants KEY:SECRET[:MODE[:ACCOUNTS[:RATE|new]]], got {len(parts)} part(s)"
        )
    key, secret, *rest = parts
    mode = rest[0] if rest and rest[0] else "real"
    if mode not in ("real", "paper"):
        raise ValueError(f"--key mode must be 'real' or 'paper', not {mode!r}")
    accounts = tuple(a for a in (rest[1] if len(rest) > 1 else "").split(",") if a)
    for acct in accounts:
        try:
            split_account(acct)
        except ValueError as exc:
            raise ValueError(f"--key {exc}") from None
    rate_text = rest[2] if len(rest) > 2 else ""
    new_key = rate_text == "new"
    if rate_text and not new_key and not rate_text.isdigit():
        raise ValueError(f"--key rate must be a whole number or 'new', not {rate_text!r}")
    rate = -1 if not rate_text or new_key else int(rate_text)
    return AppKey(key, secret, cast(Mode, mode), rate, accounts, new_key)


def split_account(account: str) -> tuple[str, str]:
    """Split ``12345678-01`` (or ``1234567801``) into (CANO, ACNT_PRDT_CD)."""
    digits = account.replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        raise ValueError(f"account must look like 12345678-01, got {account!r}")
    return digits[:8], digits[8:]
