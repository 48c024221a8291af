"""The fault kinds the money-safety matrix needs: gateway errors and 5xx with or without the
change committed, and a commit that lands after the client's read timeout."""

from __future__ import annotations

import time

import httpx
import pytest

from stock_manager.emulator import ServedEmulator
from stock_manager.emulator.faults import GATEWAY_ERROR_TEXT, FaultRegistry
from tests.emulator.helpers import RESV, Kis


@pytest.mark.parametrize("code", sorted(GATEWAY_ERROR_TEXT))
@pytest.mark.parametrize("commit", [False, True])
def test_gateway_error_with_or_without_commit(
    emu: ServedEmulator, kis: Kis, code: str, commit: bool
) -> None:
    emu.faults.add("order-resv", "gateway_error", code=code, commit=commit)
    r = kis.place()
    assert r.status_code == 500
    assert (r.json()["rt_cd"], r.json()["msg_cd"]) == ("1", code)
    assert len(kis.list_all()) == int(commit)
    record = emu.requests.filter(name="order-resv")[0]
    assert (record.status, record.msg_cd, record.fault) == (500, code, "gateway_error")


@pytest.mark.parametrize("commit", [False, True])
def test_html_5xx_with_or_without_commit(emu: ServedEmulator, kis: Kis, commit: bool) -> None:
    emu.faults.add("order-resv", "http_error", status=502, body="html", commit=commit)
    r = kis.place()
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert len(kis.list_all()) == int(commit)


def test_late_commit_lands_after_the_read_timeout(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "late_commit", seconds=0.6)
    with pytest.raises(httpx.ReadTimeout):
        kis.http.post(RESV, json=kis.place_body(), headers=kis.headers("CTSC0008U"), timeout=0.2)
    assert kis.list_all() == []  # not yet
    deadline = time.monotonic() + 10
    while not kis.list_all():
        assert time.monotonic() < deadline, "the late commit never landed"
        time.sleep(0.05)
    assert len(kis.list_all()) == 1


def test_delay_past_the_read_timeout_commits_after_the_delay(emu: ServedEmulator, kis: Kis) -> None:
    emu.faults.add("order-resv", "delay", seconds=0.6)
    with pytest.raises(httpx.ReadTimeout):
        kis.http.post(RESV, json=kis.place_body(), headers=kis.headers("CTSC0008U"), timeout=0.2)
    deadline = time.monotonic() + 10
    while not kis.list_all():
        assert time.monotonic() < deadline, "the delayed commit never landed"
        time.sleep(0.05)


def test_unknown_gateway_code_is_refused() -> None:
    with pytest.raises(ValueError, match="code must be one of"):
        FaultRegistry().add("*", "gateway_error", code="EGW99999")
