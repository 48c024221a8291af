"""Access tokens: single flight, the shared cache file, expiry, re-issue, 1/min rule, revoke."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    KISAuthError,
    KISConfigError,
    KISRestClient,
    TokenIssueRateLimitedError,
)
from stock_manager.adapters.broker.kis import skew as skew_module
from stock_manager.adapters.broker.kis.errors import KISServerError, KISTransportError

from ._support import (
    APP_KEY,
    APP_SECRET,
    INQUIRY_PARAMS,
    ORDER_PARAMS,
    RESV_CCNL,
    T0,
    TOKEN_PREFIX,
    FakeClock,
    FakeKIS,
    SleepRecorder,
    gateway_error,
    local_kis_server,
)

Factory = Callable[..., KISRestClient]


def _bearer(request: httpx.Request) -> str:
    return request.headers["authorization"].removeprefix("Bearer ")


def test_first_request_issues_a_token_with_the_documented_body(
    make_client: Factory, fake: FakeKIS
) -> None:
    client = make_client(journal=False)
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert len(fake.token_requests) == 1
    token_request = fake.token_requests[0]
    assert token_request.method == "POST"
    assert json.loads(token_request.content) == {
        "grant_type": "client_credentials",
        "appkey": APP_KEY,
        "appsecret": APP_SECRET,
    }
    assert "authorization" not in token_request.headers
    assert token_request.headers["content-type"].startswith("application/json")
    assert _bearer(fake.api_requests[0]) == fake.token_for(1)
    assert client.tokens.issued_count == 1


def test_twenty_threads_one_issuance(make_client: Factory, fake: FakeKIS) -> None:
    fake.token_delay = 0.05  # hold the issuance open so the threads pile up behind it
    client = make_client(journal=False)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert len(fake.token_requests) == 1
    assert fake.api_count(RESV_CCNL) == 20
    assert {_bearer(r) for r in fake.api_requests} == {fake.token_for(1)}


def test_cache_file_is_private_and_holds_no_secret(
    make_client: Factory, fake: FakeKIS, tmp_path: Path
) -> None:
    client = make_client(journal=False)
    client.issue_token()
    path = client.tokens.path
    assert path.parent == tmp_path / "tokens"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert APP_SECRET.encode() not in raw
    assert APP_KEY.encode() not in raw  # only a shortened key
    data = json.loads(raw)
    assert data["access_token"] == fake.token_for(1)
    assert data["issued_at"] == T0
    # No temp files left behind.
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == [
        path.name
    ]


def test_second_client_reuses_the_cached_token(make_client: Factory, fake: FakeKIS) -> None:
    first = make_client(journal=False)
    first.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    second = make_client(journal=False)
    assert second.tokens.token is None
    second.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert len(fake.token_requests) == 1
    assert second.tokens.issued_count == 0
    assert _bearer(fake.api_requests[1]) == fake.token_for(1)


def test_different_app_keys_use_different_cache_files(make_client: Factory, fake: FakeKIS) -> None:
    a = make_client(journal=False)
    b = make_client(journal=False, kis_app_key="PSotherkey-000000000000000000000000")
    a.issue_token()
    b.issue_token()
    assert a.tokens.path != b.tokens.path
    assert len(fake.token_requests) == 2


def test_expiry_is_parsed_as_kst_and_refreshed_near_it(
    make_client: Factory, fake: FakeKIS, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    # 2026-01-02 09:00:00 KST == 2026-01-02 00:00:00 UTC == T0 + 1 day.
    fake.expired_kst = "2026-01-02 09:00:00"
    client = make_client(journal=False)
    client.issue_token()
    token = client.tokens.token
    assert token is not None
    assert token.expires_at == datetime(2026, 1, 2, tzinfo=UTC).timestamp() == T0 + 86_400

    clock.now = token.expires_at - 301  # outside the 300 s refresh margin: reuse
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert len(fake.token_requests) == 1

    clock.now = token.expires_at - 299  # inside the margin: refresh before it runs out
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert len(fake.token_requests) == 2
    assert _bearer(fake.api_requests[-1]) == fake.token_for(2)
    assert sleeps.calls == []  # the last issuance was a day ago: no 1/min wait


def test_a_server_expiry_in_our_past_does_not_make_a_fresh_token_look_expired(
    make_client: Factory,
    fake: FakeKIS,
    clock: FakeClock,
    sleeps: SleepRecorder,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue #18 (1): a server whose clock is a day behind ours (an emulator frozen at an earlier
    # date, or a client clock that is off) sends an absolute expiry that is already past on our
    # clock. The lifetime is counted from expires_in on our clock; the disagreement is reported
    # once as skew, and the token is reused instead of re-issued every minute.
    fake.expired_kst = "2025-12-31 09:00:00"  # T0 - 1 day
    client = make_client(journal=False)
    monkeypatch.setattr(skew_module, "_reported", threading.Event())
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis.skew"):
        client.issue_token()
        for _ in range(3):
            clock.now += 120
            client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    token = client.tokens.token
    assert token is not None
    assert token.expires_at == token.issued_at + 86_400
    assert len(fake.token_requests) == 1
    assert sleeps.calls == []
    assert sum("clock skew" in r.getMessage() for r in caplog.records) == 1


def test_expires_in_is_used_without_an_expiry_string(make_client: Factory, fake: FakeKIS) -> None:
    fake.token_replies.append(
        httpx.Response(200, json={"access_token": "tok-expires-in", "expires_in": 3600})
    )
    client = make_client(journal=False)
    assert client.issue_token() == "tok-expires-in"
    assert client.tokens.token is not None
    assert client.tokens.token.expires_at == T0 + 3600


def test_egw00123_reissues_once_and_retries_once(
    make_client: Factory, fake: FakeKIS, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    client = make_client(journal=False)
    client.issue_token()
    clock.advance(120)
    fake.script(RESV_CCNL, gateway_error("EGW00123", "기간이 만료된 token 입니다."))
    resp = client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert resp.rt_cd == "0"
    assert len(fake.token_requests) == 2
    assert fake.api_count() == 2
    assert [_bearer(r) for r in fake.api_requests] == [fake.token_for(1), fake.token_for(2)]
    assert sleeps.calls == []
    # The cache file holds the new token now.
    cached = client.tokens.cached()
    assert cached is not None and cached.access_token == fake.token_for(2)


def test_egw00123_on_an_order_post_is_also_retried_once(
    make_client: Factory, fake: FakeKIS, clock: FakeClock
) -> None:
    client = make_client(journal=False)
    client.issue_token()
    clock.advance(120)
    fake.script(
        "/uapi/domestic-stock/v1/trading/order-resv",
        httpx.Response(200, json={"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "expired"}),
    )
    resp = client.make_request("POST", "/uapi/domestic-stock/v1/trading/order-resv", ORDER_PARAMS)
    assert resp.rt_cd == "0"
    assert fake.api_count() == 2
    assert len(fake.token_requests) == 2


def test_egw00121_twice_raises_auth_error_after_two_requests(
    make_client: Factory, fake: FakeKIS, clock: FakeClock
) -> None:
    client = make_client(journal=False)
    client.issue_token()
    clock.advance(120)
    fake.script(
        RESV_CCNL,
        gateway_error("EGW00121", "유효하지 않은 token 입니다."),
        gateway_error("EGW00121", "유효하지 않은 token 입니다."),
    )
    with pytest.raises(KISAuthError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert info.value.msg_cd == "EGW00121"
    assert info.value.http_status == 500
    assert fake.api_count() == 2
    assert len(fake.token_requests) == 2


def test_forced_reissue_within_a_minute_waits_the_remainder(
    make_client: Factory, fake: FakeKIS, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    client = make_client(journal=False)
    client.issue_token()  # at T0
    clock.advance(20)
    fake.script(RESV_CCNL, gateway_error("EGW00123"))
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert sleeps.calls == [pytest.approx(40.0)]
    assert len(fake.token_requests) == 2


def test_forced_reissue_raises_when_the_wait_is_too_long(
    make_client: Factory, fake: FakeKIS, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    client = make_client(journal=False, token_issue_max_wait=10)
    client.issue_token()
    clock.advance(20)
    fake.script(RESV_CCNL, gateway_error("EGW00123"))
    with pytest.raises(TokenIssueRateLimitedError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert info.value.retry_after == pytest.approx(40.0)
    assert info.value.msg_cd == "EGW00133"
    assert sleeps.calls == []
    assert len(fake.token_requests) == 1
    assert fake.api_count() == 1


def test_one_minute_rule_counts_issuance_by_another_process(
    make_client: Factory, fake: FakeKIS, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    """A token another process issued 30 s ago and the server now rejects: wait 30 s."""
    first = make_client(journal=False)
    first.issue_token()
    clock.advance(30)
    second = make_client(journal=False)
    fake.script(RESV_CCNL, gateway_error("EGW00121"))
    second.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert sleeps.calls == [pytest.approx(30.0)]
    assert len(fake.token_requests) == 2


def _egw00133() -> httpx.Response:
    return httpx.Response(
        403,
        json={
            "error_code": "EGW00133",
            "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
        },
    )


def test_http_403_egw00133_is_token_rate_limited(make_client: Factory, fake: FakeKIS) -> None:
    """Beyond ``token_issue_max_wait`` EGW00133 is raised (within it, it waits: below)."""
    fake.token_replies.append(_egw00133())
    client = make_client(journal=False, token_issue_max_wait=30)
    with pytest.raises(TokenIssueRateLimitedError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert info.value.msg_cd == "EGW00133"
    assert info.value.http_status == 403
    assert info.value.retry_after == 60.0
    assert fake.api_count() == 0


def test_http_403_egw00103_is_auth_error(make_client: Factory, fake: FakeKIS) -> None:
    fake.token_replies.append(
        httpx.Response(
            403, json={"error_code": "EGW00103", "error_description": "유효하지 않은 AppKey입니다."}
        )
    )
    client = make_client(journal=False)
    with pytest.raises(KISAuthError) as info:
        client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    assert type(info.value) is KISAuthError
    assert info.value.msg_cd == "EGW00103"
    assert info.value.msg1 == "유효하지 않은 AppKey입니다."
    assert info.value.http_status == 403
    assert APP_SECRET not in str(info.value)
    assert fake.api_count() == 0
    assert not client.tokens.path.exists()


def test_token_endpoint_5xx_and_connect_error(make_client: Factory, fake: FakeKIS) -> None:
    fake.token_replies.append(httpx.Response(502, text="<html>bad gateway</html>"))
    fake.token_replies.append(httpx.ConnectError("refused"))
    client = make_client(journal=False)
    with pytest.raises(KISServerError, match="HTTP 502"):
        client.issue_token()
    client.tokens._last_attempt = None  # the 1/min rule is not under test here
    with pytest.raises(KISTransportError):
        client.issue_token()


def test_revoke_posts_credentials_and_deletes_the_cache(
    make_client: Factory, fake: FakeKIS
) -> None:
    client = make_client(journal=False)
    token = client.issue_token()
    assert client.tokens.path.exists()
    assert client.revoke_token() is True
    assert len(fake.revoke_requests) == 1
    req = fake.revoke_requests[0]
    assert req.method == "POST"
    assert req.url.path == "/oauth2/revokeP"
    assert json.loads(req.content) == {"appkey": APP_KEY, "appsecret": APP_SECRET, "token": token}
    assert not client.tokens.path.exists()
    assert client.tokens.token is None
    assert client.revoke_token() is False  # nothing cached any more
    assert len(fake.revoke_requests) == 1


def test_revoke_refused_raises(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client(journal=False)
    client.issue_token()

    fake.revoke_replies.append(
        httpx.Response(403, json={"error_code": "EGW00121", "error_description": "bad"})
    )
    with pytest.raises(KISAuthError, match="revocation refused"):
        client.revoke_token()


# --- two real processes, one cache dir, one issuance ------------------------------------------
_CHILD = textwrap.dedent(
    """
    import sys
    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient

    base_url, cache_dir = sys.argv[1], sys.argv[2]
    client = KISRestClient(KISConfig(
        kis_app_key={app_key!r}, kis_app_secret={app_secret!r}, base_url=base_url,
        token_cache_dir=cache_dir, journal=False,
    ))
    print("ready", flush=True)
    sys.stdin.readline()  # start line: both processes go at once
    resp = client.make_request("GET", {path!r}, {params!r})
    print(resp.rt_cd, client.tokens.issued_count, flush=True)
    """
).format(app_key=APP_KEY, app_secret=APP_SECRET, path=RESV_CCNL, params=INQUIRY_PARAMS)


def test_two_processes_share_one_issuance(tmp_path: Path) -> None:
    cache_dir = tmp_path / "shared-tokens"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with local_kis_server(token_delay=0.2) as server:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _CHILD, base_url, str(cache_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(2)
        ]
        try:
            for p in procs:
                assert p.stdout is not None
                assert p.stdout.readline().strip() == "ready"
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            outputs = [p.communicate(timeout=30) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
        assert server.token_calls == 1
        assert server.api_calls == 2
        assert len(set(server.authorizations)) == 1
        assert server.authorizations[0] == f"Bearer {TOKEN_PREFIX}.proc1.sig"
        issued = sorted(int(out.split()[1]) for out, _ in outputs)
        assert issued == [0, 1]
        assert [out.split()[0] for out, _ in outputs] == ["0", "0"]


# --- cache edges (issue #8 item 6) ------------------------------------------------------------
def test_directory_at_the_cache_file_path_is_a_config_error_and_the_token_still_works(
    make_client: Factory, fake: FakeKIS, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: IsADirectoryError escaped and the issued token was thrown away.
    client = make_client(journal=False)
    client.tokens.path.mkdir(parents=True)
    with caplog.at_level("WARNING", "stock_manager.kis.auth"):
        assert client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS).rt_cd == "0"
        assert client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS).rt_cd == "0"
    assert len(fake.token_requests) == 1  # kept in memory for the run
    assert isinstance(client.tokens.cache_error, KISConfigError)
    assert str(client.tokens.path) in str(client.tokens.cache_error)
    assert sum(str(client.tokens.path) in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(KISConfigError, match=str(client.tokens.path)):
        client.tokens.check_cache()


def test_file_at_the_cache_folder_path_is_a_config_error_and_the_token_still_works(
    make_client: Factory, fake: FakeKIS, tmp_path: Path
) -> None:
    # Before: FileExistsError from mkdir, nothing issued.
    folder = tmp_path / "tokens"
    folder.write_text("not a folder")
    client = make_client(journal=False)
    assert client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS).rt_cd == "0"
    assert client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS).rt_cd == "0"
    assert len(fake.token_requests) == 1
    assert client.tokens.cache_error is not None
    assert str(folder) in str(client.tokens.cache_error)
    with pytest.raises(KISConfigError, match=str(folder)):
        client.tokens.check_cache()


def test_loose_cache_permissions_are_tightened_with_a_warning(
    make_client: Factory, fake: FakeKIS, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: a 0644 cache file stayed 0644.
    make_client(journal=False).issue_token()
    second = make_client(journal=False)
    os.chmod(second.tokens.path, 0o644)
    with caplog.at_level("WARNING", "stock_manager.kis.auth"):
        second.issue_token()
    assert stat.S_IMODE(second.tokens.path.stat().st_mode) == 0o600
    assert any("tightened to 0600" in r.getMessage() for r in caplog.records)
    assert len(fake.token_requests) == 1


def test_stale_temp_files_are_removed(make_client: Factory, fake: FakeKIS) -> None:
    # Before: a writer killed mid-write left token-*.tmp behind for ever.
    client = make_client(journal=False)
    client.tokens.path.parent.mkdir(parents=True)
    stale = client.tokens.path.with_name(f"{client.tokens.path.stem}.99999.1.tmp")
    stale.write_text("{half a tok")
    old = stale.stat().st_mtime - 3600
    os.utime(stale, (old, old))
    fresh = client.tokens.path.with_name(f"{client.tokens.path.stem}.99998.1.tmp")
    fresh.write_text("{being written")
    client.issue_token()
    assert not stale.exists()
    assert fresh.exists()  # may belong to a live writer


def test_last_issuance_survives_a_revoke_and_the_next_issue_waits(
    make_client: Factory, fake: FakeKIS, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    # Before: revoke deleted the record of the last issuance; the next command (a new process)
    # went straight to tokenP and failed on EGW00133.
    client = make_client(journal=False)
    client.issue_token()
    clock.advance(15)
    assert client.revoke_token() is True
    later = make_client(journal=False)  # another process: nothing in memory
    later.issue_token()
    assert sleeps.calls == [pytest.approx(45.0)]
    assert len(fake.token_requests) == 2


def test_egw00133_answer_waits_the_minute_out(
    make_client: Factory, fake: FakeKIS, sleeps: SleepRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: EGW00133 from KIS (an issuance we did not see) failed the command.
    fake.token_replies.append(_egw00133())
    client = make_client(journal=False)
    with caplog.at_level("WARNING", "stock_manager.kis.auth"):
        assert client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS).rt_cd == "0"
    assert sleeps.calls == [pytest.approx(60.0)]
    assert len(fake.token_requests) == 2
    assert any("waiting 60 s" in r.getMessage() for r in caplog.records)
