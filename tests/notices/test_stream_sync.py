"""The blocking driver (``NoticeStream``) over a real socket, and the modify and cancel notices
the emulator sends when an order is changed through 주식주문(정정취소) (issue #20)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from stock_manager.adapters.broker.kis import KISRestClient
from stock_manager.emulator import ServedEmulator
from stock_manager.notices import ExecutionEvent, NoticeSession, NoticeStream, SubscriptionEvent
from tests.notices.conftest import add_order, kis_config

RVSECNCL = "/uapi/domestic-stock/v1/trading/order-rvsecncl"


def change(client: KISRestClient, emu: ServedEmulator, odno: str, kind: str, price: int) -> None:
    cano, prdt = emu.config.account.split("-")
    client.make_request(
        "POST",
        RVSECNCL,
        {
            "CANO": cano,
            "ACNT_PRDT_CD": prdt,
            "KRX_FWDG_ORD_ORGNO": "06010",
            "ORGN_ODNO": odno,
            "ORD_DVSN": "00",
            "RVSE_CNCL_DVSN_CD": kind,
            "ORD_QTY": "0",
            "ORD_UNPR": str(price),
            "QTY_ALL_ORD_YN": "Y",
            "EXCG_ID_DVSN_CD": "KRX",
        },
    )


def test_the_blocking_stream_gets_accepted_modified_and_cancelled(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    config = kis_config(emu, tmp_path)
    session = NoticeSession(config, fetch=None, idle_timeout_s=5.0)
    seen: list[ExecutionEvent] = []
    odno = ""
    deadline = time.monotonic() + 20
    with KISRestClient(config) as client, NoticeStream(session) as stream:
        guard = threading.Timer(20, stream.close)  # never hang the suite on a silent stream
        guard.start()
        for ev in stream:
            assert time.monotonic() < deadline, seen
            if isinstance(ev, SubscriptionEvent) and ev.active and not odno:
                odno = add_order(emu, qty=10, price=70000)
            if not isinstance(ev, ExecutionEvent):
                continue
            seen.append(ev)
            if ev.kind == "accepted" and ev.order_no == odno:
                change(client, emu, odno, "01", 69500)  # 정정: a new order for the remainder
            elif ev.kind == "modified":
                change(client, emu, ev.order_no, "02", 0)  # then cancel what is left
            elif ev.kind == "cancelled":
                break
        guard.cancel()
    kinds = [e.kind for e in seen]
    assert kinds[:3] == ["accepted", "modified", "cancelled"], kinds
    accepted, modified, cancelled = seen[:3]
    assert accepted.order_no == odno
    assert modified.original_order_no == odno and modified.price == 69500
    assert cancelled.original_order_no == modified.order_no
    assert all(e.source == "ws" for e in seen)
