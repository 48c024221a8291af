"""Several app keys (each with its mode, budget and accounts) and the limits KIS applies."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from stock_manager.emulator.config import AppKey
from tests.emulator.helpers import RESV_CCNL, Kis, frozen_config

PAPER = AppKey("PSPAPERkey0000000000000000000000000", "paper-secret", mode="paper")
SECOND = AppKey(
    "PSSECONDkey000000000000000000000000",
    "second-secret",
    rate_limit_per_s=5,
    accounts=("22223333-01",),
)
NEW = AppKey("PSNEWkey000000000000000000000000000", "new-secret", new_key=True)


def as_key(kis: Kis, key: AppKey, account: str | None = None) -> Kis:
    cfg = EmulatorConfig(
        app_key=key.app_key,
        app_secret=key.app_secret,
        account=account or kis.config.account,
        mode=key.mode,
    )
    return Kis(kis.http, cfg)


@pytest.fixture
def multi() -> Iterator[tuple[ServedEmulator, Kis]]:
    cfg = frozen_config(keys=(PAPER, SECOND, NEW))
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        kis.login()
        yield emu, kis


def test_paper_key_on_the_real_host(multi: tuple[ServedEmulator, Kis]) -> None:
    _, kis = multi
    paper = as_key(kis, PAPER)
    r = paper.issue()
    assert (r.status_code, r.json()["error_code"]) == (403, "EGW02004")
    paper.token = kis.token
    r = paper.query()
    assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW02004")


def test_real_key_on_the_paper_host() -> None:
    real = AppKey("PSREALkey00000000000000000000000000", "real-secret", mode="real")
    cfg = frozen_config(mode="paper", keys=(real,))
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        kis.login()
        other = as_key(kis, real)
        r = other.issue()
        assert (r.status_code, r.json()["error_code"]) == (403, "EGW02007")
        other.token = kis.token
        r = other.query()
        assert (r.status_code, r.json()["msg_cd"]) == (500, "EGW02007")
        assert emu.config.mode == "paper"


def test_each_key_has_its_own_budget_and_accounts(multi: tuple[ServedEmulator, Kis]) -> None:
    emu, kis = multi
    second = as_key(kis, SECOND, account="22223333-01")
    second.login()
    emu.clock.advance(1.0)
    # The second key: 5/s of its own, untouched by the primary key's traffic.
    for _ in range(20):
        assert kis.query().status_code == 200
    assert kis.query().json()["msg_cd"] == "EGW00201"
    codes = [second.query().json()["msg_cd"] for _ in range(6)]
    assert codes == ["KIOK0560"] * 5 + ["EGW00201"]
    emu.clock.advance(1.0)
    # Accounts belong to keys: the primary account is not the second key's.
    wrong = as_key(kis, SECOND)
    wrong.token = second.token
    assert wrong.query().json()["msg_cd"] == "OPSQ2000"
    assert second.place().json()["rt_cd"] == "0"


def test_new_key_is_limited_to_three_per_second(multi: tuple[ServedEmulator, Kis]) -> None:
    _, kis = multi
    new = as_key(kis, NEW)
    new.login()  # the 1st call of this second
    codes = [new.query().json()["msg_cd"] for _ in range(3)]
    assert codes == ["KIOK0560", "KIOK0560", "EGW00201"]
    assert NEW.rate_limit == 3
    assert EmulatorConfig.demo(new_key=True).primary_key.rate_limit == 3


def test_ledger_limit_egw00215() -> None:
    cfg = frozen_config(ledger_limit_per_s=3)
    with run_emulator(cfg) as emu, httpx.Client(base_url=emu.base_url) as client:
        kis = Kis(client, cfg)
        kis.login()
        codes = [kis.query().json()["msg_cd"] for _ in range(4)]
        assert codes == ["KIOK0560"] * 3 + ["EGW00215"]
        r = kis.place()
        assert (r.status_code, r.json()["rt_cd"], r.json()["msg_cd"]) == (500, "1", "EGW00215")
        # chk-holiday is a quotation, not an order/account TR: not a ledger call.
        r = client.get(
            "/uapi/domestic-stock/v1/quotations/chk-holiday",
            params={"BASS_DT": "20261201", "CTX_AREA_NK": "", "CTX_AREA_FK": ""},
            headers=kis.headers("CTCA0903R"),
        )
        assert r.json()["rt_cd"] == "0"
        emu.clock.advance(1.0)
        assert kis.query().json()["rt_cd"] == "0"
        assert emu.requests.count(path=RESV_CCNL) == 5
