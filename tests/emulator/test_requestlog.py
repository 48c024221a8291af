"""The request log stamps when the rate gate counted each request (exact per-second counts)."""

from __future__ import annotations

from stock_manager.emulator import ServedEmulator
from stock_manager.emulator.requestlog import RequestLog, RequestRecord, stamp_admission
from tests.emulator.helpers import Kis


def test_admission_time_is_the_gate_instant_not_the_response_time(
    emu: ServedEmulator, kis: Kis
) -> None:
    emu.requests.clear()
    gate_time = emu.clock.timestamp()  # frozen clock: the gate sees exactly this
    for _ in range(3):
        kis.query()
    emu.clock.advance(0.4)
    kis.query()
    records = emu.requests.filter(name="order-resv-ccnl")
    assert [r.admitted for r in records] == [gate_time] * 3 + [gate_time + 0.4]
    assert records[0].as_dict()["admitted"].startswith(records[0].at.isoformat()[:19])


def test_refused_requests_are_stamped_and_counted_apart(emu: ServedEmulator, kis: Kis) -> None:
    for _ in range(25):
        kis.query()
    log = emu.requests
    assert log.max_in_window(1.0) >= 21  # arrivals at the gate, refused included
    assert log.max_in_window(1.0, exclude_msg_cd="EGW00201") == 20  # admitted
    assert log.max_in_window(1.0, msg_cd="EGW00201") == 5


def test_token_requests_never_reach_the_gate(emu: ServedEmulator, kis: Kis) -> None:
    tokens = emu.requests.filter(name="tokenP")
    assert tokens
    assert all(r.admitted is None for r in tokens)


def test_max_in_window_is_half_open() -> None:
    log = RequestLog()
    for t in (0.0, 0.5, 1.0, 1.5, 1.99):
        stamp_admission(t)
        log.append(RequestRecord("GET", "/p", "n", "T", 200, "", time=t + 0.3))
    # [0, 1) holds 2, [0.5, 1.5) holds 2, [1.0, 2.0) holds 3: a request exactly 1 s later is
    # in the next window, as in the gate's sliding window.
    assert log.max_in_window(1.0) == 3
    log.append(RequestRecord("GET", "/p", "n", "T", 200, "", time=9.0))
    assert log[-1].admitted is None  # the stamp is consumed by one record only
