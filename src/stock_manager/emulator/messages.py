"""Every response code the emulator can send, in one data table.

``source`` says where the code comes from: ``spec-example`` (the text is quoted from an example
response in the KIS portal's spec export, ``/work/shared/kis-openapi/catalog.json``), ``spec``
(KIS documentation / FAQ list as restated in kis-spec.md; the msg1 wording is the emulator's
restatement unless the spec quotes it), ``spec-3P`` (seen only in third-party material; the
note says where) or ``emulator`` (KIS documents no code for that rule, so the emulator chose
one; ``APBK8xxx`` and ``EMU0xxxx`` are deliberately ranges not seen in KIS material).

``msg1`` padding follows the spec examples: inquiry (GET) answers are right-padded with spaces
to 80 EUC-KR bytes, POST answers and gateway errors are not padded. Emulator-only details never
go into ``msg1``; they travel in the ``X-Emulator-Detail`` response header.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    """One response code with its HTTP status and ``rt_cd``."""

    code: str
    text: str
    http_status: int
    rt_cd: str
    source: str  # "spec-example", "spec", "spec-3P" or "emulator"
    note: str = ""


def _emu(code: str, text: str) -> Message:
    return Message(code, text, 200, "1", "emulator")


_TABLE: tuple[Message, ...] = (
    # --- success ---
    Message("APBK2938", "예약주문이 접수되었습니다.", 200, "0", "spec-example"),
    Message("KIOK0430", "정상적으로 처리되었습니다", 200, "0", "spec-example"),
    Message("KIOK0460", "조회 되었습니다. (마지막 자료)", 200, "0", "spec-example", "last page"),
    Message(
        "KIOK0500",
        "조회가 계속됩니다..다음버튼을 Click 하십시오.",
        200,
        "0",
        "spec-example",
        "more rows follow (국내휴장일조회 example)",
    ),
    Message("KIOK0510", "조회가 완료되었습니다", 200, "0", "spec-example", "last page (psbl)"),
    Message("KIOK0560", "조회할 내용이 없습니다", 200, "0", "spec-example", "no rows"),
    Message("APBK0013", "주문 전송 완료 되었습니다.", 200, "0", "spec-example"),
    # --- gateway (HTTP 500, before any business logic) ---
    Message("EGW00001", "일시적인 오류가 발생했습니다.", 500, "1", "spec", "gateway_error fault"),
    Message("EGW00002", "서버 에러가 발생하였습니다.", 500, "1", "spec"),
    Message("EGW00101", "유효하지 않은 요청입니다.", 500, "1", "spec"),
    Message("EGW00102", "AppKey는 필수입니다.", 500, "1", "spec"),
    Message("EGW00103", "유효하지 않은 AppKey입니다.", 500, "1", "spec"),
    Message("EGW00104", "AppSecret은 필수입니다.", 500, "1", "spec"),
    Message("EGW00105", "유효하지 않은 AppSecret입니다.", 500, "1", "spec"),
    Message("EGW00121", "유효하지 않은 token 입니다.", 500, "1", "spec"),
    Message("EGW00122", "token을 찾을 수 없습니다.", 500, "1", "spec"),
    Message("EGW00123", "기간이 만료된 token 입니다.", 500, "1", "spec"),
    Message("EGW00131", "유효하지 않은 hashkey입니다.", 500, "1", "spec"),
    Message("EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)", 403, "1", "spec"),
    Message("EGW00201", "초당 거래건수를 초과하였습니다.", 500, "1", "spec"),
    Message(
        "EGW00301",
        "연결시간이 초과되었습니다. 이전 거래를 확인하세요.",
        500,
        "1",
        "spec",
        "gateway_error fault; KIS: check the previous transaction before resending",
    ),
    Message(
        "EGW00302",
        "거래시간이 초과되었습니다. 이전 거래를 확인하세요.",
        500,
        "1",
        "spec",
        "gateway_error fault; KIS: check the previous transaction before resending",
    ),
    Message("EGW00205", "credentials_type이 유효하지 않습니다.(Bearer)", 500, "1", "spec"),
    Message("EGW00208", "고객유형(custtype)이 유효하지 않습니다.", 500, "1", "spec"),
    Message(
        "EGW00215",
        "원장 초당 거래건수를 초과하였습니다.",
        500,
        "1",
        "spec-3P",
        "ledger per-second limit on order/account TRs; wording and threshold are the "
        "emulator's (config ledger_limit_per_s)",
    ),
    Message(
        "EGW02004",
        "모의투자 앱키로는 실전투자 서버를 이용할 수 없습니다.",
        500,
        "1",
        "spec-3P",
        "paper app key on the real host; wording is the emulator's",
    ),
    Message(
        "EGW02006",
        "모의투자 TR 이 아닙니다",
        500,
        "1",
        "spec-3P",
        "real-only TR sent to the paper host (unohee/kis-agent #44, live reports 2026)",
    ),
    Message(
        "EGW02007",
        "실전투자 앱키로는 모의투자 서버를 이용할 수 없습니다.",
        500,
        "1",
        "spec-3P",
        "real app key on the paper host; wording is the emulator's",
    ),
    Message("OPSQ0002", "없는 서비스 코드 입니다", 500, "1", "spec"),
    Message("OPSQ9995", "BODY 정보가 없습니다.", 500, "1", "spec"),
    Message("OPSQ9996", "HEADER 정보가 없습니다.", 500, "1", "spec"),
    Message("OPSQ9997", "JSON 파싱 오류입니다.", 500, "1", "spec"),
    Message("OPSQ9999", "TR_ID 정보가 없습니다.", 500, "1", "spec"),
    # --- field validation (HTTP 200, rt_cd 1) ---
    Message("OPSQ2000", "ERROR : INPUT INVALID_CHECK_ACNO", 200, "1", "spec"),
    Message("OPSQ2002", "ERROR : INPUT FIELD SIZE 오류입니다.", 200, "1", "spec"),
    Message("APBK1359", "정정/취소 수량이 가능 수량을 초과합니다.", 200, "1", "spec-3P"),
    # --- business rules KIS documents no code for (emulator-chosen) ---
    _emu("APBK8001", "필수 입력항목이 누락되었습니다."),
    _emu("APBK8002", "주문구분코드를 확인하세요.(00,01,02,05)"),
    _emu("APBK8003", "매도매수구분코드를 확인하세요.(01,02)"),
    Message(
        "APBK8004", "시장가/장전시간외 주문은 주문단가를 0으로 입력하세요.", 200, "1", "emulator"
    ),
    _emu("APBK8005", "지정가 주문은 주문단가를 입력하세요."),
    _emu("APBK8006", "주문수량을 확인하세요."),
    _emu("APBK8007", "종목코드를 확인하세요.(6자리)"),
    Message(
        "APBK8008", "예약주문종료일자를 확인하세요.(익영업일부터 30일 이내)", 200, "1", "emulator"
    ),
    _emu("APBK8009", "기간예약주문 가능 건수(1,000건)를 초과하였습니다."),
    _emu("APBK8010", "이미 취소된 예약주문입니다."),
    _emu("APBK8011", "이미 처리된 예약주문입니다."),
    _emu("APBK8012", "해당 예약주문이 존재하지 않습니다."),
    Message(
        "KIER3672",
        "예약주문은 {start}분 이후부터 익영업일 {end}분까지만 가능합니다",
        200,
        "1",
        "spec-3P",
        "outside the reservation window (prism-insight #79 quotes the 수능-day text "
        "16:40/08:30); HTTP status and rt_cd are the emulator's choice",
    ),
    _emu("APBK8015", "주문대상잔고구분코드를 확인하세요."),
    _emu("APBK8016", "조회일자를 확인하세요.(YYYYMMDD)"),
    _emu("APBK8017", "원주문번호가 존재하지 않습니다."),
    _emu("APBK8018", "정정취소구분코드를 확인하세요.(01,02)"),
    Message(
        "APBK8019", "연속조회 조건이 변경되었습니다. 처음부터 조회하세요.", 200, "1", "emulator"
    ),
    _emu("APBK8020", "입력값을 확인하세요."),
    _emu("APBK8021", "정정/취소 가능한 주문이 아닙니다."),
    _emu("APBK8022", "예약주문종료일자가 휴장일입니다."),
    Message(
        "APBK8023",
        "종목정보가 존재하지 않습니다.",
        200,
        "1",
        "emulator",
        "a code outside the emulator's listing (EmulatorConfig.any_symbol lifts it);"
        " KIS's own code for an unknown code is not public",
    ),
    Message(
        "EMU00404",
        "에뮬레이터에 시세가 없는 종목입니다.",
        200,
        "1",
        "emulator",
        "inquire-price of a code without a quote (set one: POST /_emulator/market/quote)",
    ),
    Message(
        "EMU00501",
        "에뮬레이터가 지원하지 않는 API입니다.",
        501,
        "1",
        "emulator",
        "any /uapi path the emulator does not serve (KIS itself would serve it)",
    ),
)

MESSAGES: dict[str, Message] = {m.code: m for m in _TABLE}

# Every padded msg1 in the spec examples is exactly 80 EUC-KR bytes (Hangul = 2 bytes).
_MSG_WIDTH = 80


@functools.lru_cache(maxsize=256)
def pad_msg(text: str) -> str:
    """Right-pad ``text`` with spaces to 80 EUC-KR bytes (KIS pads inquiry answers)."""
    width = sum(2 if ord(ch) > 127 else 1 for ch in text)
    return text + " " * max(0, _MSG_WIDTH - width)


def envelope(code: str, detail: str = "", **payload: Any) -> tuple[int, dict[str, Any]]:
    """(http_status, body) for ``code`` with the standard rt_cd/msg_cd/msg1 envelope.

    ``detail`` is accepted for compatibility and ignored: details go into the
    ``X-Emulator-Detail`` header (see :func:`stock_manager.emulator.gateway.reject`), never into
    a KIS field. ``msg1`` is unpadded; the app pads inquiry answers.
    """
    msg = MESSAGES[code]
    body: dict[str, Any] = {"rt_cd": msg.rt_cd, "msg_cd": msg.code, "msg1": msg.text}
    body.update(payload)
    return msg.http_status, body


def code_table() -> list[dict[str, Any]]:
    """The code table as JSON-able rows (served at ``/_emulator/codes``)."""
    return [
        {
            "code": m.code,
            "http_status": m.http_status,
            "rt_cd": m.rt_cd,
            "text": m.text,
            "source": m.source,
            "note": m.note,
        }
        for m in _TABLE
    ]


def code_table_markdown() -> str:
    """The code table as Markdown (used in docs and the OpenAPI description)."""
    lines = ["| msg_cd | HTTP | rt_cd | source | msg1 | note |", "|---|---|---|---|---|---|"]
    for m in _TABLE:
        lines.append(
            f"| {m.code} | {m.http_status} | {m.rt_cd} | {m.source} | {m.text} | {m.note} |"
        )
    return "\n".join(lines)
