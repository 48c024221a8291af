"""The whole catalog, table-driven: every REST API resolves, refuses what it must, enforces fields.

The committed package data must equal what ``scripts/gen_catalog.py`` makes from
``../shared/kis-openapi/catalog.json`` (skipped when that file is absent, e.g. in an sdist).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import (
    CATALOG,
    KISRestClient,
    KISValidationError,
    PaperTradingNotSupportedError,
    TRIDResolutionError,
)
from stock_manager.adapters.broker.kis.tr_ids import DATA_FILE, FIELDS_FILE, ApiSpec

from ._support import FakeKIS

Factory = Callable[..., KISRestClient]
ROOT = Path(__file__).resolve().parents[4]
SOURCE = ROOT.parent / "shared" / "kis-openapi" / "catalog.json"

REST = [CATALOG[a] for a in CATALOG if CATALOG[a].transport == "REST"]
CALLABLE = [s for s in REST if s.kind != "auth"]
REAL_ONLY = [s for s in CALLABLE if not s.paper_supported]
#: The documented exceptions that take no tr_id: the client calls them itself.
NO_TR = {"인증-001", "인증-002", "Hashkey", "실시간-000"}


def _ids(specs: list[ApiSpec]) -> list[str]:
    return [s.api_id for s in specs]


def valid_params(spec: ApiSpec, action: str | None) -> dict[str, str]:
    """Every required field of ``action`` with a value of allowed length."""
    out = {}
    for f in spec.fields:
        if f.required and f.applies_to(action if spec.actions else None):
            value = next(iter(f.allowed)) if f.allowed else "1"
            out[f.name] = value[: f.length] if f.length else value
    return out


def actions_of(spec: ApiSpec) -> list[str | None]:
    return [a or None for a in spec.real] or [None]


def test_counts() -> None:
    assert len(CATALOG) == 336
    assert len(REST) == 276
    assert {s.api_id for s in REST if s.kind == "auth"} == NO_TR
    # 288 in the whole export; 234 of the REST APIs (국내주식-182 has no paper TR at all).
    assert sum(1 for a in CATALOG if not CATALOG[a].paper_supported) == 289
    assert len(REAL_ONLY) == 234


@pytest.mark.skipif(not SOURCE.exists(), reason="../shared/kis-openapi is not present")
def test_committed_data_equals_the_generator_output() -> None:
    spec = importlib.util.spec_from_file_location("gen_catalog", ROOT / "scripts/gen_catalog.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    index, fields = gen.render(gen.build(SOURCE))
    assert Path(DATA_FILE).read_text(encoding="utf-8") == index
    assert Path(FIELDS_FILE).read_text(encoding="utf-8") == fields


@pytest.mark.skipif(not SOURCE.exists(), reason="../shared/kis-openapi is not present")
def test_every_sheet_tr_id_is_reachable_and_nothing_else() -> None:
    source = {a["key"]: a for a in json.loads(SOURCE.read_text(encoding="utf-8"))}
    for spec in REST:
        listed = set(source[spec.api_id]["tr_ids_in_sheet"])
        assert listed <= set(spec.tr_ids), spec.api_id


@pytest.mark.parametrize("spec", REST, ids=_ids(REST))
def test_every_rest_api_resolves(spec: ApiSpec) -> None:
    assert CATALOG[spec.api_id] is spec
    assert CATALOG.by_path(spec.path) is spec
    if spec.api_id in NO_TR:
        with pytest.raises(TRIDResolutionError, match="takes no tr_id"):
            CATALOG.get_tr_id(spec.api_id)
        return
    listed = set(spec.tr_ids)
    for paper in (False, True):
        table = spec.paper if paper else spec.real
        if table is None:
            continue
        for action in actions_of(spec):
            if action is not None and action not in table:
                with pytest.raises(PaperTradingNotSupportedError):
                    CATALOG.get_tr_id(spec.api_id, is_paper_trading=paper, action=action)
                continue
            tr = CATALOG.get_tr_id(spec.api_id, is_paper_trading=paper, action=action)
            assert tr in listed  # every TR_ID a user can get is one the catalog lists
            assert CATALOG.by_tr_id(tr) is not None


@pytest.mark.parametrize(
    "spec",
    [s for s in REST if s.actions and not s.default_action],
    ids=_ids([s for s in REST if s.actions and not s.default_action]),
)
def test_multi_tr_without_action_lists_the_choices(spec: ApiSpec) -> None:
    with pytest.raises(TRIDResolutionError) as info:
        CATALOG.get_tr_id(spec.api_id)
    for action, tr in spec.real.items():
        assert f"'{action}' ({tr})" in str(info.value)


@pytest.mark.parametrize("spec", REAL_ONLY, ids=_ids(REAL_ONLY))
def test_every_real_only_api_is_refused_in_paper_mode_with_zero_requests(
    spec: ApiSpec, make_client: Factory, fake: FakeKIS
) -> None:
    client = make_client(mode="paper", journal=False)
    action = actions_of(spec)[0]
    with pytest.raises(PaperTradingNotSupportedError):
        client.make_request(spec.method, spec.path, valid_params(spec, action), action=action)
    assert fake.requests == []


@pytest.mark.parametrize("spec", CALLABLE, ids=_ids(CALLABLE))
def test_every_required_field_is_enforced(
    spec: ApiSpec, make_client: Factory, fake: FakeKIS
) -> None:
    client = make_client(journal=False)
    for action in actions_of(spec):
        params = valid_params(spec, action)
        call = client.prepare(spec.method, spec.path, params, action=action)  # complete: OK
        assert call.tr_id in spec.tr_ids
        for name in params:
            if name.upper().startswith("CTX_AREA_"):
                continue  # continuation keys are the client's: filled with "" when left out
            partial = {k: v for k, v in params.items() if k != name}
            with pytest.raises(KISValidationError, match=f"missing required field {name} "):
                client.prepare(spec.method, spec.path, partial, action=action)
    assert fake.requests == []


@pytest.mark.parametrize("spec", CALLABLE[:40], ids=_ids(CALLABLE[:40]))
def test_wrong_method_unknown_field_and_too_long_are_refused(
    spec: ApiSpec, make_client: Factory, fake: FakeKIS
) -> None:
    client = make_client(journal=False)
    action = actions_of(spec)[0]
    params = valid_params(spec, action)
    other = "GET" if spec.method == "POST" else "POST"
    with pytest.raises(KISValidationError, match=f"is a {spec.method} API"):
        client.prepare(other, spec.path, params, action=action)
    with pytest.raises(KISValidationError, match="unknown field 'NO_SUCH_FIELD'"):
        client.prepare(spec.method, spec.path, {**params, "NO_SUCH_FIELD": "1"}, action=action)
    sized = next((f for f in spec.fields if f.length and f.applies_to(action)), None)
    if sized is not None:
        too_long = {**params, sized.name: "9" * (sized.length + 1)}  # type: ignore[operator]
        with pytest.raises(KISValidationError, match=f"{sized.name} .* at most {sized.length}"):
            client.prepare(spec.method, spec.path, too_long, action=action)
    assert fake.requests == []


def test_irregular_api_ids() -> None:
    assert CATALOG["v1_해외선물-002, 003"].api_id == "v1_해외선물-002,003"
    assert CATALOG["v1_해외선물-003"].api_id == "v1_해외선물-002,003"
    assert CATALOG["v1_국내주식-019"].api_id == "v1_국내주식-018,019"
    assert CATALOG["종목별 투자자매매동향(일별)"].path.endswith("investor-trade-by-stock-daily")
    assert CATALOG["국내휴장일조회"].api_id == "국내주식-040"  # by name
    with pytest.raises(TRIDResolutionError, match="did you mean v1_국내주식-017"):
        CATALOG["v1_국내주식-0177"]


@pytest.mark.parametrize(
    ("api_id", "action", "paper", "tr"),
    [
        ("v1_국내주식-001", "buy", False, "TTTC0012U"),
        ("v1_국내주식-001", "매도", True, "VTTC0011U"),
        ("v1_국내주식-005", "before", False, "CTSC9215R"),
        ("국내선물-024", None, False, "CTFN7107R"),  # (신) is the default
        ("국내선물-024", "old", False, "JTCE6003R"),
        ("v1_국내선물-001", "night", False, "STTN1101U"),
        ("v1_국내선물-002", "night", False, "STTN1103U"),  # sheet, not the sample's typo
        ("v1_해외주식-001", "usSell", True, "VTTT1001U"),  # sheet (README ⚠ sample bug)
        ("v1_해외주식-001", "hk_buy", False, "TTTS1002U"),
        ("v1_해외주식-003", "jp", False, "TTTS0309U"),
        ("v1_해외주식-002", "asia", True, "VTTS3013U"),
        ("v1_국내주식-033", None, False, "TTTC2201R"),
        ("v1_국내주식-033", "sor", False, "TTTC2210R"),
        ("해외선물-040", None, False, "HHDFO55020400"),  # sheet (README ⚠ sample bug)
    ],
)
def test_multi_tr_notations(api_id: str, action: str | None, paper: bool, tr: str) -> None:
    assert CATALOG.get_tr_id(api_id, is_paper_trading=paper, action=action) == tr


def test_night_session_is_not_offered_in_paper() -> None:
    with pytest.raises(PaperTradingNotSupportedError, match=r"'night'.*paper offers 'day'"):
        CATALOG.get_tr_id("v1_국내선물-001", is_paper_trading=True, action="night")


def test_cancel_needs_fewer_fields_than_modify() -> None:
    spec = CATALOG["v1_국내주식-018,019"]
    base = {"CANO": "12345678", "ACNT_PRDT_CD": "01", "RSVN_ORD_SEQ": "1"}
    assert spec.check_params(base, action="cancel")["RSVN_ORD_SEQ"] == "1"
    with pytest.raises(KISValidationError, match="missing required field PDNO"):
        spec.check_params(base, action="modify")


def test_paging_keys_come_from_the_catalog() -> None:
    paged = {s.api_id: s.paging for s in REST if s.paging}
    assert len(paged) == 52
    assert paged["v1_국내주식-020"].ctx_keys == ("CTX_AREA_FK200", "CTX_AREA_NK200")
    assert paged["v1_국내주식-006"].ctx_keys == ("CTX_AREA_FK100", "CTX_AREA_NK100")
    assert paged["국내주식-158"].ctx_keys == ("CTX_AREA_FK100", "CTX_AREA_NK30")
    assert paged["v1_해외주식-005"].tr_cont is False  # "tr_cont를 이용한 다음조회 불가"
    assert paged["v1_국내주식-048"].ctx_keys == ()  # tr_cont only


ORDERS = [s for s in CALLABLE if s.kind == "order"]


@pytest.mark.parametrize("spec", ORDERS, ids=_ids(ORDERS))
def test_every_order_api_is_journaled_and_never_resent(
    spec: ApiSpec, make_client: Factory, fake: FakeKIS
) -> None:
    import httpx

    from stock_manager.adapters.broker.kis import OrderOutcomeUnknownError

    assert all(t.endswith("U") for t in spec.real.values())
    fake.script(spec.path, httpx.ReadTimeout("read timed out"))
    client = make_client()
    action = actions_of(spec)[0]
    with pytest.raises(OrderOutcomeUnknownError) as info:
        client.make_request(spec.method, spec.path, valid_params(spec, action), action=action)
    assert fake.api_count(spec.path) == 1  # no blind resend
    assert client.journal is not None and info.value.journal_id is not None
    entry = client.journal.get(info.value.journal_id)
    assert entry.tr_id == CATALOG.get_tr_id(spec.api_id, action=action)


def test_numbered_runs_are_expanded() -> None:
    # The sheet writes SRS_CD_01, "SRS_CD_02…", SRS_CD_32; its example sends QRY_CNT of them.
    spec = CATALOG["해외선물-023"]
    sent = spec.check_params({"QRY_CNT": "2", "SRS_CD_01": "6AM24", "SRS_CD_02": "10YK24"})
    assert sent["SRS_CD_02"] == "10YK24"
    assert [f.name for f in spec.fields if f.required] == ["QRY_CNT", "SRS_CD_01"]
    with pytest.raises(KISValidationError, match="unknown field 'SRS_CD_33'"):
        spec.check_params({"QRY_CNT": "1", "SRS_CD_01": "6AM24", "SRS_CD_33": "x"})
    assert all(n.isidentifier() for a in CATALOG for n in (f.name for f in CATALOG[a].fields))
