"""``KISConfig``: every setting of the client, from arguments, the environment or ``.env``.

Environment variables: ``KIS_APP_KEY``, ``KIS_APP_SECRET``, ``KIS_ACCOUNT_NO``, ``KIS_MODE``
(``real``/``paper``), ``KIS_CUSTTYPE``, ``KIS_BASE_URL``, ``KIS_TOKEN_CACHE_DIR``,
``KIS_RATE_LIMIT`` (requests/second), ``KIS_CONNECT_TIMEOUT``, ``KIS_READ_TIMEOUT``,
``KIS_JOURNAL_PATH``, ``KIS_JOURNAL`` (``false`` to switch the order journal off),
``KIS_USE_HASHKEY``, ``KIS_SHARED_STATE`` (``file``, the default, or ``redis://...`` /
``rediss://...``: where the rate budget and the token are shared, see the ``shared_state`` package),
``KIS_HTS_ID`` (the HTS user ID real-time execution notices are keyed by; shown masked).

Where a setting comes from — the project's own rule, first match wins:

1. an argument: ``KISConfig(kis_app_key=..., read_timeout=5)`` (names in any case). The CLI
   passes its ``--profile`` section (and ``--emulator``) this way, so a profile beats the
   environment;
2. the environment: ``KIS_`` + the field name, in any case (``KIS_READ_TIMEOUT``); the three
   fields already named ``kis_*`` are read once, without a second prefix
   (``KIS_APP_KEY``; ``KIS_KIS_APP_KEY`` means nothing);
3. the ``.env`` file: ``./.env`` of the working directory, or the file given as
   ``env_file=`` (``env_file=None``: no file), same names as the environment;
4. the field's default.

A keyword with a leading underscore (``_env_file=``, ``_env_prefix=``: options of
pydantic-settings, which this loader does not use) is an error naming ``env_file=``, never
silently ignored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from stock_manager.masking import mask_account, mask_hts_id, mask_key

from . import constants as C
from .errors import KISConfigError

__all__ = ["KISConfig", "default_state_dir", "default_token_cache_dir"]

_ACCOUNT_RE = re.compile(r"^(\d{8})-?(\d{2})$")


def default_token_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/stock-manager/tokens`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stock-manager" / "tokens"


def default_state_dir() -> Path:
    """``$STOCK_MANAGER_HOME`` or ``$XDG_STATE_HOME/stock-manager`` (``~/.local/state/...``)."""
    home = os.environ.get("STOCK_MANAGER_HOME")
    if home:
        return Path(home)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "stock-manager"


# Written by hand, not with pydantic-settings, for its import cost alone (issue #14):
# ``import pydantic_settings`` on top of everything else the KIS library loads took ~24 ms,
# 2.2x a bare ``python -c pass`` (~11 ms), on every CLI call (median of 15 runs; ``resv list
# --json`` went from 243.7 to 219.8 ms side by side). Only python-dotenv is kept, imported when
# a .env file exists (~3 ms then). The precedence is the module docstring's.
_ENV_FILE = ".env"


def _env_name(name: str) -> str:
    """The lower-cased variable of a field: ``kis_`` + its name, unless it has it already."""
    return name if name.startswith("kis_") else f"kis_{name}"


def _gather(init: dict[str, Any], env_file: str | os.PathLike[str] | None) -> dict[str, Any]:
    """Explicit arguments over ``KIS_*`` variables over the ``.env`` file, one value a field."""
    dotenv_vars: dict[str, str | None] = {}
    path = Path(env_file) if env_file is not None else None
    if path is not None and (path.is_file() or path.is_fifo()):
        from dotenv import dotenv_values

        dotenv_vars = {k.lower(): v for k, v in dotenv_values(path, encoding="utf-8").items()}
    environ: dict[str, str | None] = {k.lower(): v for k, v in os.environ.items()}
    values: dict[str, Any] = {}
    for name in KISConfig.model_fields:
        key = _env_name(name)
        value = environ.get(key)
        if value is None:
            value = dotenv_vars.get(key)
        if value is not None:
            values[name] = value
    # arguments name fields in any case, as the variables do
    lowered = {name.lower(): name for name in KISConfig.model_fields}
    for key, arg in init.items():
        values[lowered.get(key.lower(), key)] = arg
    return values


class KISConfig(BaseModel):
    """Settings of one KIS app key (and optionally one account).

    ``KISConfig(kis_app_key=..., kis_app_secret=...)`` works as written on the KIS API page;
    anything not given is read from ``KIS_*`` environment variables and then ``./.env`` (or the
    file named by ``env_file=``; ``None`` reads none): see the module docstring.
    Invalid values raise :class:`KISConfigError` naming the field; the secret never appears in
    ``repr``, ``str`` or error messages.
    """

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        hide_input_in_errors=True,
        # as BaseSettings did: defaults go through the validators too
        validate_default=True,
    )

    kis_app_key: str = Field(validation_alias="kis_app_key", min_length=1)
    kis_app_secret: SecretStr = Field(validation_alias="kis_app_secret")
    kis_account_no: str | None = Field(default=None, validation_alias="kis_account_no", repr=False)
    mode: Literal["real", "paper"] = "real"
    custtype: Literal["P", "B"] = C.DEFAULT_CUSTTYPE
    base_url: str | None = None
    connect_timeout: float = Field(default=C.CONNECT_TIMEOUT_S, gt=0)
    read_timeout: float = Field(default=C.READ_TIMEOUT_S, gt=0)
    write_timeout: float = Field(default=C.WRITE_TIMEOUT_S, gt=0)
    pool_timeout: float = Field(default=C.POOL_TIMEOUT_S, gt=0)
    token_cache_dir: Path = Field(default_factory=default_token_cache_dir)
    rate_limit: float | None = Field(default=None, gt=0, description="requests/second")
    max_attempts: int = Field(default=C.MAX_ATTEMPTS, ge=1, le=20)
    token_issue_max_wait: float = Field(default=C.TOKEN_ISSUE_MAX_WAIT_S, ge=0)
    journal: bool = True
    journal_path: Path | None = None
    use_hashkey: bool = False
    # SecretStr: a Redis URL may carry a password; it never shows in repr or errors.
    shared_state: SecretStr | None = None
    # The HTS (home trading) user ID: the tr_key of the WebSocket execution notice. Not a
    # secret like the app secret, but personal: repr and config check show it masked.
    hts_id: str | None = Field(default=None, repr=False)

    def __init__(self, **values: Any) -> None:
        # ``env_file=`` (str, path or None) is taken out of the fields here rather than typed
        # in the signature, so ``KISConfig(**settings)`` of any mapping still type-checks.
        env_file: str | os.PathLike[str] | None = values.pop("env_file", _ENV_FILE)
        # A leading underscore is another library's option (pydantic-settings' _env_file=,
        # _env_prefix=): ignoring it silently would read other settings than the caller meant.
        private = sorted(key for key in values if key.startswith("_"))
        if private:
            raise KISConfigError(
                f"KISConfig takes no {', '.join(private)}: it reads arguments, then KIS_*"
                " environment variables, then a .env file (env_file=, default ./.env)"
            )
        try:
            super().__init__(**_gather(values, env_file))
        except ValidationError as exc:
            raise KISConfigError(_describe(exc)) from None

    @field_validator("kis_app_key", mode="before")
    @classmethod
    def _strip_key(cls, v: object) -> object:
        return v.strip() if isinstance(v, str) else v

    @field_validator("kis_app_secret", mode="after")
    @classmethod
    def _secret_present(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value().strip():
            raise ValueError("must not be empty")
        return SecretStr(v.get_secret_value().strip())

    @field_validator("kis_account_no", mode="before")
    @classmethod
    def _account(cls, v: object) -> object:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        if not isinstance(v, str):
            raise ValueError("must be a string like 12345678-01")
        m = _ACCOUNT_RE.match(v.strip())
        if not m:
            raise ValueError("must be 8 digits and 2 digits, like 12345678-01 or 1234567801")
        return f"{m.group(1)}-{m.group(2)}"

    @field_validator("shared_state", mode="before")
    @classmethod
    def _shared_state(cls, v: object) -> object:
        if isinstance(v, SecretStr):
            v = v.get_secret_value()
        if v is None or (isinstance(v, str) and v.strip().lower() in ("", "file")):
            return None
        if not isinstance(v, str) or not re.match(r"^rediss?://[^\s]*$", v.strip()):
            raise ValueError("must be 'file' or a Redis URL: redis://[:password@]host:port/db")
        return SecretStr(v.strip())

    @field_validator("hts_id", mode="before")
    @classmethod
    def _hts_id(cls, v: object) -> object:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,12}", v.strip()):
            raise ValueError("must be 1-12 letters, digits or _ (your HTS login ID)")
        return v.strip()

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, v: object) -> object:
        if isinstance(v, str):
            low = v.strip().lower()
            return {"prod": "real", "live": "real", "vts": "paper", "demo": "paper"}.get(low, low)
        return v

    @field_validator("custtype", mode="before")
    @classmethod
    def _custtype(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, v: object) -> object:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        if not isinstance(v, str) or not re.match(r"^https?://[^/\s]+", v.strip()):
            raise ValueError("must be an http(s) URL like https://openapi.koreainvestment.com:9443")
        return v.strip().rstrip("/")

    # --- derived values ---------------------------------------------------------------------
    @property
    def is_paper(self) -> bool:
        """True in paper (모의투자) mode."""
        return self.mode == "paper"

    @property
    def effective_base_url(self) -> str:
        """``base_url`` when set, else the KIS host of the mode."""
        if self.base_url:
            return self.base_url
        return C.PAPER_BASE_URL if self.is_paper else C.REAL_BASE_URL

    @property
    def effective_rate_limit(self) -> float:
        """Requests/second: ``rate_limit`` when set, else 20 real / 2 paper."""
        if self.rate_limit is not None:
            return self.rate_limit
        return C.PAPER_REQUESTS_PER_SECOND if self.is_paper else C.REAL_REQUESTS_PER_SECOND

    @property
    def shared_state_url(self) -> str | None:
        """The Redis URL sharing budget and token across hosts, or ``None`` for files."""
        return self.shared_state.get_secret_value() if self.shared_state else None

    @property
    def shared_state_display(self) -> str:
        """``file`` or the Redis URL without its password, for printing."""
        url = self.shared_state_url
        if url is None:
            return "file"
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        db = parts.path.strip("/") or "0"
        return f"{parts.scheme}://{parts.hostname or 'localhost'}:{parts.port or 6379}/{db}"

    @property
    def cano(self) -> str:
        """The 8-digit 종합계좌번호; :class:`KISConfigError` when no account is configured."""
        return self._require_account()[0]

    @property
    def acnt_prdt_cd(self) -> str:
        """The 2-digit 계좌상품코드."""
        return self._require_account()[1]

    @property
    def masked_account(self) -> str:
        """The account number fit for printing (``12****78-01``), or ``""``."""
        return mask_account(self.kis_account_no) if self.kis_account_no else ""

    @property
    def masked_hts_id(self) -> str:
        """The HTS ID fit for printing (first two characters), or ``""``."""
        return mask_hts_id(self.hts_id or "")

    @property
    def masked_app_key(self) -> str:
        """The app key shortened for printing."""
        return mask_key(self.kis_app_key)

    @property
    def effective_journal_path(self) -> Path:
        """Where the order journal lives."""
        return self.journal_path or default_state_dir() / "journal.sqlite3"

    def _require_account(self) -> tuple[str, str]:
        if not self.kis_account_no:
            raise KISConfigError("KIS_ACCOUNT_NO is not set (an 8+2 digit account: 12345678-01)")
        cano, _, prdt = self.kis_account_no.partition("-")
        return cano, prdt

    def __repr_args__(self) -> Any:
        yield from super().__repr_args__()
        yield "kis_account_no", self.masked_account or None
        yield "hts_id", self.masked_hts_id or None


_ENV_NAMES = {
    "kis_app_key": "KIS_APP_KEY",
    "kis_app_secret": "KIS_APP_SECRET",
    "kis_account_no": "KIS_ACCOUNT_NO",
}


def _describe(exc: ValidationError) -> str:
    """One line per bad field, naming both the field and its variable, never the value."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "config"
        env = _ENV_NAMES.get(field, f"KIS_{field.upper()}")
        msg = (
            "is required" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        )
        lines.append(f"{field} ({env}): {msg}")
    return "invalid KIS configuration: " + "; ".join(lines)
