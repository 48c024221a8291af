"""Start-up shortcuts of issue #14: a cached token without the issue lock, lazy imports."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr

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
