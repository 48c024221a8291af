"""The app secret, the access token and the account number never leak into logs or errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from stock_manager.adapters.broker.kis import KISError, KISRestClient
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter

from ._support import (
    APP_SECRET,
    CANO,
    INQUIRY_PARAMS,
    ORDER_PARAMS,
    RESV,
    RESV_CCNL,
    TOKEN_PREFIX,
    FakeKIS,
    gateway_error,
    kis_json,
    local_kis_server,
)
from .conftest import make_config

SECRETS = (APP_SECRET, TOKEN_PREFIX, CANO)


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret[:6]}… leaked into {where}: {text[:300]}"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "stock_manager", "stock_manager.kis"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _check_records(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        _assert_clean(record.getMessage(), f"log record {record.name}")
    _assert_clean(caplog.text, "formatted log output")


def test_full_flow_over_http_leaks_nothing(
    tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    """Real sockets on 127.0.0.1, so httpx *and* httpcore log at DEBUG."""
    with local_kis_server(token_delay=0.0) as server:
        config = make_config(
            tmp_path, base_url=f"http://127.0.0.1:{server.server_address[1]}", journal=False
        )
        with KISRestClient(config, limiter=RateLimiter(1e9, margin=0)) as client:
            client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
            client.make_request("POST", RESV, ORDER_PARAMS)
            shown = client.describe("GET", RESV_CCNL, INQUIRY_PARAMS)
            _assert_clean(str(shown), "describe()")
            _assert_clean(str(client.describe("POST", RESV, ORDER_PARAMS)), "describe()")
            _assert_clean(repr(config) + str(config), "the config")
            client.revoke_token()
    assert server.token_calls == 1
    assert server.api_calls == 1
    names = {r.name for r in debug_logs.records}
    assert "httpx" in names
    # The URL with CANO in its query really was logged, and scrubbed.
    assert any("CANO=***" in r.getMessage() for r in debug_logs.records if r.name == "httpx")
    assert any(n.startswith("httpcore") for n in names)
    assert any(r.name == "stock_manager.kis" for r in debug_logs.records)
    _check_records(debug_logs)


def test_failures_leak_nothing(
    make_client: Callable[..., KISRestClient],
    fake: FakeKIS,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    fake.script(
        RESV_CCNL,
        gateway_error("EGW00201"),  # retried
        gateway_error("EGW00123"),  # re-issued
        kis_json(rt_cd="1", msg_cd="OPSQ2000", msg1="계좌번호 오류"),
    )
    fake.script(
        RESV,
        httpx.ReadTimeout("timed out"),
        httpx.Response(502, text="<html>bad gateway</html>"),
        kis_json(rt_cd="1", msg_cd="APBK0919", msg1="잔고 부족"),
        gateway_error("EGW00103", "유효하지 않은 AppKey입니다."),
    )
    client = make_client(max_attempts=3)
    errors: list[KISError] = []
    with pytest.raises(KISError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    errors.append(info.value)
    for _ in range(4):
        with pytest.raises(KISError) as info:
            client.make_request("POST", RESV, ORDER_PARAMS)
        errors.append(info.value)
    fake.token_replies.append(
        httpx.Response(403, json={"error_code": "EGW00133", "error_description": "1분당 1회"})
    )
    client.tokens.forget()
    client.tokens.path.unlink()
    client.tokens._last_attempt = None
    client.tokens._max_wait = 30  # EGW00133 is raised, not waited out, past this
    with pytest.raises(KISError) as info:
        client.make_request("POST", RESV, ORDER_PARAMS)
    errors.append(info.value)
    assert [type(e).__name__ for e in errors] == [
        "KISBusinessError",
        "OrderOutcomeUnknownError",
        "OrderOutcomeUnknownError",
        "KISBusinessError",
        "KISAuthError",
        "TokenIssueRateLimitedError",
    ]
    for err in errors:
        _assert_clean(str(err), "str(error)")
        _assert_clean(repr(err), "repr(error)")
        _assert_clean(repr(err.args), "error.args")
    _assert_clean(str(client.describe("POST", RESV, ORDER_PARAMS)), "describe()")
    assert debug_logs.records
    _check_records(debug_logs)
