"""The TR_ID catalog: parsing the portal notation, resolution real/paper, look-ups."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stock_manager.adapters.broker.kis import (
    CATALOG,
    KISRestClient,
    PaperTradingNotSupportedError,
    TRIDResolutionError,
)
from stock_manager.adapters.broker.kis.tr_ids import parse_tr_ids

from ._support import PSBL, RESV, RESV_CCNL, RESV_RVSECNCL, RVSECNCL

# api_id, action, real TR_ID, paper TR_ID (None = 모의투자 미지원)
EXPECTED: list[tuple[str, str | None, str, str | None]] = [
    ("v1_국내주식-017", None, "CTSC0008U", None),
    ("v1_국내주식-018,019", "cancel", "CTSC0009U", None),
    ("v1_국내주식-018,019", "modify", "CTSC0013U", None),
    ("v1_국내주식-020", None, "CTSC0004R", None),
    ("v1_국내주식-003", None, "TTTC0013U", "VTTC0013U"),
    ("v1_국내주식-004", None, "TTTC0084R", None),
]


@pytest.mark.parametrize(("api_id", "action", "real", "paper"), EXPECTED)
def test_every_api_real_and_paper(
    api_id: str, action: str | None, real: str, paper: str | None
) -> None:
    assert CATALOG.get_tr_id(api_id, is_paper_trading=False, action=action) == real
    if paper is None:
        with pytest.raises(PaperTradingNotSupportedError, match="모의투자 미지원"):
            CATALOG.get_tr_id(api_id, is_paper_trading=True, action=action)
    else:
        assert CATALOG.get_tr_id(api_id, is_paper_trading=True, action=action) == paper


def test_catalog_covers_exactly_the_expected_apis() -> None:
    ids = set(CATALOG)
    assert {a for a, *_ in EXPECTED} <= ids
    assert {"인증-001", "인증-002", "Hashkey"} <= ids
    assert len(CATALOG) == 336  # the whole portal export: 276 REST + 60 WebSocket


def test_multi_tr_without_action_lists_both() -> None:
    with pytest.raises(TRIDResolutionError) as info:
        CATALOG.get_tr_id("v1_국내주식-018,019", is_paper_trading=False)
    text = str(info.value)
    assert "'cancel' (CTSC0009U)" in text
    assert "'modify' (CTSC0013U)" in text


def test_unknown_action_and_action_on_single_tr() -> None:
    with pytest.raises(TRIDResolutionError, match="unknown action 'buy'"):
        CATALOG.get_tr_id("v1_국내주식-018,019", action="buy")
    with pytest.raises(TRIDResolutionError, match="single TR_ID"):
        CATALOG.get_tr_id("v1_국내주식-017", action="cancel")


def test_unknown_api_id() -> None:
    with pytest.raises(TRIDResolutionError, match="unknown API ID"):
        CATALOG.get_tr_id("v1_국내주식-999")
    with pytest.raises(TRIDResolutionError):
        CATALOG["nope"]


def test_paper_check_comes_before_action_check() -> None:
    # Paper mode on a real-only API fails as "not supported", whatever the action.
    with pytest.raises(PaperTradingNotSupportedError):
        CATALOG.get_tr_id("v1_국내주식-018,019", is_paper_trading=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CTSC0008U", {"": "CTSC0008U"}),
        ("  CTSC0004R ", {"": "CTSC0004R"}),
        (
            "(예약취소) CTSC0009U (예약정정) CTSC0013U",
            {"cancel": "CTSC0009U", "modify": "CTSC0013U"},
        ),
        ("(취소) TTTC0013U (정정) TTTC0014U", {"cancel": "TTTC0013U", "modify": "TTTC0014U"}),
        ("(매도) TTTC0011U (매수) TTTC0012U", {"sell": "TTTC0011U", "buy": "TTTC0012U"}),
        ("모의투자 미지원", None),
        ("not supported", None),
        ("", None),
        ("-", None),
    ],
)
def test_parse_portal_strings(text: str, expected: dict[str, str] | None) -> None:
    assert parse_tr_ids(text) == expected


@pytest.mark.parametrize(
    "text", ["CTSC", "(취소) CTSC0009U (취소) CTSC0013U", "(예약취소)", "ctsc0008u"]
)
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by case
        parse_tr_ids(text)


@pytest.mark.parametrize(
    ("path", "api_id"),
    [
        (RESV, "v1_국내주식-017"),
        (RESV_RVSECNCL, "v1_국내주식-018,019"),
        (RESV_CCNL + "/", "v1_국내주식-020"),
        (RVSECNCL.lstrip("/"), "v1_국내주식-003"),
        (PSBL, "v1_국내주식-004"),
        ("/oauth2/tokenP", "인증-001"),
    ],
)
def test_lookup_by_path(path: str, api_id: str) -> None:
    spec = CATALOG.by_path(path)
    assert spec is not None
    assert spec.api_id == api_id


def test_lookup_by_path_unknown() -> None:
    assert CATALOG.by_path("/uapi/domestic-stock/v1/no-such-api") is None


@pytest.mark.parametrize("api_id", ["v1_국내주식-018", "v1_국내주식-019", "v1_국내주식-018,019"])
def test_lookup_by_split_api_id(api_id: str) -> None:
    spec = CATALOG[api_id]
    assert spec.path == RESV_RVSECNCL
    assert spec.actions == ("cancel", "modify")
    assert spec.tr_id(paper=False, action="modify") == "CTSC0013U"


def test_lookup_ignores_spaces_and_case() -> None:
    assert CATALOG["V1_국내주식 - 017"].path == RESV


def test_lookup_by_tr_id_and_action_of() -> None:
    spec = CATALOG.by_tr_id("ctsc0013u")
    assert spec is not None and spec.path == RESV_RVSECNCL
    assert spec.action_of("CTSC0009U") == "cancel"
    assert spec.action_of("CTSC0008U") is None
    paper_spec = CATALOG.by_tr_id("VTTC0013U")
    assert paper_spec is not None and paper_spec.path == RVSECNCL
    assert paper_spec.action_of("VTTC0013U") == ""


def test_kinds_and_methods() -> None:
    assert CATALOG["v1_국내주식-017"].kind == "order"
    assert CATALOG["v1_국내주식-017"].method == "POST"
    assert CATALOG["v1_국내주식-020"].kind == "inquiry"
    assert CATALOG["v1_국내주식-020"].method == "GET"
    assert CATALOG["v1_국내주식-003"].paper_supported
    assert not CATALOG["v1_국내주식-017"].paper_supported


def test_client_get_tr_id(make_client: Callable[..., KISRestClient]) -> None:
    client = make_client(journal=False)
    assert (
        client.get_tr_id(api_id="v1_국내주식-018,019", is_paper_trading=False, action="cancel")
        == "CTSC0009U"
    )
    assert client.get_tr_id("v1_국내주식-003", True) == "VTTC0013U"
    assert client.get_tr_id("v1_국내주식-003") == "TTTC0013U"  # the client's mode: real


def test_paper_client_get_tr_id_defaults_to_paper(
    make_client: Callable[..., KISRestClient],
) -> None:
    client = make_client(journal=False, mode="paper")
    assert client.get_tr_id("v1_국내주식-003") == "VTTC0013U"
    with pytest.raises(PaperTradingNotSupportedError):
        client.get_tr_id("v1_국내주식-017")
    assert client.get_tr_id("v1_국내주식-017", is_paper_trading=False) == "CTSC0008U"


def test_fields_found_by_search_equal_a_full_parse_of_the_file() -> None:
    """One API's line is found with ``str.find``: the same rows as parsing the whole file."""
    import json

    from stock_manager.adapters.broker.kis.tr_ids import FIELDS_FILE

    with open(FIELDS_FILE, encoding="utf-8") as f:
        stored = {row[0]: row for row in json.load(f)["apis"]}
    assert len(stored) == len(CATALOG)
    for api_id in CATALOG:
        spec = CATALOG[api_id]
        request, response = spec._stored()
        assert [request, response] == stored[spec.api_id][1:], spec.api_id
        assert len(spec.fields) == len(request)
