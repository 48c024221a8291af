"""Korea Investment & Securities (KIS) OpenAPI client.

>>> from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
>>> client = KISRestClient(KISConfig(kis_app_key="...", kis_app_secret="..."))
>>> client.get_tr_id(api_id="v1_국내주식-018,019", is_paper_trading=False, action="cancel")
'CTSC0009U'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Light modules (standard library only) load at once; the client, config and response models
# pull in httpx and pydantic, so they load on first use: ``stock-manager tr-id`` and the
# journal commands then start without them.
from .errors import (
    KISAPIError,
    KISAuthError,
    KISBusinessError,
    KISConfigError,
    KISError,
    KISGatewayError,
    KISNotSentError,
    KISRateLimitError,
    KISServerError,
    KISTransportError,
    KISValidationError,
    OrderOutcomeUnknownError,
    PaperTradingNotSupportedError,
    TokenIssueRateLimitedError,
    TRIDResolutionError,
)
from .tr_ids import CATALOG, ApiSpec, TRCatalog

if TYPE_CHECKING:
    from .client import AsyncKISRestClient, KISRestClient, PreparedCall
    from .config import KISConfig
    from .rate_limit import RateLimiter
    from .response import CIDict, KISResponse

_LAZY = {
    "AsyncKISRestClient": "client",
    "KISRestClient": "client",
    "PreparedCall": "client",
    "KISConfig": "config",
    "RateLimiter": "rate_limit",
    "CIDict": "response",
    "KISResponse": "response",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "CATALOG",
    "ApiSpec",
    "AsyncKISRestClient",
    "CIDict",
    "KISAPIError",
    "KISAuthError",
    "KISBusinessError",
    "KISConfig",
    "KISConfigError",
    "KISError",
    "KISGatewayError",
    "KISNotSentError",
    "KISRateLimitError",
    "KISResponse",
    "KISRestClient",
    "KISServerError",
    "KISTransportError",
    "KISValidationError",
    "OrderOutcomeUnknownError",
    "PaperTradingNotSupportedError",
    "PreparedCall",
    "RateLimiter",
    "TRCatalog",
    "TRIDResolutionError",
    "TokenIssueRateLimitedError",
]
