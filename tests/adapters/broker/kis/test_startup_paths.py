"""Start-up shortcuts of issue #14: a cached token without the issue lock, no CA bundle for http."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis._flow import drive_sync
from stock_manager.adapters.broker.kis.auth import FileTokenStore, Token, TokenManager

from ._support import APP_KEY, APP_SECRET

NOW = 1_800_000_000.0


def _manager(cache_dir: Path) -> TokenManager:
    return TokenManager(
        base_url="http://127.0.0.1:9",
        app_key=APP_KEY,
        app_secret=SecretStr(APP_SECRET),
        cache_dir=cache_dir,
        clock=lambda: NOW,
    )


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected request to {request.url}")


def test_a_valid_cached_token_is_used_without_taking_the_issue_lock(tmp_path: Path) -> None:
    _manager(tmp_path).store.write(Token("cached-token", expires_at=NOW + 3600, issued_at=NOW))
    fresh = _manager(tmp_path)  # another process: nothing in memory
    with httpx.Client(transport=httpx.MockTransport(_no_network)) as http:
        assert drive_sync(fresh.token_flow(), http) == "cached-token"
    assert isinstance(fresh.store, FileTokenStore)
    assert fresh.store._lock is None  # no lock file, no filelock import
    assert fresh.token is not None
    assert fresh.token.access_token == "cached-token"


def test_an_expired_or_rejected_cached_token_still_goes_through_the_lock(tmp_path: Path) -> None:
    _manager(tmp_path).store.write(Token("cached-token", expires_at=NOW + 3600, issued_at=NOW))
    fresh = _manager(tmp_path)
    issued = httpx.Response(
        200,
        json={
            "access_token": "new-token",
            "token_type": "Bearer",
            "expires_in": 86400,
            "access_token_token_expired": "2099-01-01 00:00:00",
        },
    )
    with httpx.Client(transport=httpx.MockTransport(lambda _: issued)) as http:
        token = drive_sync(fresh.token_flow(rejected="cached-token"), http, sleep=lambda _: None)
    assert token == "new-token"
    assert isinstance(fresh.store, FileTokenStore)
    assert fresh.store._lock is not None


def _client(base_url: str, tmp_path: Path) -> KISRestClient:
    config = KISConfig(
        kis_app_key=APP_KEY,
        kis_app_secret=APP_SECRET,
        base_url=base_url,
        token_cache_dir=tmp_path,
        journal=False,
    )
    return KISRestClient(config)


def test_a_plain_http_base_url_gets_a_context_that_trusts_nobody(tmp_path: Path) -> None:
    with _client("http://127.0.0.1:9", tmp_path) as client:
        ctx = client._verify()
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.get_ca_certs() == []  # any TLS handshake fails closed


@pytest.mark.parametrize("base_url", ["https://127.0.0.1:9", None])
def test_https_keeps_httpx_default_verification(tmp_path: Path, base_url: str | None) -> None:
    with _client(base_url or "", tmp_path) as client:
        assert client._verify() is True


def test_the_blocking_library_imports_no_asyncio_journal_or_pydantic_settings(
    tmp_path: Path,
) -> None:
    """Listing with the blocking client and the journal off needs none of them (issue #14):
    asyncio is imported by the async classes, the journal (and sqlite3) when one is opened, and
    pydantic-settings nowhere."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from stock_manager.adapters.broker.kis import KISConfig, KISRestClient\n"
        "from stock_manager.adapters.broker.kis.reservations import Reservations\n"
        "c = KISRestClient(KISConfig(kis_app_key='k' * 10, kis_app_secret='s' * 10,"
        f" journal=False, base_url='http://127.0.0.1:9', token_cache_dir={str(tmp_path)!r}))\n"
        "Reservations(c); c.close()\n"
        "print(sorted(m for m in ('asyncio', 'sqlite3', 'stock_manager.journal',"
        " 'pydantic_settings', 'dotenv')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    assert out.strip() == "[]"
