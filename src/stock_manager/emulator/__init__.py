"""Local KIS-compatible REST emulator (Starlette + uvicorn).

KIS paper trading does not offer the reservation-order APIs, so this emulator is the safe place
to try them. It speaks the KIS REST protocol as documented (see ``/work/shared/kis-spec.md``
sections 1-4) and deliberately imports nothing from ``stock_manager.adapters``, so it cannot
hide bugs of our own client.

Public surface::

    EmulatorConfig(...), EmulatorConfig.demo(), AppKey  # configuration
    create_app(config) -> Emulator                       # .app (ASGI), .state, .faults,
                                                         # .requests, .clock, .calendar,
                                                         # .process_day(), .expire_tokens(),
                                                         # .openapi()
    run_emulator(config=None, host="127.0.0.1", port=0)  # context manager, real sockets,
                                                         # yields ServedEmulator (.base_url,
                                                         # .credentials)
    serve(host, port, app_key, app_secret, account, mode, state_file, rate_limit)  # CLI

Served: ``POST /oauth2/tokenP``, ``POST /oauth2/revokeP``, ``POST /uapi/hashkey``, the three
reservation APIs (CTSC0008U place, CTSC0009U/CTSC0013U cancel/modify, CTSC0004R list), minimal
ordinary-order APIs (TTTC0013U/VTTC0013U modify/cancel, TTTC0084R revisable list,
TTTC0081R/CTSC9215R daily orders and fills: :mod:`stock_manager.emulator.orders`) and
국내휴장일조회 (CTCA0903R, from the emulator's KRX calendar). Any other ``/uapi/...`` path
answers HTTP 501 ``EMU00501`` ("not emulated"). Admin API under ``/_emulator/`` (see
:mod:`stock_manager.emulator.admin`); pytest fixture ``kis_emulator``
(:mod:`stock_manager.emulator.pytest_plugin`).

Adding an endpoint: an :class:`~stock_manager.emulator.endpoints.Endpoint` in
``endpoints.ENDPOINTS`` plus its handler in ``routes.HANDLERS`` (see ``holiday.py``).

Decisions where KIS is silent or uncertain (every code, its HTTP status and its source:
:mod:`stock_manager.emulator.messages`, served at ``/_emulator/codes``):

* Wire: standard headers in canonical case (``Content-Type``, ``Content-Length``, ``Date``),
  only ``tr_id``/``tr_cont``/``gt_uid`` lower case (:mod:`~stock_manager.emulator.protocol`);
  emulator-only details in ``X-Emulator-Detail``, never in ``msg1``. ``msg1`` of inquiry (GET)
  answers is padded to 80 EUC-KR bytes; POST answers and gateway errors are not.
* Gateway errors: HTTP 500 + ``{"rt_cd":"1","msg_cd":"EGW…","msg1":…}``; token endpoint errors:
  HTTP 403 + ``{"error_code","error_description"}``; business and field rejections: HTTP 200 with
  ``rt_cd`` "1". OPSQ0002/OPSQ999x are treated as gateway-level (HTTP 500); OPSQ2000/OPSQ2002
  as field validation (HTTP 200).
* The mapping OPSQ9995 body / 9996 header / 9997 JSON / 9999 tr_id follows the order in which
  the FAQ lists them (uncertain).
* App keys: the primary key plus ``EmulatorConfig.keys``, each with a mode (the host it was
  issued for: a paper key on a real-mode emulator is EGW02004, a real key on a paper-mode
  emulator EGW02007), a budget and accounts. A real-only TR on the paper host is EGW02006
  (HTTP 500, "모의투자 TR 이 아닙니다").
* Rate limit: sliding 1-second window per app key, counted after authentication; tokenP and
  hashkey calls count too; rejected requests (EGW00201) do not. tokenP has its own 1/s limit
  (403 EGW00201) besides the 1/min issuance rule (EGW00133). ``new_key`` caps a key at 3/s.
  ``ledger_limit_per_s`` (off by default; KIS publishes no figure) answers EGW00215 on
  order/account TRs above that rate.
* Reservation window (real KIS rule, on by default): see
  :mod:`stock_manager.emulator.krx_calendar` - KIER3672 naming the window, late-session days,
  bundled KRX holidays, order date = next open day, end dates on closed days refused (APBK8022).
* Paging (``order-resv-ccnl``): 20 rows a page by ascending ``rsvn_ord_seq``; response header
  ``tr_cont`` F (first page, more follow) / M (middle) / D (last or only page); KIOK0500 while
  more follow, KIOK0460 "(마지막 자료)" on the last page, KIOK0560 when empty. Keys shaped like
  the spec example (see :mod:`stock_manager.emulator.handlers`). Continuation requires request
  header ``tr_cont: N`` plus the echoed keys; a changed filter with a non-blank FK is rejected
  (APBK8019). ``inquire-psbl-rvsecncl`` works the same with 50 rows and the ``*100`` keys.
* The list date range matches a row when its receipt date OR its order date is in range.
* ``process_day`` processes the reservations due on the next processing day (the open day
  a reservation received now would be sent on; the clock is not moved). Period reservations
  are re-sent on later open days (advance the clock a day) for the unfilled quantity until
  filled or past ``rsvn_end_dt``. ``prcs_rslt`` is "미처리" (pending), "처리" (sent; filled,
  partly filled or unfilled), "거부" (rejected, with ``rjct_rson2``) or "취소" (cancelled).
* ``custtype`` is required (EGW00208 when missing) only where the spec marks it required
  (주식주문(정정취소), 정정취소가능주문조회, 국내휴장일조회); elsewhere it is optional but must
  be P or B.
* A real emulator answers paper TR_IDs (VTTC0013U) with OPSQ0002. Old TR_IDs (TTTC0803U,
  TTTC8036R) are not served.
* Token endpoint: EGW00101 (bad body / grant_type), EGW00102, EGW00103, EGW00105, EGW00133,
  EGW02004/EGW02007 and, for revoking an unknown token, EGW00121 — all HTTP 403 with
  ``error_code``. Unknown non-``/uapi`` paths get HTTP 404 + OPSQ0002, a wrong method HTTP 405
  + EGW00101.
* The hashkey is SHA-256 over canonical JSON (sorted keys, compact) of the body.
* Faults: connection resets are real TCP resets (SO_LINGER 0 + abort) under uvicorn; under
  ``httpx.ASGITransport`` the app raises ``httpx.RemoteProtocolError`` (reset) or
  ``httpx.ReadTimeout`` (hang) instead. ``hang`` holds the connection ``seconds`` and then
  resets it; with ``commit=True`` the state change is applied before hanging. ``late_commit``
  answers nothing and applies the change ``seconds`` later (under ``ASGITransport`` the client
  gets ``httpx.ReadTimeout`` at once); ``gateway_error`` answers EGW00001/00002/00301/00302 and
  ``http_error`` a JSON or HTML 5xx, each with or without the change committed (see
  :mod:`stock_manager.emulator.faults`).
"""

from stock_manager.emulator.app import Emulator, create_app
from stock_manager.emulator.clock import EmulatorClock
from stock_manager.emulator.config import KST, AppKey, EmulatorConfig, demo_credentials
from stock_manager.emulator.faults import FAULT_KINDS, Fault, FaultRegistry
from stock_manager.emulator.krx_calendar import KrxCalendar
from stock_manager.emulator.messages import MESSAGES
from stock_manager.emulator.requestlog import RequestLog, RequestRecord
from stock_manager.emulator.server import ServedEmulator, run_emulator, serve

__all__ = [
    "FAULT_KINDS",
    "KST",
    "MESSAGES",
    "AppKey",
    "Emulator",
    "EmulatorClock",
    "EmulatorConfig",
    "Fault",
    "FaultRegistry",
    "KrxCalendar",
    "RequestLog",
    "RequestRecord",
    "ServedEmulator",
    "create_app",
    "demo_credentials",
    "run_emulator",
    "serve",
]
