"""Masking of secrets for logs, errors, dry-run output and the journal.

Three things are secret: the app secret, the access token and the account number. The app key is
not a credential on its own, but it is shortened too so that logs do not identify the user.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping

from stock_manager._masking import mask_account, mask_request

__all__ = [
    "PROTECTED_LOGGERS",
    "SECRET_FILTER",
    "SecretFilter",
    "mask_account",
    "mask_body",
    "mask_headers",
    "mask_hts_id",
    "mask_key",
    "mask_value",
]

_SECRET_HEADERS = frozenset({"appsecret", "authorization", "secretkey", "personalseckey"})
_KEY_HEADERS = frozenset({"appkey"})


def mask_value(value: str) -> str:
    """Hide a secret entirely, keeping only a hint of its length class."""
    return "***" if value else ""


def mask_key(value: str) -> str:
    """Show the first four characters of an app key: enough to tell two keys apart."""
    return f"{value[:4]}…" if len(value) > 4 else "***"


def mask_hts_id(value: str) -> str:
    """The HTS login ID fit for printing: its first two characters (``ab****``)."""
    return f"{value[:2]}{'*' * max(1, len(value) - 2)}" if value else ""


def mask_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Copy of request headers fit for printing."""
    out: dict[str, str] = {}
    for name, value in headers:
        low = name.lower()
        if low == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[name] = f"{scheme} ***".strip()
        elif low in _SECRET_HEADERS:
            out[name] = mask_value(value)
        elif low in _KEY_HEADERS:
            out[name] = mask_key(value)
        else:
            out[name] = value
    return out


def mask_body(body: Mapping[str, object]) -> dict[str, object]:
    """Copy of a request body or query: account number masked, credentials hidden.

    The journal's rules, so that what is printed and what is stored mask alike.
    """
    return mask_request(body)


class SecretFilter(logging.Filter):
    """Scrubs known secret values from every record that passes through a handler or logger.

    We never format secrets into messages ourselves; this is the belt to those braces, for
    messages built by libraries (httpx logs URLs, never headers, but a user's own code might).
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        """Register values that must never appear in a log record."""
        # Short values would mask ordinary words; real secrets are long.
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= 6)
            # Compiled on first use: every client adds its secret and token (~0.8 ms of regex
            # compiling, issue #14) while most runs never log a record.
            self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._secrets:
                alternatives = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in alternatives))
            return self._pattern

    def scrub(self, text: str) -> str:
        """Replace every registered secret in ``text`` with ``***``."""
        pattern = self._compiled()
        return pattern.sub("***", text) if pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            scrubbed = self.scrub(message)
            if scrubbed != message:
                record.msg, record.args = scrubbed, None
        return True


#: Loggers whose records are scrubbed. A logger's filters do not apply to records of its child
#: loggers, so each logger that can see a request is listed. httpx logs URLs at INFO, and GET
#: queries carry the account number.
PROTECTED_LOGGERS = (
    "stock_manager.kis",
    "stock_manager.kis.auth",
    "stock_manager.kis.reservations",
    "httpx",
    "httpcore",
)

#: The process-wide filter; clients register their secrets (and tokens as they are issued).
SECRET_FILTER = SecretFilter()
for _name in PROTECTED_LOGGERS:
    logging.getLogger(_name).addFilter(SECRET_FILTER)
