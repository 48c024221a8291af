"""Field tables (names, lengths, required flags, allowed values) for every served API.

The handlers validate requests with these tables and the OpenAPI document is generated from
them, so the published contract and the enforced contract cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One request or response field as KIS names it."""

    name: str
    korean: str
    length: int
    required: bool = False
    allowed: tuple[str, ...] = ()
    description: str = ""


ORD_DVSN_RESV = ("00", "01", "02", "05")
SLL_BUY = ("01", "02")
OBJT_CBLC = ("10", "12", "14", "21", "22", "23", "24", "25", "26", "27", "28")

TOKEN_BODY = (
    Field("grant_type", "권한부여타입", 18, True, ("client_credentials",)),
    Field("appkey", "앱키", 36, True),
    Field("appsecret", "앱시크릿키", 180, True),
)
TOKEN_RESPONSE = (
    Field("access_token", "접근토큰", 350),
    Field("token_type", "접근토큰유형", 20, description="always Bearer"),
    Field("expires_in", "접근토큰 유효기간", 10, description="seconds (number)"),
    Field("access_token_token_expired", "접근토큰 유효기간(일시)", 50, description="KST"),
)
REVOKE_BODY = (
    Field("appkey", "앱키", 36, True),
    Field("appsecret", "앱시크릿키", 180, True),
    Field("token", "접근토큰", 350, True),
)
REVOKE_RESPONSE = (Field("code", "응답코드", 8), Field("message", "응답메세지", 450))
HASHKEY_RESPONSE = (Field("BODY", "요청값", 0), Field("HASH", "해쉬키", 256))

RESV_PLACE_BODY = (
    Field("CANO", "종합계좌번호", 8, True),
    Field("ACNT_PRDT_CD", "계좌상품코드", 2, True),
    Field("PDNO", "종목코드(6자리)", 12, True),
    Field("ORD_QTY", "주문수량", 10, True),
    Field("ORD_UNPR", "주문단가", 19, True, description='"0" for ORD_DVSN_CD 01/05'),
    Field("SLL_BUY_DVSN_CD", "매도매수구분코드", 2, True, SLL_BUY),
    Field("ORD_DVSN_CD", "주문구분코드", 2, True, ORD_DVSN_RESV),
    Field("ORD_OBJT_CBLC_DVSN_CD", "주문대상잔고구분코드", 2, True, OBJT_CBLC),
    Field("LOAN_DT", "대출일자", 8),
    Field("RSVN_ORD_END_DT", "예약주문종료일자", 8, description="blank = 일반예약주문"),
    Field("LDNG_DT", "대여일자", 8),
)
RESV_PLACE_OUTPUT = (Field("RSVN_ORD_SEQ", "예약주문순번", 10),)

RESV_CANCEL_BODY = (
    Field("CANO", "종합계좌번호", 8, True),
    Field("ACNT_PRDT_CD", "계좌상품코드", 2, True),
    Field("RSVN_ORD_SEQ", "예약주문순번", 10, True),
    Field("RSVN_ORD_ORGNO", "예약주문조직번호", 5),
    Field("RSVN_ORD_ORD_DT", "예약주문주문일자", 8),
)
RESV_MODIFY_BODY = (
    *RESV_CANCEL_BODY,
    *(f for f in RESV_PLACE_BODY if f.name not in ("CANO", "ACNT_PRDT_CD", "LDNG_DT")),
    Field("CTAL_TLNO", "연락전화번호", 20, description="CTAC_TLNO accepted too"),
    Field("CTAC_TLNO", "연락전화번호", 20),
)
RESV_RVSECNCL_OUTPUT = (Field("NRML_PRCS_YN", "정상처리여부", 1),)

RESV_LIST_QUERY = (
    Field("RSVN_ORD_ORD_DT", "예약주문시작일자", 8, description="YYYYMMDD, blank = open"),
    Field("RSVN_ORD_END_DT", "예약주문종료일자", 8, description="YYYYMMDD, blank = open"),
    Field("RSVN_ORD_SEQ", "예약주문순번", 10),
    Field("TMNL_MDIA_KIND_CD", "단말매체종류코드", 2, description='"00"'),
    Field("CANO", "종합계좌번호", 8, True),
    Field("ACNT_PRDT_CD", "계좌상품코드", 2, True),
    Field("PRCS_DVSN_CD", "처리구분코드", 2, allowed=("", "0", "00", "1", "01", "2", "02")),
    Field("CNCL_YN", "취소여부", 1, allowed=("", "Y", "N")),
    Field("PDNO", "상품번호", 12),
    Field("SLL_BUY_DVSN_CD", "매도매수구분코드", 2, allowed=("", "00", "01", "02")),
    Field("CTX_AREA_FK200", "연속조회검색조건200", 200),
    Field("CTX_AREA_NK200", "연속조회키200", 200),
)
RESV_LIST_ROW = (
    Field("rsvn_ord_seq", "예약주문 순번", 10),
    Field("rsvn_ord_ord_dt", "예약주문주문일자", 8),
    Field("rsvn_ord_rcit_dt", "예약주문접수일자", 8),
    Field("pdno", "상품번호", 12),
    Field("ord_dvsn_cd", "주문구분코드", 2),
    Field("ord_rsvn_qty", "주문예약수량", 10),
    Field("tot_ccld_qty", "총체결수량", 10),
    Field("cncl_ord_dt", "취소주문일자", 8),
    Field("ord_tmd", "주문시각", 6),
    Field("ctac_tlno", "연락전화번호", 20),
    Field("rjct_rson2", "거부사유2", 200),
    Field("odno", "주문번호", 10),
    Field("rsvn_ord_rcit_tmd", "예약주문접수시각", 6),
    Field("kor_item_shtn_name", "한글종목단축명", 60),
    Field("sll_buy_dvsn_cd", "매도매수구분코드", 2),
    Field("ord_rsvn_unpr", "주문예약단가", 19),
    Field("tot_ccld_amt", "총체결금액", 19),
    Field("loan_dt", "대출일자", 8),
    Field("cncl_rcit_tmd", "취소접수시각", 6),
    Field("prcs_rslt", "처리결과", 60),
    Field("ord_dvsn_name", "주문구분명", 60),
    Field("tmnl_mdia_kind_cd", "단말매체종류코드", 2),
    Field("rsvn_end_dt", "예약종료일자", 8),
)
RESV_LIST_TOP = (
    Field("ctx_area_fk200", "연속조회검색조건200", 200),
    Field("ctx_area_nk200", "연속조회키200", 200),
)

ORDER_RVSECNCL_BODY = (
    Field("CANO", "종합계좌번호", 8, True),
    Field("ACNT_PRDT_CD", "계좌상품코드", 2, True),
    Field("KRX_FWDG_ORD_ORGNO", "한국거래소전송주문조직번호", 5, True),
    Field("ORGN_ODNO", "원주문번호", 10, True),
    Field("ORD_DVSN", "주문구분", 2, True),
    Field("RVSE_CNCL_DVSN_CD", "정정취소구분코드", 2, True, ("01", "02")),
    Field("ORD_QTY", "주문수량", 10, True),
    Field("ORD_UNPR", "주문단가", 19, True),
    Field("QTY_ALL_ORD_YN", "잔량전부주문여부", 1, True, ("Y", "N")),
    Field("CNDT_PRIC", "조건가격", 19),
    Field("EXCG_ID_DVSN_CD", "거래소ID구분코드", 3, allowed=("", "KRX", "NXT", "SOR")),
)
ORDER_RVSECNCL_OUTPUT = (
    Field("KRX_FWDG_ORD_ORGNO", "한국거래소전송주문조직번호", 5),
    Field("ODNO", "주문번호", 10),
    Field("ORD_TMD", "주문시각", 6),
)

PSBL_QUERY = (
    Field("CANO", "종합계좌번호", 8, True),
    Field("ACNT_PRDT_CD", "계좌상품코드", 2, True),
    Field("CTX_AREA_FK100", "연속조회검색조건100", 100),
    Field("CTX_AREA_NK100", "연속조회키100", 100),
    Field("INQR_DVSN_1", "조회구분1", 1, allowed=("", "0", "1")),
    Field("INQR_DVSN_2", "조회구분2", 1, allowed=("", "0", "1", "2")),
)
PSBL_ROW = (
    Field("ord_gno_brno", "주문채번지점번호", 5),
    Field("odno", "주문번호", 10),
    Field("orgn_odno", "원주문번호", 10),
    Field("ord_dvsn_name", "주문구분명", 60),
    Field("pdno", "상품번호", 12),
    Field("prdt_name", "상품명", 60),
    Field("rvse_cncl_dvsn_name", "정정취소구분명", 60),
    Field("ord_qty", "주문수량", 10),
    Field("ord_unpr", "주문단가", 19),
    Field("ord_tmd", "주문시각", 6),
    Field("tot_ccld_qty", "총체결수량", 10),
    Field("tot_ccld_amt", "총체결금액", 19),
    Field("psbl_qty", "가능수량", 10),
    Field("sll_buy_dvsn_cd", "매도매수구분코드", 2),
    Field("ord_dvsn_cd", "주문구분코드", 2),
    Field("mgco_aptm_odno", "운용사지정주문번호", 12),
    Field("excg_dvsn_cd", "거래소구분코드", 2),
    Field("excg_id_dvsn_cd", "거래소ID구분코드", 3),
    Field("excg_id_dvsn_name", "거래소ID구분명", 100),
    Field("stpm_cndt_pric", "스톱지정가조건가격", 9),
    Field("stpm_efct_occr_yn", "스톱지정가효력발생여부", 1),
)
PSBL_TOP = (
    Field("ctx_area_fk100", "연속조회검색조건100", 100),
    Field("ctx_area_nk100", "연속조회키100", 100),
)

# Common request headers of every gated /uapi call (kis-spec.md 1.1).
COMMON_HEADERS = (
    Field("authorization", "접근토큰", 350, True, description="Bearer <access_token>"),
    Field("appkey", "앱키", 36, True),
    Field("appsecret", "앱시크릿키", 180, True),
    Field("tr_id", "거래ID", 13, True),
    Field("tr_cont", "연속 거래 여부", 1, description="blank first page, N next page"),
    Field("custtype", "고객타입", 1, allowed=("P", "B")),
    Field("hashkey", "해쉬키", 256, description="optional, from /uapi/hashkey"),
)

# The emulator's listing: well-known KRX codes with their names, so rows look real. Each is
# seeded with a quote (DEMO_QUOTES); an order for a code outside the listing (and without a
# quote set through the admin API) is refused as KIS refuses an unknown code, unless
# EmulatorConfig.any_symbol is on (tests that need arbitrary codes).
SYMBOL_NAMES: dict[str, str] = {
    "005930": "삼성전자",
    "000660": "SK하이닉스",
    "035420": "NAVER",
    "005380": "현대차",
    "035720": "카카오",
    "051910": "LG화학",
    "006400": "삼성SDI",
    "000270": "기아",
    "068270": "셀트리온",
    "207940": "삼성바이오로직스",
    "005490": "POSCO홀딩스",
    "105560": "KB금융",
    "066570": "LG전자",
    "069500": "KODEX 200",
}
#: Seeded closing prices (won): plausible levels for the listed codes, on their ticks, so a
#: demo order like ``005930 @ 69,550`` sits inside the next session's ±30 % band. The
#: emulator's choice (no live data), also used to value market-order fills.
DEMO_QUOTES: dict[str, int] = {
    "005930": 71000,
    "000660": 180000,
    "035420": 190000,
    "005380": 240000,
    "035720": 40000,
    "051910": 300000,
    "006400": 250000,
    "000270": 100000,
    "068270": 180000,
    "207940": 1000000,
    "005490": 300000,
    "105560": 80000,
    "066570": 95000,
    "069500": 35000,
}
#: Listed ETFs (flat 5-won tick).
DEMO_ETFS = frozenset({"069500"})
# Reference prices used to value market-order fills in process_day.
REFERENCE_PRICES: dict[str, int] = DEMO_QUOTES
DEFAULT_REFERENCE_PRICE = 10000

ORD_DVSN_NAMES = {"00": "지정가", "01": "시장가", "02": "조건부지정가", "05": "장전시간외"}


def symbol_name(pdno: str) -> str:
    """Korean short name for ``pdno`` (generic for unknown codes)."""
    return SYMBOL_NAMES.get(pdno, f"종목{pdno}")


# 국내휴장일조회 (국내주식-040, CTCA0903R)
HOLIDAY_QUERY = (
    Field("BASS_DT", "기준일자", 8, True, description="YYYYMMDD"),
    Field("CTX_AREA_NK", "연속조회키", 20, description="공백으로 입력"),
    Field("CTX_AREA_FK", "연속조회검색조건", 20, description="공백으로 입력"),
)
HOLIDAY_ROW = (
    Field("bass_dt", "기준일자", 8),
    Field("wday_dvsn_cd", "요일구분코드", 2, description="01 Sunday ... 07 Saturday"),
    Field("bzdy_yn", "영업일여부", 1),
    Field("tr_day_yn", "거래일여부", 1),
    Field("opnd_yn", "개장일여부", 1),
    Field("sttl_day_yn", "결제일여부", 1),
)
HOLIDAY_TOP = (
    Field("ctx_area_fk", "연속조회검색조건", 20),
    Field("ctx_area_nk", "연속조회키", 20),
)


# --- 주식일별주문체결조회 (v1_국내주식-005), served by stock_manager.emulator.orders -------------
DAILY_CCLD_QUERY = (
    Field("CANO", "종합계좌번호", 8, True),
    Field("ACNT_PRDT_CD", "계좌상품코드", 2, True),
    Field("INQR_STRT_DT", "조회시작일자", 8, True, description="YYYYMMDD"),
    Field("INQR_END_DT", "조회종료일자", 8, True, description="YYYYMMDD"),
    Field("SLL_BUY_DVSN_CD", "매도매수구분코드", 2, allowed=("", "00", "01", "02")),
    Field("PDNO", "상품번호", 12),
    Field("ORD_GNO_BRNO", "주문채번지점번호", 5),
    Field("ODNO", "주문번호", 10),
    Field("CCLD_DVSN", "체결구분", 2, allowed=("", "00", "01", "02")),
    Field("INQR_DVSN", "조회구분", 2, allowed=("", "00", "01")),
    Field("INQR_DVSN_1", "조회구분1", 1, allowed=("", "1", "2")),
    Field("INQR_DVSN_3", "조회구분3", 2),
    Field("EXCG_ID_DVSN_CD", "거래소ID구분코드", 3, allowed=("", "KRX", "NXT", "SOR", "ALL")),
    Field("CTX_AREA_FK100", "연속조회검색조건100", 100),
    Field("CTX_AREA_NK100", "연속조회키100", 100),
)
DAILY_CCLD_ROW = (
    Field("ord_dt", "주문일자", 8),
    Field("ord_gno_brno", "주문채번지점번호", 5),
    Field("odno", "주문번호", 10),
    Field("orgn_odno", "원주문번호", 10),
    Field("ord_dvsn_name", "주문구분명", 60),
    Field("sll_buy_dvsn_cd", "매도매수구분코드", 2),
    Field("sll_buy_dvsn_cd_name", "매도매수구분코드명", 60),
    Field("pdno", "상품번호", 12),
    Field("prdt_name", "상품명", 60),
    Field("ord_qty", "주문수량", 10),
    Field("ord_unpr", "주문단가", 19),
    Field("ord_tmd", "주문시각", 6),
    Field("tot_ccld_qty", "총체결수량", 10),
    Field("avg_prvs", "평균가", 19),
    Field("cncl_yn", "취소여부", 1),
    Field("tot_ccld_amt", "총체결금액", 19),
    Field("ord_dvsn_cd", "주문구분코드", 2),
    Field("cnc_cfrm_qty", "취소확인수량", 10),
    Field("rmn_qty", "잔여수량", 10),
    Field("rjct_qty", "거부수량", 10),
    Field("excg_id_dvsn_Cd", "거래소ID구분코드", 3),
)
DAILY_CCLD_TOP = (
    Field("ctx_area_fk100", "연속조회검색조건100", 100),
    Field("ctx_area_nk100", "연속조회키100", 100),
    Field("output2", "응답상세2", 0, description="tot_ord_qty, tot_ccld_qty, tot_ccld_amt, ..."),
)
