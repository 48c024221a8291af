"""Token issue/revoke rules and the gateway's authentication checks."""

from __future__ import annotations

from datetime import datetime

import pytest

from stock_manager.emulator import KST, ServedEmulator
from tests.emulator.helpers import RESV_CCNL, Kis


def test_token_fields(kis: Kis, emu: ServedEmulator) -> None:
    r = kis.issue()
    # The kis fixture already issued once; the 1/min rule applies to this second call.
    assert r.status_code == 403
    emu.clock.advance(61)
    r = kis.issue()
    assert r.status_code == 200
    data = r.json()
    assert data["token_type"] == "Bearer"
    assert isinstance(data["expires_in"], int)
    expired = datetime.strptime(data["access_token_token_expired"], "%Y-%m-%d %H:%M:%S")
    assert expired.replace(tzinfo=KST) > emu.clock.now()
    assert len(data["access_token"]) <= 350


@pytest.mark.parametrize(
    ("appkey", "appsecret", "code"),
    [("WRONGKEY", None, "EGW00103"), (None, "WRONGSECRET", "EGW00105")],
)
def test_token_bad_credentials(
    kis: Kis, appkey: str | None, appsecret: str | None, code: str
) -> None:
    r = kis.issue(appkey=appkey, appsecret=appsecret)
    assert r.status_code == 403
    assert r.json()["error_code"] == code
    assert r.json()["error_description"]


def test_token_once_per_minute(emu: ServedEmulator, kis: Kis) -> None:
    assert emu.state.token_issuances == 1
    emu.clock.advance(30)
    r = kis.issue()
    assert r.status_code == 403
    assert r.json() == {
        "error_code": "EGW00133",
        "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
    }
    assert emu.state.token_issuances == 1
    emu.clock.advance(31)
    assert kis.issue().status_code == 200
    assert emu.state.token_issuances == 2


def test_same_token_within_six_hours(emu: ServedEmulator, kis: Kis) -> None:
    first = kis.token
    emu.clock.advance(5 * 3600)
    r = kis.issue()
    assert r.json()["access_token"] == first
    # expires_in counts down: it is the same token with the same expiry.
    assert r.json()["expires_in"] == 86400 - 5 * 3600
    emu.clock.advance(3600 + 1)
    r = kis.issue()
    assert r.json()["access_token"] != first
    assert emu.state.tokens_created == 2


def test_revoke(emu: ServedEmulator, kis: Kis) -> None:
    assert kis.query().status_code == 200
    body = {"appkey": kis.config.app_key, "appsecret": kis.config.app_secret, "token": kis.token}
    r = kis.http.post("/oauth2/revokeP", json=body)
    assert r.status_code == 200
    assert r.json() == {"code": 200, "message": "접근토큰 폐기에 성공하였습니다"}
    r = kis.query()
    assert r.status_code == 500
    assert r.json()["msg_cd"] == "EGW00121"
    # After revoking, a new issuance (respecting 1/min) gives a new, working token.
    emu.clock.advance(60)
    kis.login()
    assert kis.query().status_code == 200


def test_revoke_unknown_token(kis: Kis) -> None:
    body = {"appkey": kis.config.app_key, "appsecret": kis.config.app_secret, "token": "nope"}
    r = kis.http.post("/oauth2/revokeP", json=body)
    assert r.status_code == 403
    assert r.json()["error_code"] == "EGW00121"


def test_token_expiry(emu: ServedEmulator, kis: Kis) -> None:
    emu.clock.advance(86400)
    r = kis.query()
    assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW00123")


def test_expire_tokens(emu: ServedEmulator, kis: Kis) -> None:
    assert emu.expire_tokens() == 1
    assert kis.query().json()["msg_cd"] == "EGW00123"
    emu.clock.advance(60)
    # An expired token is never handed out again, even within 6 hours.
    old = kis.token
    assert kis.login() != old


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"authorization": ""}, "EGW00122"),
        ({"authorization": "Token abc"}, "EGW00205"),
        ({"authorization": "Bearer not-a-token"}, "EGW00121"),
        ({"appkey": ""}, "EGW00102"),
        ({"appkey": "OTHERKEY"}, "EGW00103"),
        ({"appsecret": ""}, "EGW00104"),
        ({"appsecret": "OTHER"}, "EGW00105"),
        ({"custtype": "X"}, "EGW00208"),
        ({"tr_id": ""}, "OPSQ9999"),
        ({"tr_id": "ABCD1234Z"}, "OPSQ0002"),
        ({"tr_id": "CTSC0008U"}, "OPSQ0002"),  # known TR_ID, wrong path
        ({"tr_id": "VTTC0013U"}, "OPSQ0002"),  # paper TR_ID on the real server
    ],
)
def test_gateway_rejections(kis: Kis, change: dict[str, str], code: str) -> None:
    headers = kis.headers("CTSC0004R")
    headers.update(change)
    r = kis.http.get(RESV_CCNL, params=kis.list_params(), headers=headers)
    assert r.status_code == 500
    data = r.json()
    assert data["rt_cd"] == "1"
    assert data["msg_cd"] == code
    assert data["msg1"].strip()


def test_header_names_case_insensitive(kis: Kis) -> None:
    headers = {k.upper(): v for k, v in kis.headers("CTSC0004R").items()}
    r = kis.http.get(RESV_CCNL, params=kis.list_params(), headers=headers)
    assert r.status_code == 200
    assert r.json()["rt_cd"] == "0"
    assert r.headers["tr_id"] == "CTSC0004R"


def test_token_bad_body(kis: Kis) -> None:
    r = kis.http.post("/oauth2/tokenP", content=b"{not json")
    assert r.status_code == 403
    assert r.json()["error_code"] == "EGW00101"
