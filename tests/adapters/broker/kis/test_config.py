"""KISConfig: arguments, environment, .env, account parsing, validation, secrecy."""

from __future__ import annotations

from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError
from stock_manager.adapters.broker.kis import constants as C

from ._support import APP_KEY, APP_SECRET, CANO


def test_keyword_arguments_as_on_the_kis_page() -> None:
    config = KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET)
    assert config.kis_app_key == APP_KEY
    assert config.kis_app_secret.get_secret_value() == APP_SECRET
    assert config.mode == "real"
    assert config.is_paper is False
    assert config.effective_base_url == C.REAL_BASE_URL
    assert config.effective_rate_limit == 20.0
    assert config.kis_account_no is None


def test_paper_mode_defaults() -> None:
    config = KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET, mode="paper")
    assert config.is_paper is True
    assert config.effective_base_url == C.PAPER_BASE_URL
    assert config.effective_rate_limit == 2.0


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KIS_APP_KEY", "envkey-123456")
    monkeypatch.setenv("KIS_APP_SECRET", "envsecret-abcdef")
    monkeypatch.setenv("KIS_ACCOUNT_NO", "87654321-22")
    monkeypatch.setenv("KIS_MODE", "paper")
    monkeypatch.setenv("KIS_BASE_URL", "http://127.0.0.1:8080/")
    monkeypatch.setenv("KIS_TOKEN_CACHE_DIR", str(tmp_path / "tok"))
    config = KISConfig()
    assert config.kis_app_key == "envkey-123456"
    assert config.kis_app_secret.get_secret_value() == "envsecret-abcdef"
    assert (config.cano, config.acnt_prdt_cd) == ("87654321", "22")
    assert config.mode == "paper"
    assert config.effective_base_url == "http://127.0.0.1:8080"
    assert config.token_cache_dir == tmp_path / "tok"


def test_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_APP_KEY", "envkey-123456")
    monkeypatch.setenv("KIS_APP_SECRET", "envsecret-abcdef")
    config = KISConfig(kis_app_key="argkey-999")
    assert config.kis_app_key == "argkey-999"
    assert config.kis_app_secret.get_secret_value() == "envsecret-abcdef"


def test_dotenv_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "KIS_APP_KEY=dotenvkey-1\n"
        "KIS_APP_SECRET=dotenvsecret-2\n"
        "KIS_ACCOUNT_NO=1234567801\n"
        "KIS_MODE=paper\n",
        encoding="utf-8",
    )
    config = KISConfig()
    assert config.kis_app_key == "dotenvkey-1"
    assert config.kis_app_secret.get_secret_value() == "dotenvsecret-2"
    assert config.kis_account_no == "12345678-01"
    assert config.is_paper


@pytest.mark.parametrize("account", ["12345678-01", "1234567801", " 12345678-01 "])
def test_account_forms(account: str) -> None:
    config = KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET, kis_account_no=account)
    assert config.cano == "12345678"
    assert config.acnt_prdt_cd == "01"
    assert config.masked_account == "12****78-01"


def test_missing_account_raises_on_use() -> None:
    config = KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET)
    with pytest.raises(KISConfigError, match="KIS_ACCOUNT_NO"):
        _ = config.cano


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("kis_account_no", "1234-5678", "kis_account_no (KIS_ACCOUNT_NO)"),
        ("kis_account_no", "123456789", "kis_account_no (KIS_ACCOUNT_NO)"),
        ("mode", "sandbox", "mode (KIS_MODE)"),
        ("base_url", "ftp://example.com", "base_url (KIS_BASE_URL)"),
        ("base_url", "openapi.koreainvestment.com", "base_url (KIS_BASE_URL)"),
        ("custtype", "X", "custtype (KIS_CUSTTYPE)"),
        ("max_attempts", 0, "max_attempts (KIS_MAX_ATTEMPTS)"),
    ],
)
def test_invalid_values_name_the_field_and_hide_the_secret(
    field: str, value: object, named: str
) -> None:
    with pytest.raises(KISConfigError) as info:
        KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET, **{field: value})
    text = str(info.value) + repr(info.value)
    assert named in text
    assert APP_SECRET not in text
    assert info.value.reached_server is False


def test_missing_and_blank_secret() -> None:
    with pytest.raises(KISConfigError) as info:
        KISConfig(kis_app_key=APP_KEY)
    assert "kis_app_secret (KIS_APP_SECRET): is required" in str(info.value)
    with pytest.raises(KISConfigError, match="kis_app_secret"):
        KISConfig(kis_app_key=APP_KEY, kis_app_secret="   ")


def test_bad_value_is_not_echoed() -> None:
    bad = "98765432-1X-" + APP_SECRET
    with pytest.raises(KISConfigError) as info:
        KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET, kis_account_no=bad)
    assert "98765432" not in str(info.value)
    assert APP_SECRET not in str(info.value)


def test_secret_and_account_absent_from_repr_and_str() -> None:
    config = KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET, kis_account_no="12345678-01")
    for text in (repr(config), str(config), f"{config!r}"):
        assert APP_SECRET not in text
        assert CANO not in text
    # A dump is data, not display: the account is there, the secret stays wrapped.
    assert APP_SECRET not in str(config.model_dump())
    assert "12****78-01" in repr(config)


def test_config_is_frozen() -> None:
    config = KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET)
    with pytest.raises(Exception, match="frozen"):
        config.mode = "paper"  # type: ignore[misc]


def test_mode_aliases() -> None:
    for alias, mode in [("VTS", "paper"), ("prod", "real"), (" Paper ", "paper")]:
        assert KISConfig(kis_app_key=APP_KEY, kis_app_secret=APP_SECRET, mode=alias).mode == mode
