"""The masking rules of the order journal, shared with the KIS client's logs and errors.

Kept apart from :mod:`stock_manager.journal` so that code which only masks (every request the
KIS client logs or prints) does not import the journal itself (its ``JournalEntry`` dataclass
and enums cost ~2 ms at start-up, issue #14); ``stock_manager.journal`` re-exports
:func:`mask_account` and :func:`mask_request`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "mask_account", "mask_request", "scrub_text"]

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
