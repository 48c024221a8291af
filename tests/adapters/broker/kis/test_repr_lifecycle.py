"""No public object of a normal lifecycle shows a secret in its ``repr`` or ``str``.

A whole lifecycle runs against the emulator (in process): configuration, clients, token,
prepared calls, dry-run descriptions, raw responses and their pages, every reservation
operation and its result, errors (validation, unknown outcome), reconcile, the journal and its
entries. Every object produced on the way is checked, nested values included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISError, KISRestClient
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter
from stock_manager.adapters.broker.kis.reservations import (
    AsyncReservations,
    Reservations,
)
from stock_manager.adapters.broker.kis.reservations.rules import PATH_LIST
from stock_manager.emulator import EmulatorConfig, create_app
from stock_manager.emulator.krx_calendar import start_inside_window
from stock_manager.journal import OrderJournal

from .reservations._matrix import Api, Loop, ShiftClock, SyncASGITransport


def _walk(obj: Any, depth: int = 0) -> Iterator[Any]:
    """Our objects in ``obj`` and inside it (dataclass fields, mappings, sequences, models).

    Plain values (a ``dict`` of request parameters, a ``str``) are data the caller asked for,
    not objects whose repr we control; the objects of ours inside them are checked.
    """
    if type(obj).__module__.startswith("stock_manager"):
        yield obj
    if depth > 4:
        return
    children: list[Any] = []
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        children = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    elif isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, list | tuple):
        children = list(obj)
    elif hasattr(obj, "model_dump") and not isinstance(obj, type):
        children = [getattr(obj, name) for name in type(obj).model_fields]
    for child in children:
        if not isinstance(child, str | int | float | Decimal | bool | type(None)):
            yield from _walk(child, depth + 1)


def test_no_secret_in_any_repr_or_str_of_a_lifecycle(tmp_path: Path) -> None:
    emu = create_app(
        EmulatorConfig.demo(
            seed=3,
            rate_limit_per_s=None,
            token_issue_interval_s=0,
            start_at=start_inside_window(),  # inside the reservation window
        )
    )
    cano = emu.config.account.split("-")[0]
    loop = Loop()
    journal = OrderJournal(tmp_path / "journal.sqlite3", clock=ShiftClock())
    seen: list[Any] = []
    try:
        config = KISConfig(
            kis_app_key=emu.config.app_key,
            kis_app_secret=emu.config.app_secret,
            kis_account_no=emu.config.account,
            base_url="http://emulator.local",
            token_cache_dir=tmp_path / "tokens",
            journal_path=tmp_path / "journal.sqlite3",
        )
        client = KISRestClient(
            config,
            transport=SyncASGITransport(emu.app, loop),
            limiter=RateLimiter(1e9, margin=0),
            journal=journal,
        )
        resv = Reservations(client, window_policy="ignore")
        seen += [config, client, resv, client.tokens, client.limiter, client.journal]
        client.issue_token()  # returns the token itself (a str), by design: not an object
        token = client.tokens.token
        assert token is not None
        seen.append(token)

        seqs = [resv.place_reservation("005930", 1 + i, 70000).seq for i in range(22)]
        receipt = resv.place_reservation("000660", 3, 180000, side="buy")
        seen.append(receipt)
        order = {"CANO": cano, "ACNT_PRDT_CD": "01", "PDNO": "005930", "ORD_QTY": "1"}
        order |= {"ORD_UNPR": "70000", "SLL_BUY_DVSN_CD": "02", "ORD_DVSN_CD": "00"}
        order |= {"ORD_OBJT_CBLC_DVSN_CD": "10"}  # every required field (the client checks)
        call = client.prepare("POST", "/uapi/domestic-stock/v1/trading/order-resv", order)
        listing = resv._rules.list_params(None, None, None, None, None, "all", True)
        seen += [call, client.describe("GET", PATH_LIST, listing)]
        seen.append(resv.describe_place("005930", 1, 70000))
        seen.append(resv.describe_modify(seqs[0], price=1000))
        seen.append(resv.describe_cancel(seqs[0]))
        params = resv._rules.list_params(None, None, None, None, None, "all", True)
        pages = list(client.iter_pages("GET", PATH_LIST, params))
        assert len(pages) == 2 and any(p.ctx for p in pages)  # continuation keys present
        seen += pages
        seen += [p.body for p in pages]
        rows = list(resv.list_reservations())
        seen += rows
        seen.append(resv.get_reservation(seqs[1]))
        seen.append(resv.modify_reservation(seqs[1], price=71000))
        seen.append(resv.cancel_reservation(seqs[2]))
        seen.append(resv.cancel_reservations(seqs=seqs[3:6]))

        errors: list[BaseException] = []
        emu.faults.add("order-resv", "reset_after")
        try:
            resv.place_reservation("035720", 4, 50000)
        except KISError as exc:
            errors.append(exc)
        try:
            resv.place_reservation("035720", True, 50000)
        except KISError as exc:
            errors.append(exc)
        assert len(errors) == 2
        seen += errors
        entry_id = errors[0].journal_id  # type: ignore[attr-defined]
        assert entry_id is not None
        seen.append(resv.reconcile(entry_id))
        seen += journal.entries()

        aclient_cfg = config.model_copy()
        import httpx

        from stock_manager.adapters.broker.kis import AsyncKISRestClient

        aclient = AsyncKISRestClient(
            aclient_cfg,
            transport=httpx.ASGITransport(app=emu.app),
            limiter=RateLimiter(1e9, margin=0),
            journal=journal,
        )
        aresv = AsyncReservations(aclient, window_policy="ignore")
        api = Api(aresv, loop)
        seen += [aclient, aresv, api.place(5), api.list(), api.reconcile(entry_id)]
        loop.run(aclient.aclose())
        client.close()
    finally:
        loop.close()
        journal.close()
        emu.close()

    secrets = {
        "app secret": emu.config.app_secret,
        "access token": token.access_token,
        "account number": cano,
    }
    checked = 0
    for top in seen:
        for obj in _walk(top):
            for text in (repr(obj), str(obj)):
                for name, secret in secrets.items():
                    assert secret not in text, f"{name} in {type(obj).__name__}: {text[:200]}"
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("value", ["eyJhbGciOi.secret.token"])
def test_token_repr_hides_the_access_token(value: str) -> None:
    # Before: repr(client.tokens.token) printed the access token.
    from stock_manager.adapters.broker.kis.auth import Token

    token = Token(access_token=value, expires_at=2.0, issued_at=1.0)
    assert value not in repr(token) and value not in str(token)


def test_response_repr_hides_account_in_continuation_keys() -> None:
    # Before: repr(KISResponse) included ctx_area_fk200, which begins with the account number.
    from stock_manager.adapters.broker.kis.response import KISResponse, ci

    body = ci({"rt_cd": "0", "ctx_area_fk200": "12345678!^01!^", "output": [{"cano": "12345678"}]})
    response = KISResponse(http_status=200, tr_id="CTSC0004R", body=body)
    for text in (repr(response), str(response), repr(response.body), str(response.rows())):
        assert "12345678" not in text
