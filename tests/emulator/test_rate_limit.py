"""Per-app-key sliding-window rate limit (frozen clock makes it deterministic)."""

from __future__ import annotations

from stock_manager.emulator import ServedEmulator
from tests.emulator.helpers import Kis


def test_21st_request_in_one_second_rejected(emu: ServedEmulator, kis: Kis) -> None:
    seqs = [kis.place_ok() for _ in range(10)]
    statuses = [kis.query().status_code for _ in range(10)]
    assert statuses == [200] * 10
    r = kis.place()  # 21st request in the same (frozen) second
    assert r.status_code == 500
    assert r.json() == {
        "rt_cd": "1",
        "msg_cd": "EGW00201",
        "msg1": r.json()["msg1"],
    }
    assert r.json()["msg1"].startswith("초당 거래건수를 초과하였습니다.")
    # The rejected request changed nothing and did not count: after the window moves on,
    # exactly 20 are allowed again.
    emu.clock.advance(1.0)
    rows = kis.list_all()
    assert [row["rsvn_ord_seq"] for row in rows] == seqs
    assert emu.requests.count(name="order-resv") == 11


def test_sliding_window(emu: ServedEmulator, kis: Kis) -> None:
    for _ in range(10):
        assert kis.query().status_code == 200
    emu.clock.advance(0.5)
    for _ in range(10):
        assert kis.query().status_code == 200
    assert kis.query().json()["msg_cd"] == "EGW00201"
    emu.clock.advance(0.5)  # the first ten leave the window
    for _ in range(10):
        assert kis.query().status_code == 200
    assert kis.query().json()["msg_cd"] == "EGW00201"


def test_rejections_do_not_count(emu: ServedEmulator, kis: Kis) -> None:
    for _ in range(20):
        kis.query()
    for _ in range(30):
        assert kis.query().json()["msg_cd"] == "EGW00201"
    emu.clock.advance(1.0)
    assert all(kis.query().status_code == 200 for _ in range(20))


def test_token_and_hashkey_count_against_the_budget(emu: ServedEmulator, kis: Kis) -> None:
    headers = {"appkey": kis.config.app_key, "appsecret": kis.config.app_secret}
    assert kis.http.post("/uapi/hashkey", json={"A": "1"}, headers=headers).status_code == 200
    for _ in range(19):
        assert kis.query().status_code == 200
    # The hashkey call was the 1st of 20: the budget is spent for every kind of call.
    assert kis.query().json()["msg_cd"] == "EGW00201"
    r = kis.http.post("/uapi/hashkey", json={"A": "1"}, headers=headers)
    assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW00201")
    r = kis.issue()
    assert (r.status_code, r.json()["error_code"]) == (403, "EGW00201")
    emu.clock.advance(1.0)
    assert kis.issue().json()["error_code"] == "EGW00133"  # then its own 1/min rule


def test_token_endpoint_one_call_per_second() -> None:
    import httpx

    from stock_manager.emulator import run_emulator
    from tests.emulator.helpers import frozen_config

    cfg = frozen_config(token_issue_interval_s=0)
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        assert kis.issue().status_code == 200
        r = kis.issue()
        assert (r.status_code, r.json()["error_code"]) == (403, "EGW00201")
        emu.clock.advance(1.0)
        assert kis.issue().status_code == 200


def test_real_clock_tight_loop() -> None:
    """Without a frozen clock: 21 requests fired back to back inside one second."""
    import time

    import httpx
    import pytest

    from stock_manager.emulator import EmulatorConfig, run_emulator

    cfg = EmulatorConfig.demo(seed=3)
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        kis.login()
        kis.query()  # warm the connection
        emu.clock.advance(1.0)  # leave the warm-up request's window
        start = time.monotonic()
        statuses = [kis.query().status_code for _ in range(21)]
        if time.monotonic() - start > 0.9:
            pytest.skip("machine too slow to fire 21 requests within one second")
        assert statuses[:20] == [200] * 20
        assert statuses[20] == 500


class _RealSeconds:
    """A monotonic source the test moves: real seconds passing, apart from the business clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_frozen_business_clock_still_lets_the_budget_refill() -> None:
    # Issue #18 (8): after clock/freeze, about 20 requests in, every call failed with EGW00201
    # until the clock was advanced: the limiter counted the frozen business clock. It counts
    # real seconds; the business clock stays where it was frozen.
    import httpx

    from stock_manager.emulator import run_emulator
    from tests.emulator.helpers import FROZEN, frozen_config

    real = _RealSeconds()
    cfg = frozen_config(budget_clock=real)
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        kis.login()
        r = client.post("/_emulator/clock/freeze", json={"at": FROZEN.isoformat()})
        assert r.status_code == 200
        for _second in range(3):
            real.now += 1.0  # a real second passes; the business clock does not move
            codes = [kis.query().json()["msg_cd"] for _ in range(20)]
            assert "EGW00201" not in codes
            assert kis.query().json()["msg_cd"] == "EGW00201"  # the 21st in the same second
        assert client.get("/_emulator/clock").json()["now"] == FROZEN.isoformat()


def test_the_date_header_is_the_emulators_clock(emu: ServedEmulator, kis: Kis) -> None:
    # The Date header and the receipt times of the book are on one clock, as at KIS: a client
    # measures its skew from Date (issue #18, finding 7).
    from email.utils import parsedate_to_datetime

    r = kis.query()
    assert parsedate_to_datetime(r.headers["date"]) == emu.clock.now().replace(microsecond=0)
    emu.clock.advance(4 * 3600)
    r = kis.query()
    assert parsedate_to_datetime(r.headers["date"]) == emu.clock.now().replace(microsecond=0)
