"""KISConfig's precedence, the project's own (see the config module's docstring): one test a
step — argument > environment > .env file > default — plus the pydantic-settings quirks that
were dropped (a double ``KIS_KIS_`` prefix, ``_env_file=``) and the ``env_file=`` argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError
from stock_manager.adapters.broker.kis import constants as C

KEY, SECRET = "PSprecedenceKey000000000000000000000", "a-secret"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No KIS_* variable from outside; the working directory (./.env) is an empty temp dir."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("KIS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _dotenv(path: Path, **values: str) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


def test_1_an_argument_beats_the_environment_and_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _dotenv(tmp_path / ".env", KIS_READ_TIMEOUT="7")
    monkeypatch.setenv("KIS_READ_TIMEOUT", "6")
    config = KISConfig(kis_app_key=KEY, kis_app_secret=SECRET, read_timeout=5)
    assert config.read_timeout == 5


def test_2_the_environment_beats_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _dotenv(tmp_path / ".env", KIS_READ_TIMEOUT="7", KIS_APP_KEY="from-dotenv")
    monkeypatch.setenv("kis_read_timeout", "6")  # any case
    monkeypatch.setenv("KIS_APP_KEY", KEY)
    config = KISConfig(kis_app_secret=SECRET)
    assert (config.read_timeout, config.kis_app_key) == (6, KEY)


def test_3_the_env_file_beats_the_default(tmp_path: Path) -> None:
    _dotenv(tmp_path / ".env", KIS_READ_TIMEOUT="7", KIS_APP_KEY=KEY, KIS_APP_SECRET=SECRET)
    config = KISConfig()
    assert (config.read_timeout, config.kis_app_key) == (7, KEY)
    assert config.kis_app_secret.get_secret_value() == SECRET


def test_4_the_default_when_nothing_is_given() -> None:
    config = KISConfig(kis_app_key=KEY, kis_app_secret=SECRET)
    assert config.read_timeout == C.READ_TIMEOUT_S
    assert config.mode == "real"


def test_a_double_prefix_is_not_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``KIS_KIS_APP_KEY`` (pydantic-settings read it: alias, then prefix + name) means nothing,
    in the environment and in .env alike."""
    monkeypatch.setenv("KIS_KIS_APP_KEY", KEY)
    _dotenv(tmp_path / ".env", KIS_KIS_APP_SECRET=SECRET)
    with pytest.raises(KISConfigError) as caught:
        KISConfig()
    assert "kis_app_key (KIS_APP_KEY): is required" in str(caught.value)
    assert "kis_app_secret (KIS_APP_SECRET): is required" in str(caught.value)


def test_env_file_argument_names_the_file_or_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    elsewhere = _dotenv(tmp_path / "kis.env", KIS_APP_KEY=KEY, KIS_APP_SECRET=SECRET)
    _dotenv(tmp_path / ".env", KIS_APP_KEY="from-dot-env", KIS_APP_SECRET=SECRET)
    assert KISConfig(env_file=elsewhere).kis_app_key == KEY
    assert KISConfig(env_file=str(elsewhere)).kis_app_key == KEY
    assert KISConfig().kis_app_key == "from-dot-env"  # default: ./.env
    with pytest.raises(KISConfigError, match="kis_app_key"):
        KISConfig(env_file=None)  # no file at all
    monkeypatch.setenv("KIS_APP_KEY", "from-env")
    assert KISConfig(env_file=elsewhere).kis_app_key == "from-env"  # still below the env


def test_a_missing_env_file_is_no_error(tmp_path: Path) -> None:
    config = KISConfig(kis_app_key=KEY, kis_app_secret=SECRET, env_file=tmp_path / "none.env")
    assert config.kis_app_key == KEY


@pytest.mark.parametrize("option", ["_env_file", "_env_prefix"])
def test_an_underscore_option_is_a_clear_error(option: str, tmp_path: Path) -> None:
    with pytest.raises(KISConfigError) as caught:
        KISConfig(kis_app_key=KEY, kis_app_secret=SECRET, **{option: tmp_path / "x.env"})
    message = str(caught.value)
    assert f"KISConfig takes no {option}" in message and "env_file=" in message
