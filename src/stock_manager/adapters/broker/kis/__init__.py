"""Korea Investment & Securities (KIS) OpenAPI client.

>>> from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
>>> client = KISRestClient(KISConfig(kis_app_key="...", kis_app_secret="..."))
>>> client.get_tr_id(api_id="v1_국내주식-018,019", is_paper_trading=False, action="cancel")
'CTSC0009U'
"""

from .client import AsyncKISRestClient, KISRestClient, PreparedCall
from .config import KISConfig
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
from .rate_limit import RateLimiter
from .response import CIDict, KISResponse
from .tr_ids import CATALOG, ApiSpec, TRCatalog

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
