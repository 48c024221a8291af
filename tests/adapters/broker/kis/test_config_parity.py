"""KISConfig resolves its sources exactly as pydantic-settings did (issue #14).

KISConfig was a pydantic-settings ``BaseSettings``; it is now a plain pydantic model that reads
arguments, ``KIS_*`` variables and ``.env`` itself (importing pydantic-settings cost ~24 ms, 2.2x
``python -c pass``, on every CLI call). The reference here is a ``BaseSettings`` built from
KISConfig's own fields and validators with the ``model_config`` KISConfig had; both must agree
on every scenario.
"""

from __future__ import annotations

from collections.abc import Iterable
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
            "KIS_HTS_ID": "myhts01",
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
    (  # every field from .env, each with a value other than its default
        {},
        "KIS_APP_KEY=k\nKIS_APP_SECRET=s\nKIS_ACCOUNT_NO=12345678-02\nKIS_MODE=demo\n"
        "KIS_CUSTTYPE=B\nKIS_BASE_URL=https://h:1/\nKIS_CONNECT_TIMEOUT=1.5\n"
        "KIS_READ_TIMEOUT=2.5\nKIS_WRITE_TIMEOUT=3.5\nKIS_POOL_TIMEOUT=4.5\n"
        "KIS_TOKEN_CACHE_DIR=/tmp/t\nKIS_RATE_LIMIT=3\nKIS_MAX_ATTEMPTS=20\n"
        "KIS_TOKEN_ISSUE_MAX_WAIT=9\nKIS_JOURNAL=no\nKIS_JOURNAL_PATH=/tmp/j\n"
        "KIS_USE_HASHKEY=true\nKIS_SHARED_STATE=rediss://h/1\nKIS_HTS_ID=dotenvid\n",
        {},
    ),
    (  # every field from the environment, each invalid
        {
            "KIS_APP_KEY": "",
            "KIS_APP_SECRET": "",
            "KIS_ACCOUNT_NO": "x",
            "KIS_MODE": "x",
            "KIS_CUSTTYPE": "x",
            "KIS_BASE_URL": "x",
            "KIS_CONNECT_TIMEOUT": "0",
            "KIS_READ_TIMEOUT": "-1",
            "KIS_WRITE_TIMEOUT": "x",
            "KIS_POOL_TIMEOUT": "0",
            "KIS_TOKEN_CACHE_DIR": "",
            "KIS_RATE_LIMIT": "0",
            "KIS_MAX_ATTEMPTS": "21",
            "KIS_TOKEN_ISSUE_MAX_WAIT": "-1",
            "KIS_JOURNAL": "x",
            "KIS_JOURNAL_PATH": "",
            "KIS_USE_HASHKEY": "x",
            "KIS_SHARED_STATE": "x",
        },
        None,
        {},
    ),
    (  # every field as an argument over a full environment
        {name: "9" for name in ("KIS_CONNECT_TIMEOUT", "KIS_READ_TIMEOUT", "KIS_MAX_ATTEMPTS")},
        None,
        {
            "kis_app_key": KEY,
            "kis_app_secret": SECRET,
            "kis_account_no": "1234567801",
            "mode": "VTS",
            "custtype": "b",
            "base_url": "http://h",
            "connect_timeout": 1,
            "read_timeout": 2,
            "write_timeout": 3,
            "pool_timeout": 4,
            "token_cache_dir": Path("/tmp/t"),
            "rate_limit": 5,
            "max_attempts": 6,
            "token_issue_max_wait": 7,
            "journal": False,
            "journal_path": "/tmp/j",
            "use_hashkey": True,
            "shared_state": "redis://h",
            "hts_id": "argid",
        },
    ),
]


def _field_names(names: Iterable[str]) -> set[str]:
    return {n.lower().removeprefix("kis_") for n in names}


def test_every_field_is_exercised() -> None:
    """A field added to KISConfig must be added to the scenarios too (env, .env and args)."""
    fields = _field_names(KISConfig.model_fields)
    from_env = _field_names(n for env, _, _ in SCENARIOS for n in env)
    from_dotenv = _field_names(
        line.removeprefix("export ").split("=")[0].strip()
        for _, dotenv, _ in SCENARIOS
        for line in (dotenv or "").splitlines()
    )
    from_args = _field_names(n for _, _, args in SCENARIOS for n in args)
    assert not fields - from_env, fields - from_env
    assert not fields - from_dotenv, fields - from_dotenv
    assert not fields - from_args, fields - from_args


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


@pytest.mark.parametrize("option", ["_env_file", "_env_prefix", "_secrets_dir"])
def test_pydantic_settings_init_options_are_refused_not_ignored(option: str) -> None:
    """BaseSettings honoured these; a plain model would drop them silently."""
    with pytest.raises(KISConfigError, match=f"takes no {option}"):
        KISConfig(kis_app_key=KEY, kis_app_secret=SECRET, **{option: "x"})
