"""The table of served KIS endpoints: path, method, TR_IDs and field tables.

Routing, TR_ID checks, paper-mode checks and the OpenAPI document all read this one table.

Adding an endpoint: append an :class:`Endpoint` to :data:`ENDPOINTS` (its ``name`` is the
last path segment) and map that name to a handler ``(Ctx) -> Reply`` in
:data:`stock_manager.emulator.routes.HANDLERS` (write the handler in a new module next to
:mod:`~stock_manager.emulator.holiday`). The gateway (keys, token, rate, TR_ID, custtype),
msg1 padding for GET answers, ``tr_id``/``gt_uid`` echo and the OpenAPI document follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stock_manager.emulator import fields as F
from stock_manager.emulator.fields import Field

TRADING = "/uapi/domestic-stock/v1/trading"
QUOTATIONS = "/uapi/domestic-stock/v1/quotations"
_ACCOUNT = (Field("CANO", "종합계좌번호", 8, True), Field("ACNT_PRDT_CD", "계좌상품코드", 2, True))


@dataclass(frozen=True)
class Endpoint:
    """One served API.

    ``tr_ids`` maps each accepted TR_ID to ``"real"`` or ``"paper"``. ``gated`` endpoints go
    through the full gateway (token, app key, TR_ID, rate limit).
    """

    name: str
    method: str
    path: str
    title: str
    tr_ids: dict[str, str] = field(default_factory=dict)
    gated: bool = True
    request_in: str = "body"  # "body" or "query"
    request: tuple[Field, ...] = ()
    output: tuple[Field, ...] = ()
    output_is_array: bool = False
    top_level: tuple[Field, ...] = ()
    paged: bool = False
    # The spec marks custtype required (Y) only on the two ordinary-order sheets.
    custtype_required: bool = False
    # Order/account TRs hit KIS's ledger system and count against EGW00215.
    ledger: bool = True


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "tokenP",
        "POST",
        "/oauth2/tokenP",
        "접근토큰발급(P)",
        gated=False,
        request=F.TOKEN_BODY,
        top_level=F.TOKEN_RESPONSE,
    ),
    Endpoint(
        "revokeP",
        "POST",
        "/oauth2/revokeP",
        "접근토큰폐기(P)",
        gated=False,
        request=F.REVOKE_BODY,
        top_level=F.REVOKE_RESPONSE,
    ),
    Endpoint(
        "hashkey",
        "POST",
        "/uapi/hashkey",
        "Hashkey",
        gated=False,
        top_level=F.HASHKEY_RESPONSE,
    ),
    Endpoint(
        "order-resv",
        "POST",
        f"{TRADING}/order-resv",
        "주식예약주문",
        tr_ids={"CTSC0008U": "real"},
        request=F.RESV_PLACE_BODY,
        output=F.RESV_PLACE_OUTPUT,
    ),
    Endpoint(
        "order-resv-rvsecncl",
        "POST",
        f"{TRADING}/order-resv-rvsecncl",
        "주식예약주문정정취소",
        tr_ids={"CTSC0009U": "real", "CTSC0013U": "real"},
        request=F.RESV_MODIFY_BODY,
        output=F.RESV_RVSECNCL_OUTPUT,
    ),
    Endpoint(
        "order-resv-ccnl",
        "GET",
        f"{TRADING}/order-resv-ccnl",
        "주식예약주문조회",
        tr_ids={"CTSC0004R": "real"},
        request_in="query",
        request=F.RESV_LIST_QUERY,
        output=F.RESV_LIST_ROW,
        output_is_array=True,
        top_level=F.RESV_LIST_TOP,
        paged=True,
    ),
    Endpoint(
        "order-rvsecncl",
        "POST",
        f"{TRADING}/order-rvsecncl",
        "주식주문(정정취소)",
        tr_ids={"TTTC0013U": "real", "VTTC0013U": "paper"},
        request=F.ORDER_RVSECNCL_BODY,
        output=F.ORDER_RVSECNCL_OUTPUT,
        custtype_required=True,
    ),
    Endpoint(
        "inquire-psbl-rvsecncl",
        "GET",
        f"{TRADING}/inquire-psbl-rvsecncl",
        "주식정정취소가능주문조회",
        tr_ids={"TTTC0084R": "real"},
        request_in="query",
        request=F.PSBL_QUERY,
        output=F.PSBL_ROW,
        output_is_array=True,
        top_level=F.PSBL_TOP,
        paged=True,
        custtype_required=True,
    ),
    Endpoint(
        "chk-holiday",
        "GET",
        f"{QUOTATIONS}/chk-holiday",
        "국내휴장일조회",
        tr_ids={"CTCA0903R": "real"},
        request_in="query",
        request=F.HOLIDAY_QUERY,
        output=F.HOLIDAY_ROW,
        output_is_array=True,
        top_level=F.HOLIDAY_TOP,
        custtype_required=True,
        ledger=False,
    ),
    # Served by stock_manager.emulator.orders (the ordinary orders reservations become).
    Endpoint(
        "inquire-daily-ccld",
        "GET",
        f"{TRADING}/inquire-daily-ccld",
        "주식일별주문체결조회",
        tr_ids={
            "TTTC0081R": "real",
            "CTSC9215R": "real",
            "VTTC0081R": "paper",
            "VTSC9215R": "paper",
        },
        request_in="query",
        request=F.DAILY_CCLD_QUERY,
        output=F.DAILY_CCLD_ROW,
        output_is_array=True,
        top_level=F.DAILY_CCLD_TOP,
        paged=True,
    ),
    # Quotes, buying power, sellable quantity, balance: served by
    # stock_manager.emulator.market from the data tests set.
    Endpoint(
        "inquire-price",
        "GET",
        f"{QUOTATIONS}/inquire-price",
        "주식현재가 시세",
        tr_ids={"FHKST01010100": "real"},
        request_in="query",
        request=(
            Field("FID_COND_MRKT_DIV_CODE", "조건 시장 분류 코드", 2, True),
            Field("FID_INPUT_ISCD", "입력 종목코드", 12, True),
        ),
    ),
    Endpoint(
        "inquire-psbl-order",
        "GET",
        f"{TRADING}/inquire-psbl-order",
        "매수가능조회",
        tr_ids={"TTTC8908R": "real", "VTTC8908R": "paper"},
        request_in="query",
        request=(
            *_ACCOUNT,
            Field("PDNO", "상품번호", 12),
            Field("ORD_UNPR", "주문단가", 19),
            Field("ORD_DVSN", "주문구분", 2, True),
            Field("CMA_EVLU_AMT_ICLD_YN", "CMA평가금액포함여부", 1, True),
            Field("OVRS_ICLD_YN", "해외포함여부", 1, True),
        ),
    ),
    Endpoint(
        "inquire-psbl-sell",
        "GET",
        f"{TRADING}/inquire-psbl-sell",
        "매도가능수량조회",
        tr_ids={"TTTC8408R": "real"},
        request_in="query",
        request=(*_ACCOUNT, Field("PDNO", "상품번호", 12, True)),
    ),
    Endpoint(
        "inquire-balance",
        "GET",
        f"{TRADING}/inquire-balance",
        "주식잔고조회",
        tr_ids={"TTTC8434R": "real", "VTTC8434R": "paper"},
        request_in="query",
        request=_ACCOUNT,
        paged=True,
    ),
)

BY_PATH: dict[str, Endpoint] = {e.path: e for e in ENDPOINTS}
BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}
# Every TR_ID the emulator knows, to tell "unknown TR_ID" from "TR_ID for another path".
ALL_TR_IDS: dict[str, Endpoint] = {t: e for e in ENDPOINTS for t in e.tr_ids}
REAL_ONLY_TR_IDS = frozenset(t for e in ENDPOINTS for t, m in e.tr_ids.items() if m == "real")
