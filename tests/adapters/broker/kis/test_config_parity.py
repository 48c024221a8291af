"""KISConfig resolves its sources exactly as pydantic-settings did (issue #14).

KISConfig was a pydantic-settings ``BaseSettings``; it is now a plain pydantic model that reads
arguments, ``KIS_*`` variables and ``.env`` itself (pydantic-settings cost ~7x ``python -c pass``
to import). The reference here is a ``BaseSettings`` built from KISConfig's own fields and
validators with the ``model_config`` KISConfig had; both must agree on every scenario.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError
from stock_manager.adapters.broker.kis.config import _describe


class _OldConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KIS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        hide_input_in_errors=True,
    )


def _reference() -> type[BaseSettings]:
    validators: dict[str, Any] = {}
    for name, dec in KISConfig.__pydantic_decorators__.field_validators.items():
        func: Any = classmethod(dec.func.__func__)  # type: ignore[attr-defined]  # bound method
        validators[name] = field_validator(*dec.info.fields, mode=dec.info.mode)(func)
    fields: dict[str, Any] = {n: (f.annotation, f) for n, f in KISConfig.model_fields.items()}
    return create_model("Reference", __base__=_OldConfig, __validators__=validators, **fields)


REFERENCE = _reference()

KEY = "key-1234567890"
SECRET = "secret-abcdefgh"

# (environment, .env text or None, explicit arguments)
SCENARIOS: list[tuple[dict[str, str], str | None, dict[str, Any]]] = [
    ({}, None, {}),  # nothing: required fields missing
    ({}, None, {"kis_app_key": KEY, "kis_app_secret": SECRET}),
    ({"KIS_APP_KEY": KEY, "KIS_APP_SECRET": SECRET}, None, {}),
    ({"kis_app_key": KEY, "Kis_App_Secret": SECRET, "kis_mode": "VTS"}, None, {}),  # any case
    ({}, "KIS_APP_KEY=dk\nKIS_APP_SECRET=ds\nKIS_MODE=paper\nKIS_ACCOUNT_NO=1234567801\n", {}),
    (  # env over .env, arguments over both
        {"KIS_APP_KEY": "envkey", "KIS_MODE": "paper"},
        "KIS_APP_KEY=dotkey\nKIS_APP_SECRET=dotsecret\nKIS_MODE=real\nKIS_CUSTTYPE=b\n",
        {"kis_app_key": "argkey"},
    ),
    (  # quotes, export, comments, a bare key, interpolation, unknown keys
        {"SOME_VAR": "x"},
        "export KIS_APP_KEY=\"quoted key\"\n# comment\nKIS_APP_SECRET='s p' # c\nKIS_MODE\n"
        "KIS_BASE_URL=http://${SOME_VAR}.example:1/\nKIS_UNKNOWN=1\nOTHER=2\n",
        {},
    ),
    (  # empty values are values, not "unset"
        {"KIS_APP_KEY": KEY, "KIS_APP_SECRET": SECRET, "KIS_BASE_URL": "", "KIS_ACCOUNT_NO": ""},
        None,
        {},
    ),
    ({"KIS_APP_KEY": KEY, "KIS_APP_SECRET": SECRET, "KIS_RATE_LIMIT": ""}, None, {}),
    ({"KIS_APP_KEY": KEY, "KIS_APP_SECRET": SECRET}, "KIS_MODE=\n", {}),
    (  # booleans, numbers, paths, SecretStr URL
        {
            "KIS_APP_KEY": KEY,
            "KIS_APP_SECRET": SECRET,
            "KIS_JOURNAL": "false",
            "KIS_USE_HASHKEY": "1",
            "KIS_RATE_LIMIT": "7.5",
            "KIS_MAX_ATTEMPTS": "3",
            "KIS_TOKEN_CACHE_DIR": "/tmp/x",
            "KIS_JOURNAL_PATH": "/tmp/j.sqlite3",
            "KIS_SHARED_STATE": "redis://:pw@h:6380/2",
            "KIS_CONNECT_TIMEOUT": "2",
            "KIS_TOKEN_ISSUE_MAX_WAIT": "0",
        },
        None,
        {},
    ),
    (  # invalid values everywhere: the same fields named, no value shown
        {"KIS_APP_KEY": " ", "KIS_APP_SECRET": " ", "KIS_MODE": "bogus", "KIS_JOURNAL": "maybe"},
        "KIS_ACCOUNT_NO=12-3\nKIS_RATE_LIMIT=-1\nKIS_SHARED_STATE=http://x\n",
        {"max_attempts": 0, "base_url": "ftp://x"},
    ),
    (
        {"KIS_APP_KEY": KEY, "KIS_APP_SECRET": SECRET, "KIS_BASE_URL": "http://e:1"},
        None,
        {"base_url": None},
    ),
    ({}, None, {"KIS_APP_KEY": KEY, "Kis_App_Secret": SECRET, "MODE": "paper", "junk": 1}),
    ({"KIS_KIS_APP_KEY": "double", "KIS_APP_SECRET": SECRET}, None, {}),  # the alias has no prefix
    ({"KIS_KIS_APP_KEY": "double", "KIS_APP_KEY": KEY, "KIS_APP_SECRET": SECRET}, None, {}),
    ({"KIS_KIS_APP_KEY": "double"}, "KIS_APP_KEY=dot\nKIS_KIS_APP_SECRET=s2\n", {}),
    ({"APP_KEY": "noprefix", "KIS_APP_SECRET": SECRET, "MODE": "paper"}, None, {}),
]


def _outcome(make: Any) -> tuple[str, Any]:
    try:
        made = make()
    except (ValidationError, KISConfigError) as exc:
        text = _describe(exc) if isinstance(exc, ValidationError) else str(exc)
        return "error", text
    return "ok", made.model_dump()


@pytest.mark.parametrize(("env", "dotenv", "args"), SCENARIOS)
def test_same_values_as_pydantic_settings(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    env: dict[str, str],
    dotenv: str | None,
    args: dict[str, Any],
) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("KIS_") or name.upper() in {"APP_KEY", "MODE", "SOME_VAR"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    new = _outcome(lambda: KISConfig(**args))
    old = _outcome(lambda: REFERENCE(**args))
    assert new == old
    if new[0] == "error":
        for secret in (SECRET, "pw", "12-3", "bogus"):
            assert secret not in new[1]
