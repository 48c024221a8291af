"""The error tree: what each error says about whether the request reached KIS."""

from __future__ import annotations

import pytest

from stock_manager.adapters.broker.kis import errors as E


@pytest.mark.parametrize(
    ("cls", "reached"),
    [
        (E.KISConfigError, False),
        (E.KISValidationError, False),
        (E.TRIDResolutionError, False),
        (E.PaperTradingNotSupportedError, False),
        (E.KISTransportError, False),
        (E.OrderOutcomeUnknownError, None),
        (E.KISAPIError, True),
        (E.KISAuthError, True),
        (E.TokenIssueRateLimitedError, True),
        (E.KISRateLimitError, True),
        (E.KISServerError, True),
        (E.KISBusinessError, True),
    ],
)
def test_reached_server(cls: type[E.KISError], reached: bool | None) -> None:
    assert issubclass(cls, E.KISError)
    assert cls("x").reached_server is reached


def test_tree_shape() -> None:
    assert issubclass(E.KISValidationError, ValueError)
    assert issubclass(E.TRIDResolutionError, E.KISValidationError)
    assert issubclass(E.KISAuthError, E.KISGatewayError)
    assert issubclass(E.KISRateLimitError, E.KISGatewayError)
    assert issubclass(E.TokenIssueRateLimitedError, E.KISAuthError)
    assert issubclass(E.KISBusinessError, E.KISAPIError)
    assert not issubclass(E.OrderOutcomeUnknownError, E.KISAPIError)
    assert not issubclass(E.OrderOutcomeUnknownError, E.KISNotSentError)


def test_fields_and_str() -> None:
    err = E.KISBusinessError(
        "주식예약주문 refused: 잔고 부족",
        msg_cd="APBK0919",
        msg1="잔고 부족",
        rt_cd="1",
        tr_id="CTSC0008U",
        gt_uid="G",
        http_status=200,
    )
    assert (err.msg_cd, err.msg1, err.rt_cd, err.tr_id, err.gt_uid, err.http_status) == (
        "APBK0919",
        "잔고 부족",
        "1",
        "CTSC0008U",
        "G",
        200,
    )
    assert str(err) == "주식예약주문 refused: 잔고 부족 [APBK0919] (tr_id=CTSC0008U) (HTTP 200)"
    assert err.journal_id is None


def test_unknown_and_rate_limited_extras() -> None:
    unknown = E.OrderOutcomeUnknownError("lost", cause="ReadTimeout", tr_id="CTSC0009U")
    assert unknown.cause == "ReadTimeout"
    assert unknown.tr_id == "CTSC0009U"
    limited = E.TokenIssueRateLimitedError("wait", retry_after=42.0, msg_cd="EGW00133")
    assert limited.retry_after == 42.0
    assert limited.advice == "wait a minute; share one token cache"


@pytest.mark.parametrize(
    ("alias", "real"),
    [("EGW00223", "EGW00101"), ("EGW00331", "EGW00201"), ("egw00415 ", "EGW00003")],
)
def test_seed_aliases(alias: str, real: str) -> None:
    assert E.canonical_code(alias) == real
    info = E.explain(alias)
    assert info is not None
    assert info == E.KNOWN_CODES[real]


def test_explain() -> None:
    info = E.explain("EGW00201")
    assert info is not None and "20/s" in info.advice
    assert E.explain("APBK0919") is None
    assert E.explain(None) is None
    assert E.canonical_code(None) == ""


def test_code_sets() -> None:
    assert {"EGW00121", "EGW00122", "EGW00123"} == E.TOKEN_CODES
    assert {"EGW00301", "EGW00302", "EGW00001", "EGW00002"} <= E.UNCERTAIN_CODES
    assert "EGW00201" in E.RATE_LIMIT_CODES
    assert not (E.UNCERTAIN_CODES & E.RATE_LIMIT_CODES)
