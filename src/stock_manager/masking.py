"""Masking of secrets: the one set of rules for logs, errors, dry-run output, the journal,
notices and the agent tools.

Three things are secret: the app secret, the access token and the account number. The app key is
not a credential on its own, but it is shortened too so that logs do not identify the user.

* :func:`mask_request` masks a request body, query or any nested data (what the journal stores
  and what ``--dry-run`` prints mask alike); :func:`mask_headers` masks request headers;
  :func:`mask_account`, :func:`mask_key`, :func:`mask_hts_id` and :func:`mask_value` mask one
  value; :func:`scrub_text` hides ``Bearer`` tokens in free text.
* :data:`SECRET_FILTER` scrubs registered secret values from the records of
  :data:`PROTECTED_LOGGERS` (installed when this module is imported).

Standard library only and at the bottom of the import layers (``[tool.importlinter]``), so the
journal, the KIS client, notices and the MCP server all import it without importing each other.
``stock_manager.journal`` re-exports :func:`mask_account` and :func:`mask_request`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MASK",
    "PROTECTED_LOGGERS",
    "SECRET_FILTER",
    "SecretFilter",
    "mask_account",
    "mask_headers",
    "mask_hts_id",
    "mask_key",
    "mask_request",
    "mask_value",
    "scrub_text",
]

MASK = "***"

# Keys are compared case-insensitively with "-" and "_" removed, so "access_token",
# "Access-Token" and "accessToken" all match.  personalseckey and approval_key are
# further KIS credentials (corporate secret key, websocket approval key).
_SECRET_KEYS = frozenset(
    {
        "appsecret",
        "appkey",
        "authorization",
        "accesstoken",
        "token",
        "secretkey",
        "personalseckey",
        "approvalkey",
    }
)
_ACCOUNT_KEYS = frozenset({"cano"})
_CONTINUATION_PREFIX = "ctxarea"
_BEARER_RE = re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+")


def _mask_digits(value: str) -> str:
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_account(value: object) -> str:
    """Mask an account number, keeping its first two and last two characters.

    ``"12345678"`` becomes ``"12****78"``; in ``"12345678-01"`` only the part before
    the hyphen (CANO) is masked and the product code is kept: ``"12****78-01"``.
    Masking is idempotent.
    """
    text = str(value).strip()
    if not text:
        return ""
    head, sep, tail = text.partition("-")
    return _mask_digits(head) + sep + tail


def _normalise_key(key: object) -> str:
    return str(key).lower().replace("_", "").replace("-", "")


def _mask_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return mask_request(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask_value(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def mask_request(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a masked copy of ``data``, recursing into nested mappings and sequences.

    Values of credential keys (``appsecret``, ``appkey``, ``authorization``,
    ``access_token``, ``token``, ``secretkey``, compared case-insensitively, plus the
    KIS ``personalseckey`` and ``approval_key``) become ``"***"``; ``CANO`` values are
    masked with :func:`mask_account`; non-blank ``CTX_AREA_*`` continuation keys (which
    begin with the account number) become ``"***"``; ``"Bearer <token>"`` inside any string becomes
    ``"Bearer ***"``.  Everything else, including ``ACNT_PRDT_CD``, is kept.  Keys are
    converted to ``str``.  The input is not modified.
    """
    masked: dict[str, Any] = {}
    for key, value in data.items():
        norm = _normalise_key(key)
        if norm in _SECRET_KEYS:
            masked[str(key)] = MASK
        elif norm in _ACCOUNT_KEYS and value is not None:
            masked[str(key)] = mask_account(value)
        elif norm.startswith(_CONTINUATION_PREFIX) and isinstance(value, str) and value.strip():
            # KIS's continuation keys (CTX_AREA_FK200 ...) begin with the account number.
            masked[str(key)] = MASK
        else:
            masked[str(key)] = _mask_value(value)
    return masked


def scrub_text(text: str) -> str:
    """``text`` with every ``Bearer <token>`` replaced by ``Bearer ***``."""
    return _BEARER_RE.sub(r"\1 " + MASK, text)


# --- headers, single values, log records ----------------------------------------------------
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
