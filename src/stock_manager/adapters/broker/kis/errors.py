"""The exception tree of the KIS client.

Every exception says whether the request left this machine, because that decides what a caller
may safely do next (fix and resend, wait and resend, or reconcile before doing anything)::

    KISError                               root; ``.reached_server`` is False / True / None
    ├── KISNotSentError                    nothing reached KIS: fix the cause, then send again
    │   ├── KISConfigError                 settings missing or invalid
    │   ├── KISValidationError             request rejected locally (also a ValueError)
    │   │   └── TRIDResolutionError        unknown API ID / path, or a missing ``action``
    │   ├── PaperTradingNotSupportedError  a real-only API asked for in paper mode
    │   └── KISTransportError              connect error / pool timeout: never left the machine
    ├── OrderOutcomeUnknownError           an order POST may have been processed: RECONCILE,
    │                                      never resend blindly (read timeout, reset after
    │                                      send, unknown 5xx, garbled 2xx, EGW00301/302, ...)
    └── KISAPIError                        KIS answered and refused; carries msg_cd, msg1,
        │                                  rt_cd, tr_id, gt_uid, http_status
        ├── KISGatewayError                refused by the API gateway *before* processing
        │   ├── KISAuthError               app key/secret/token problems (EGW001xx, 403s)
        │   │   └── TokenIssueRateLimitedError   EGW00133: one token issuance a minute
        │   └── KISRateLimitError          EGW00201 still returned after the retry budget
        ├── KISServerError                 a read failed server-side (5xx, garbled) after
        │                                  its retries; reads change nothing, so safe
        └── KISBusinessError               ``rt_cd != "0"`` from the business layer
                                           (APBK..., OPSQ..., ...): the order was refused

The seed page's codes ``EGW00223``, ``EGW00331`` and ``EGW00415`` are not KIS codes; they are
accepted as aliases (see :data:`CODE_ALIASES`) so code written from that page still classifies.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

__all__ = [
    "CODE_ALIASES",
    "KNOWN_CODES",
    "CodeInfo",
    "KISAPIError",
    "KISAuthError",
    "KISBusinessError",
    "KISConfigError",
    "KISError",
    "KISGatewayError",
    "KISNotSentError",
    "KISRateLimitError",
    "KISServerError",
    "KISTransportError",
    "KISValidationError",
    "OrderOutcomeUnknownError",
    "OutsideReservationWindowError",
    "PaperTradingNotSupportedError",
    "ReservationWindowError",
    "TRIDResolutionError",
    "TokenIssueRateLimitedError",
    "explain",
]


class CodeInfo(NamedTuple):
    """What a KIS message code means and what a user should do about it.

    (A NamedTuple, not a dataclass: importing ``dataclasses`` costs ~0.4x a bare interpreter
    start, and ``stock-manager tr-id`` imports this module.)
    """

    meaning: str
    advice: str


# Restated from kis-spec.md 3.3 (gateway codes) and 3.1 (rate limit).
KNOWN_CODES: dict[str, CodeInfo] = {
    "EGW00001": CodeInfo("temporary gateway error", "retry later; for orders, check state first"),
    "EGW00002": CodeInfo("gateway server error", "retry later; for orders, check state first"),
    "EGW00003": CodeInfo("access denied", "check the app key and its permissions"),
    "EGW00004": CodeInfo("customer not granted permission", "check the account's API setup"),
    "EGW00101": CodeInfo("invalid request", "check the request fields"),
    "EGW00102": CodeInfo("AppKey missing", "set KIS_APP_KEY"),
    "EGW00103": CodeInfo("invalid AppKey", "check KIS_APP_KEY (real and paper keys differ)"),
    "EGW00104": CodeInfo("AppSecret missing", "set KIS_APP_SECRET"),
    "EGW00105": CodeInfo("invalid AppSecret", "check KIS_APP_SECRET (real and paper differ)"),
    "EGW00121": CodeInfo("invalid token", "a new token is issued automatically once"),
    "EGW00122": CodeInfo("token not found", "a new token is issued automatically once"),
    "EGW00123": CodeInfo("token expired", "a new token is issued automatically once"),
    "EGW00131": CodeInfo("invalid hashkey", "recompute the hash over the exact body"),
    "EGW00132": CodeInfo("invalid Content-Type", "send application/json; charset=utf-8"),
    "EGW00133": CodeInfo(
        "token issued too often (1 per minute)", "wait a minute; share one token cache"
    ),
    "EGW00201": CodeInfo("per-second request limit exceeded", "slow down (20/s real, 2/s paper)"),
    "EGW00205": CodeInfo("credentials_type invalid", "authorization must be 'Bearer <token>'"),
    "EGW00206": CodeInfo("no permission for this API", "apply for the API on the KIS portal"),
    "EGW00207": CodeInfo("IP missing or invalid", "check the registered IP"),
    "EGW00208": CodeInfo("invalid custtype", "custtype is P (individual) or B (corporate)"),
    "EGW00209": CodeInfo("invalid seq_no", "check the seq_no header"),
    "EGW00210": CodeInfo("corporate customers cannot use paper trading", "use real mode"),
    "EGW00213": CodeInfo("not a paper-trading TR", "this API is real-only; use the emulator"),
    "EGW00215": CodeInfo(
        "ledger per-second limit exceeded (orders/accounts)", "slow down; retried with back-off"
    ),
    "EGW02004": CodeInfo(
        "a paper-trading key sent to the real host", "set KIS_MODE=paper or use the real key"
    ),
    "EGW02006": CodeInfo("not a paper-trading TR", "this API is real-only; use the emulator"),
    "EGW02007": CodeInfo(
        "a real-trading key sent to the paper host", "set KIS_MODE=real or use the paper key"
    ),
    "EGW00301": CodeInfo(
        "connection timed out at KIS", "check the previous transaction before resending"
    ),
    "EGW00302": CodeInfo(
        "transaction timed out at KIS", "check the previous transaction before resending"
    ),
    "OPSQ0002": CodeInfo("no such service code", "wrong tr_id for this path"),
    "OPSQ2000": CodeInfo("invalid account number", "KIS_ACCOUNT_NO is 8 digits + 2 digits"),
    "OPSQ2001": CodeInfo("invalid market code", "check the request fields"),
    "OPSQ2002": CodeInfo("field length error", "check the request fields"),
    # Not KIS's: the local emulator (stock_manager.emulator) answers it for an API it does not
    # serve. KIS itself would serve the request.
    "EMU00501": CodeInfo(
        "the emulator does not implement this API",
        "nothing was sent to KIS; the emulator serves the APIs listed in its"
        " /openapi.json — try this one against KIS",
    ),
}

#: The emulator's "not emulated" code (see KNOWN_CODES).
NOT_EMULATED = "EMU00501"

# Codes from the seed page that KIS never sends, mapped to what they were meant to say.
CODE_ALIASES: dict[str, str] = {
    "EGW00223": "EGW00101",  # "invalid request parameters"
    "EGW00331": "EGW00201",  # "rate limit exceeded"
    "EGW00415": "EGW00003",  # "unauthorized access"
}

TOKEN_CODES = frozenset({"EGW00121", "EGW00122", "EGW00123"})
# EGW00215 is the ledger's own per-second refusal: like EGW00201 it is refused before
# processing, so it waits and retries (orders included) instead of failing the caller.
RATE_LIMIT_CODES = frozenset({"EGW00201", "EGW00215"})
# Gateway codes that mean "processing state unknown": never resend an order on them.
UNCERTAIN_CODES = frozenset({"EGW00001", "EGW00002", "EGW00202", "EGW00203", "EGW00300"})
UNCERTAIN_CODES |= {"EGW00301", "EGW00302"}


def canonical_code(code: str | None) -> str:
    """Return the real KIS code for ``code`` (aliases resolved, whitespace stripped)."""
    c = (code or "").strip().upper()
    return CODE_ALIASES.get(c, c)


def explain(code: str | None) -> CodeInfo | None:
    """Meaning and advice for a message code, or ``None`` when we do not know it."""
    return KNOWN_CODES.get(canonical_code(code))


class KISError(Exception):
    """Root of every error raised by stock-manager's KIS client."""

    #: False: nothing reached KIS. True: KIS answered. None: unknown (see OrderOutcomeUnknownError)
    reached_server: ClassVar[bool | None] = None

    def __init__(
        self,
        message: str,
        *,
        msg_cd: str = "",
        msg1: str = "",
        rt_cd: str = "",
        tr_id: str = "",
        gt_uid: str = "",
        http_status: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.msg_cd = msg_cd
        self.msg1 = msg1
        self.rt_cd = rt_cd
        self.tr_id = tr_id
        self.gt_uid = gt_uid
        self.http_status = http_status
        self.method = method
        self.path = path
        #: The order-journal entry of the request, when it was journaled.
        self.journal_id: int | None = None

    @property
    def advice(self) -> str:
        """What to do next, when the code is one we know."""
        info = explain(self.msg_cd)
        return info.advice if info else ""

    def __str__(self) -> str:
        parts = [self.message]
        if self.msg_cd and self.msg_cd not in self.message:
            parts.append(f"[{self.msg_cd}]")
        if self.tr_id and self.tr_id not in self.message:
            parts.append(f"(tr_id={self.tr_id})")
        if self.http_status is not None:
            parts.append(f"(HTTP {self.http_status})")
        return " ".join(parts)


class KISNotSentError(KISError):
    """Nothing reached KIS. Fixing the cause and sending again cannot duplicate anything."""

    reached_server: ClassVar[bool | None] = False


class KISConfigError(KISNotSentError):
    """Settings are missing or invalid."""


class KISValidationError(KISNotSentError, ValueError):
    """A request was rejected locally, before any network call."""


class TRIDResolutionError(KISValidationError):
    """An API ID or path is unknown, or a multi-TR API was asked for without an ``action``."""


class PaperTradingNotSupportedError(KISNotSentError):
    """The API exists only on the real server; paper mode refuses it before the network."""


class KISTransportError(KISNotSentError):
    """The connection could not be made (connect error, connect/pool timeout)."""


class OrderOutcomeUnknownError(KISError):
    """An order-changing request may have been processed, and we cannot tell.

    Never resend blindly: list the reservations (``reconcile``) to learn whether it took effect.
    ``cause`` says what happened (read timeout, reset after send, HTTP 502, garbled body, ...).
    """

    reached_server: ClassVar[bool | None] = None

    def __init__(self, message: str, *, cause: str = "", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.cause = cause


class KISAPIError(KISError):
    """KIS answered and refused the request."""

    reached_server: ClassVar[bool | None] = True


class KISGatewayError(KISAPIError):
    """The API gateway refused the request before the business layer processed it."""


class KISAuthError(KISGatewayError):
    """App key, app secret or token were refused."""


class TokenIssueRateLimitedError(KISAuthError):
    """EGW00133: KIS issues at most one token a minute per app key."""

    def __init__(self, message: str, *, retry_after: float = 0.0, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class KISRateLimitError(KISGatewayError):
    """EGW00201 kept coming back after the retry budget was spent."""


class KISServerError(KISAPIError):
    """A read failed on the server side (5xx or unreadable body) after its retries."""


class KISBusinessError(KISAPIError):
    """``rt_cd != "0"``: the business layer refused the request (nothing was changed)."""


class OutsideReservationWindowError(KISValidationError):
    """Refused locally: the reservation entry window is closed now (nothing was sent).

    ``window`` says when reservations are taken; ``opens_at`` is the next opening (ISO, KST)
    when the calendar knows it.
    """

    def __init__(self, message: str, *, window: str = "", opens_at: str = "", **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.window = window
        self.opens_at = opens_at


class ReservationWindowError(KISBusinessError):
    """KIS refused a reservation for its entry window (KIER3672 and every other such answer).

    ``window`` is the window as KIS stated it (e.g. "16:40 ~ 익영업일 08:30"), ``starts`` /
    ``ends`` its times ("16:40", "08:30") when they could be read from the message.
    Nothing was placed; try again inside the window.
    """

    def __init__(
        self, message: str, *, window: str = "", starts: str = "", ends: str = "", **kw: object
    ) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.window = window
        self.starts = starts
        self.ends = ends
