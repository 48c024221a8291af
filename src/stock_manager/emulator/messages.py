"""Every response code the emulator can send, in one data table.

``source`` says where the code comes from: ``spec`` (KIS documentation / FAQ list as restated in
kis-spec.md; the msg1 wording is the emulator's restatement unless the spec quotes it),
``spec-3P`` (seen only in third-party material) or ``emulator`` (KIS documents no code for
that rule, so the emulator chose one; ``APBK8xxx`` is deliberately a range not seen in KIS
material, to avoid clashing meanings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    """One response code with its HTTP status and ``rt_cd``."""

    code: str
    text: str
    http_status: int
    rt_cd: str
    source: str  # "spec" or "emulator"


def _emu(code: str, text: str) -> Message:
    return Message(code, text, 200, "1", "emulator")


_TABLE: tuple[Message, ...] = (
    # --- success ---
    Message("APBK2938", "예약주문이 접수되었습니다.", 200, "0", "spec"),
    Message("KIOK0430", "정상적으로 처리되었습니다", 200, "0", "spec"),
    Message("KIOK0460", "조회 되었습니다.", 200, "0", "spec"),
    Message("KIOK0510", "조회가 완료되었습니다", 200, "0", "spec"),
    Message("APBK0013", "주문 전송 완료 되었습니다.", 200, "0", "spec"),
    # --- gateway (HTTP 500, before any business logic) ---
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
    Message("EGW00205", "credentials_type이 유효하지 않습니다.(Bearer)", 500, "1", "spec"),
    Message("EGW00208", "고객유형(custtype)이 유효하지 않습니다.", 500, "1", "spec"),
    Message("EGW00213", "모의투자 TR 이 아닙니다.", 500, "1", "spec"),
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
        "APBK8013", "예약주문 가능시간이 아닙니다.(15:40~익영업일 07:30)", 200, "1", "emulator"
    ),
    Message(
        "APBK8014",
        "시스템 초기화 시간(23:40~00:10)에는 예약주문이 불가합니다.",
        200,
        "1",
        "emulator",
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
)

MESSAGES: dict[str, Message] = {m.code: m for m in _TABLE}

# KIS pads msg1 to a fixed-width (EUC-KR byte) field; the emulator pads to 80 display bytes
# so clients that forget to strip() see the same trailing spaces they would see at KIS.
_MSG_WIDTH = 80


def pad_msg(text: str) -> str:
    """Right-pad ``text`` with spaces to the KIS msg1 width (Hangul counted as 2 bytes)."""
    width = sum(2 if ord(ch) > 127 else 1 for ch in text)
    return text + " " * max(0, _MSG_WIDTH - width)


def envelope(code: str, detail: str = "", **payload: Any) -> tuple[int, dict[str, Any]]:
    """(http_status, body) for ``code`` with the standard rt_cd/msg_cd/msg1 envelope."""
    msg = MESSAGES[code]
    text = msg.text if not detail else f"{msg.text} ({detail})"
    body: dict[str, Any] = {"rt_cd": msg.rt_cd, "msg_cd": msg.code, "msg1": pad_msg(text)}
    body.update(payload)
    return msg.http_status, body


def code_table_markdown() -> str:
    """The code table as Markdown (used in docs and the OpenAPI description)."""
    lines = ["| msg_cd | HTTP | rt_cd | source | msg1 |", "|---|---|---|---|---|"]
    for m in _TABLE:
        lines.append(f"| {m.code} | {m.http_status} | {m.rt_cd} | {m.source} | {m.text} |")
    return "\n".join(lines)
