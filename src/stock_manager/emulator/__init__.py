"""Local KIS-compatible REST emulator (Starlette + uvicorn).

KIS paper trading does not offer the reservation-order APIs, so this emulator is the safe place
to try them. It speaks the KIS REST protocol as documented (see ``/work/shared/kis-spec.md``
sections 1-4) and deliberately imports nothing from ``stock_manager.adapters``, so it cannot
hide bugs of our own client.

Public surface::

    EmulatorConfig(...), EmulatorConfig.demo()          # configuration
    create_app(config) -> Emulator                       # .app (ASGI), .state, .faults,
                                                         # .requests, .clock, .process_day(),
                                                         # .expire_tokens(), .openapi()
    run_emulator(config=None, host="127.0.0.1", port=0)  # context manager, real sockets,
                                                         # yields ServedEmulator (.base_url)
    serve(host, port, app_key, app_secret, account, mode, state_file, rate_limit)  # CLI

Served: ``POST /oauth2/tokenP``, ``POST /oauth2/revokeP``, ``POST /uapi/hashkey``, the three
reservation APIs (CTSC0008U place, CTSC0009U/CTSC0013U cancel/modify, CTSC0004R list), and
minimal ordinary-order APIs (TTTC0013U/VTTC0013U modify/cancel, TTTC0084R revisable list,
TTTC0081R/CTSC9215R daily orders and fills: :mod:`stock_manager.emulator.orders`).
Admin API under ``/_emulator/`` (see :mod:`stock_manager.emulator.admin`).

Decisions where KIS is silent or uncertain:

* Gateway errors: HTTP 500 + ``{"rt_cd":"1","msg_cd":"EGW…","msg1":…}``; token endpoint errors:
  HTTP 403 + ``{"error_code","error_description"}``; business and field rejections: HTTP 200 with
  ``rt_cd`` "1". OPSQ0002/OPSQ999x are treated as gateway-level (HTTP 500); OPSQ2000/OPSQ2002
  as field validation (HTTP 200).
* The mapping OPSQ9995 body / 9996 header / 9997 JSON / 9999 tr_id follows the order in which
  the FAQ lists them (uncertain).
* Rate limit: sliding 1-second window per app key, counted after authentication; rejected
  requests (EGW00201) do not count. Token, revoke and hashkey calls are not rate limited.
* Paging (``order-resv-ccnl``): 20 rows a page ordered by ascending ``rsvn_ord_seq``; response
  header ``tr_cont`` F (first page, more follow) / M (middle) / D (last or only page). The
  top-level ``ctx_area_fk200`` encodes the filter (``!^``-separated, space padded to 200) and
  ``ctx_area_nk200`` the last returned sequence (padded to 200). Continuation requires request
  header ``tr_cont: N`` plus the echoed keys; a changed filter with a non-blank FK is rejected
  (APBK8019). ``inquire-psbl-rvsecncl`` works the same with 50 rows and the ``*100`` keys.
* The list date range matches a row when its receipt date OR its order date is in range.
* ``process_day`` processes the reservations due on the next processing day (the business day
  a reservation received now would be sent on; the clock is not moved). Period reservations
  are re-sent on later processing days (advance the clock a day) for the unfilled quantity
  until filled or past ``rsvn_end_dt``. ``prcs_rslt`` is "미처리" (pending),
  "처리" (sent; filled, partly filled or unfilled), "거부" (rejected, with ``rjct_rson2``) or
  "취소" (cancelled).
* ``custtype`` is required (EGW00208 when missing) only where the spec marks it required
  (주식주문(정정취소), 정정취소가능주문조회); elsewhere it is optional but must be P or B.
* A paper emulator answers real-only TR_IDs with EGW00213 (HTTP 500); a real emulator answers
  paper TR_IDs (VTTC0013U) with OPSQ0002. Old TR_IDs (TTTC0803U, TTTC8036R) are not served.
* Token endpoint: EGW00101 (bad body / grant_type), EGW00102, EGW00103, EGW00105, EGW00133 and,
  for revoking an unknown token, EGW00121 — all HTTP 403 with ``error_code``. Unknown paths get
  HTTP 404 + OPSQ0002, a wrong method HTTP 405 + EGW00101.
* The hashkey is SHA-256 over canonical JSON (sorted keys, compact) of the body.
* Faults: connection resets are real TCP resets (SO_LINGER 0 + abort) under uvicorn; under
  ``httpx.ASGITransport`` the app raises ``httpx.RemoteProtocolError`` (reset) or
  ``httpx.ReadTimeout`` (hang) instead. ``hang`` holds the connection ``seconds`` and then
  resets it; with ``commit=True`` the state change is applied before hanging. ``late_commit``
  answers nothing and applies the change ``seconds`` later (under ``ASGITransport`` the client
  gets ``httpx.ReadTimeout`` at once); ``gateway_error`` answers EGW00001/00002/00301/00302 and
  ``http_error`` a JSON or HTML 5xx, each with or without the change committed (see
  :mod:`stock_manager.emulator.faults`).

Response codes (``source`` "emulator" = chosen by the emulator because KIS documents none;
"spec-3P" = seen only in third-party material; msg1 texts are restatements):

| msg_cd | HTTP | rt_cd | source | msg1 |
|---|---|---|---|---|
| APBK2938 | 200 | 0 | spec | 예약주문이 접수되었습니다. |
| KIOK0430 | 200 | 0 | spec | 정상적으로 처리되었습니다 |
| KIOK0460 | 200 | 0 | spec | 조회 되었습니다. |
| KIOK0510 | 200 | 0 | spec | 조회가 완료되었습니다 |
| APBK0013 | 200 | 0 | spec | 주문 전송 완료 되었습니다. |
| EGW00002 | 500 | 1 | spec | 서버 에러가 발생하였습니다. |
| EGW00101 | 500 | 1 | spec | 유효하지 않은 요청입니다. |
| EGW00102 | 500 | 1 | spec | AppKey는 필수입니다. |
| EGW00103 | 500 | 1 | spec | 유효하지 않은 AppKey입니다. |
| EGW00104 | 500 | 1 | spec | AppSecret은 필수입니다. |
| EGW00105 | 500 | 1 | spec | 유효하지 않은 AppSecret입니다. |
| EGW00121 | 500 | 1 | spec | 유효하지 않은 token 입니다. |
| EGW00122 | 500 | 1 | spec | token을 찾을 수 없습니다. |
| EGW00123 | 500 | 1 | spec | 기간이 만료된 token 입니다. |
| EGW00131 | 500 | 1 | spec | 유효하지 않은 hashkey입니다. |
| EGW00133 | 403 | 1 | spec | 접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회) |
| EGW00201 | 500 | 1 | spec | 초당 거래건수를 초과하였습니다. |
| EGW00205 | 500 | 1 | spec | credentials_type이 유효하지 않습니다.(Bearer) |
| EGW00208 | 500 | 1 | spec | 고객유형(custtype)이 유효하지 않습니다. |
| EGW00213 | 500 | 1 | spec | 모의투자 TR 이 아닙니다. |
| OPSQ0002 | 500 | 1 | spec | 없는 서비스 코드 입니다 |
| OPSQ9995 | 500 | 1 | spec | BODY 정보가 없습니다. |
| OPSQ9996 | 500 | 1 | spec | HEADER 정보가 없습니다. |
| OPSQ9997 | 500 | 1 | spec | JSON 파싱 오류입니다. |
| OPSQ9999 | 500 | 1 | spec | TR_ID 정보가 없습니다. |
| OPSQ2000 | 200 | 1 | spec | ERROR : INPUT INVALID_CHECK_ACNO |
| OPSQ2002 | 200 | 1 | spec | ERROR : INPUT FIELD SIZE 오류입니다. |
| APBK1359 | 200 | 1 | spec-3P | 정정/취소 수량이 가능 수량을 초과합니다. |
| APBK8001 | 200 | 1 | emulator | 필수 입력항목이 누락되었습니다. |
| APBK8002 | 200 | 1 | emulator | 주문구분코드를 확인하세요.(00,01,02,05) |
| APBK8003 | 200 | 1 | emulator | 매도매수구분코드를 확인하세요.(01,02) |
| APBK8004 | 200 | 1 | emulator | 시장가/장전시간외 주문은 주문단가를 0으로 입력하세요. |
| APBK8005 | 200 | 1 | emulator | 지정가 주문은 주문단가를 입력하세요. |
| APBK8006 | 200 | 1 | emulator | 주문수량을 확인하세요. |
| APBK8007 | 200 | 1 | emulator | 종목코드를 확인하세요.(6자리) |
| APBK8008 | 200 | 1 | emulator | 예약주문종료일자를 확인하세요.(익영업일부터 30일 이내) |
| APBK8009 | 200 | 1 | emulator | 기간예약주문 가능 건수(1,000건)를 초과하였습니다. |
| APBK8010 | 200 | 1 | emulator | 이미 취소된 예약주문입니다. |
| APBK8011 | 200 | 1 | emulator | 이미 처리된 예약주문입니다. |
| APBK8012 | 200 | 1 | emulator | 해당 예약주문이 존재하지 않습니다. |
| APBK8013 | 200 | 1 | emulator | 예약주문 가능시간이 아닙니다.(15:40~익영업일 07:30) |
| APBK8014 | 200 | 1 | emulator | 시스템 초기화 시간(23:40~00:10)에는 예약주문이 불가합니다. |
| APBK8015 | 200 | 1 | emulator | 주문대상잔고구분코드를 확인하세요. |
| APBK8016 | 200 | 1 | emulator | 조회일자를 확인하세요.(YYYYMMDD) |
| APBK8017 | 200 | 1 | emulator | 원주문번호가 존재하지 않습니다. |
| APBK8018 | 200 | 1 | emulator | 정정취소구분코드를 확인하세요.(01,02) |
| APBK8019 | 200 | 1 | emulator | 연속조회 조건이 변경되었습니다. 처음부터 조회하세요. |
| APBK8020 | 200 | 1 | emulator | 입력값을 확인하세요. |
| APBK8021 | 200 | 1 | emulator | 정정/취소 가능한 주문이 아닙니다. |
"""

from stock_manager.emulator.app import Emulator, create_app
from stock_manager.emulator.clock import EmulatorClock
from stock_manager.emulator.config import KST, EmulatorConfig, demo_credentials
from stock_manager.emulator.faults import FAULT_KINDS, Fault, FaultRegistry
from stock_manager.emulator.messages import MESSAGES
from stock_manager.emulator.requestlog import RequestLog, RequestRecord
from stock_manager.emulator.server import ServedEmulator, run_emulator, serve

__all__ = [
    "FAULT_KINDS",
    "KST",
    "MESSAGES",
    "Emulator",
    "EmulatorClock",
    "EmulatorConfig",
    "Fault",
    "FaultRegistry",
    "RequestLog",
    "RequestRecord",
    "ServedEmulator",
    "create_app",
    "demo_credentials",
    "run_emulator",
    "serve",
]
