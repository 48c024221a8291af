"""The TR_ID catalog: API ID → name, method, path and the TR_IDs of real and paper trading.

The table below is data in the portal's own notation (``(예약취소) CTSC0009U (예약정정)
CTSC0013U``, ``모의투자 미지원``) and is parsed once, so adding an API is adding a row.
Facts: ``shared/kis-spec.md`` §1.0 and §2.2.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from .errors import PaperTradingNotSupportedError, TRIDResolutionError

__all__ = ["CATALOG", "ApiSpec", "TRCatalog", "parse_tr_ids"]

Kind = Literal["order", "inquiry", "auth"]

# api_id, Korean name, method, path, real TR_IDs, paper TR_IDs, kind
_ROWS: tuple[tuple[str, str, str, str, str, str, Kind], ...] = (
    (
        "v1_국내주식-017",
        "주식예약주문",
        "POST",
        "/uapi/domestic-stock/v1/trading/order-resv",
        "CTSC0008U",
        "모의투자 미지원",
        "order",
    ),
    (
        "v1_국내주식-018,019",
        "주식예약주문정정취소",
        "POST",
        "/uapi/domestic-stock/v1/trading/order-resv-rvsecncl",
        "(예약취소) CTSC0009U (예약정정) CTSC0013U",
        "모의투자 미지원",
        "order",
    ),
    (
        "v1_국내주식-020",
        "주식예약주문조회",
        "GET",
        "/uapi/domestic-stock/v1/trading/order-resv-ccnl",
        "CTSC0004R",
        "모의투자 미지원",
        "inquiry",
    ),
    (
        "v1_국내주식-003",
        "주식주문(정정취소)",
        "POST",
        "/uapi/domestic-stock/v1/trading/order-rvsecncl",
        "TTTC0013U",
        "VTTC0013U",
        "order",
    ),
    (
        "v1_국내주식-004",
        "주식정정취소가능주문조회",
        "GET",
        "/uapi/domestic-stock/v1/trading/inquire-psbl-rvsecncl",
        "TTTC0084R",
        "모의투자 미지원",
        "inquiry",
    ),
    ("인증-001", "접근토큰발급(P)", "POST", "/oauth2/tokenP", "", "", "auth"),
    ("인증-002", "접근토큰폐기(P)", "POST", "/oauth2/revokeP", "", "", "auth"),
    ("Hashkey", "Hashkey", "POST", "/uapi/hashkey", "", "", "auth"),
)

# Labels the portal puts in front of each TR_ID of a multi-TR API, and the action they name.
_ACTION_LABELS = {
    "예약취소": "cancel",
    "예약정정": "modify",
    "취소": "cancel",
    "정정": "modify",
    "매도": "sell",
    "매수": "buy",
}
_NOT_SUPPORTED = re.compile(r"미지원|not\s*supported|^n/?a$|^-?$", re.IGNORECASE)
_TR_ID = re.compile(r"^[A-Z][A-Z0-9]{8,12}$")
_TOKEN = re.compile(r"\(([^)]*)\)|([A-Za-z0-9]+)")


def parse_tr_ids(text: str) -> dict[str, str] | None:
    """Parse the portal's TR_ID cell.

    ``"CTSC0008U"`` → ``{"": "CTSC0008U"}``; ``"(예약취소) CTSC0009U (예약정정) CTSC0013U"`` →
    ``{"cancel": "CTSC0009U", "modify": "CTSC0013U"}``; ``"모의투자 미지원"`` → ``None``.
    """
    text = text.strip()
    if _NOT_SUPPORTED.search(text):
        return None
    result: dict[str, str] = {}
    label = ""
    for m in _TOKEN.finditer(text):
        if m.group(1) is not None:
            raw = m.group(1).strip()
            label = _ACTION_LABELS.get(raw, raw)
            continue
        tr_id = m.group(2)
        if not _TR_ID.match(tr_id):
            raise ValueError(f"not a TR_ID: {tr_id!r} in {text!r}")
        if label in result:
            raise ValueError(f"duplicate action {label!r} in {text!r}")
        result[label] = tr_id
        label = ""
    if not result:
        raise ValueError(f"no TR_ID in {text!r}")
    return result


@dataclass(frozen=True)
class ApiSpec:
    """One API of the catalog."""

    api_id: str
    name: str
    method: str
    path: str
    kind: Kind
    real: Mapping[str, str] = field(default_factory=dict)
    #: ``None`` when paper trading does not support the API.
    paper: Mapping[str, str] | None = None

    @property
    def paper_supported(self) -> bool:
        """Whether paper (모의투자) trading offers this API."""
        return self.paper is not None

    @property
    def actions(self) -> tuple[str, ...]:
        """Named actions of a multi-TR API (``("cancel", "modify")``), else ``()``."""
        return tuple(a for a in self.real if a)

    def tr_id(self, *, paper: bool, action: str | None = None) -> str:
        """The TR_ID to send. Raises when paper is unsupported or ``action`` is wrong/missing."""
        if paper and self.paper is None:
            raise PaperTradingNotSupportedError(
                f"{self.name} ({self.api_id}) is not supported in paper trading (모의투자 미지원);"
                " use real mode, or try it safely against the local emulator"
                " (stock-manager emulator serve)"
            )
        table = self.paper if paper and self.paper is not None else self.real
        if not table:
            raise TRIDResolutionError(f"{self.name} ({self.api_id}) takes no tr_id")
        if self.actions:
            if action is None:
                raise TRIDResolutionError(
                    f"{self.name} ({self.api_id}) has several TR_IDs; pass action= one of "
                    + ", ".join(f"{a!r} ({table[a]})" for a in self.actions if a in table)
                )
            if action not in table:
                raise TRIDResolutionError(
                    f"unknown action {action!r} for {self.api_id}; choose one of "
                    + ", ".join(repr(a) for a in self.actions)
                )
            return table[action]
        if action not in (None, ""):
            raise TRIDResolutionError(f"{self.api_id} has a single TR_ID; it takes no action")
        return table[""]

    def action_of(self, tr_id: str) -> str | None:
        """The action a TR_ID stands for, when it belongs to this API."""
        for table in (self.real, self.paper or {}):
            for action, tid in table.items():
                if tid == tr_id.upper():
                    return action
        return None


def _normalise_api_id(api_id: str) -> str:
    return re.sub(r"\s+", "", api_id).lower()


def _normalise_path(path: str) -> str:
    return "/" + path.strip().strip("/")


class TRCatalog(Mapping[str, ApiSpec]):
    """Read-only registry of :class:`ApiSpec` by API ID, with look-up by path and TR_ID."""

    def __init__(self, specs: list[ApiSpec]) -> None:
        self._by_id: dict[str, ApiSpec] = {}
        self._by_path: dict[str, ApiSpec] = {}
        self._by_tr: dict[str, ApiSpec] = {}
        for spec in specs:
            self._by_id[_normalise_api_id(spec.api_id)] = spec
            # "v1_국내주식-018,019" is also reachable as "-018" and "-019".
            prefix, _, numbers = spec.api_id.rpartition("-")
            if "," in numbers:
                for n in numbers.split(","):
                    self._by_id[_normalise_api_id(f"{prefix}-{n}")] = spec
            self._by_path[_normalise_path(spec.path)] = spec
            for table in (spec.real, spec.paper or {}):
                for tid in table.values():
                    self._by_tr[tid] = spec
        self._ids = MappingProxyType({s.api_id: s for s in specs})

    def __getitem__(self, api_id: str) -> ApiSpec:
        try:
            return self._by_id[_normalise_api_id(api_id)]
        except KeyError:
            raise TRIDResolutionError(
                f"unknown API ID {api_id!r}; known: {', '.join(self._ids)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def by_path(self, path: str) -> ApiSpec | None:
        """The API served at ``path`` (leading/trailing slashes ignored), or ``None``."""
        return self._by_path.get(_normalise_path(path))

    def by_tr_id(self, tr_id: str) -> ApiSpec | None:
        """The API a TR_ID belongs to, or ``None``."""
        return self._by_tr.get(tr_id.strip().upper())

    def get_tr_id(
        self, api_id: str, *, is_paper_trading: bool = False, action: str | None = None
    ) -> str:
        """TR_ID for an API ID; see :meth:`ApiSpec.tr_id`."""
        return self[api_id].tr_id(paper=is_paper_trading, action=action)


def _build() -> TRCatalog:
    specs = []
    for api_id, name, method, path, real, paper, kind in _ROWS:
        specs.append(
            ApiSpec(
                api_id=api_id,
                name=name,
                method=method,
                path=path,
                kind=kind,
                real=MappingProxyType(parse_tr_ids(real) or {}) if real else MappingProxyType({}),
                paper=(
                    (MappingProxyType(p) if (p := parse_tr_ids(paper)) is not None else None)
                    if paper
                    else MappingProxyType({})
                ),
            )
        )
    return TRCatalog(specs)


#: The catalog every client uses.
CATALOG = _build()
