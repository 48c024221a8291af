"""Order POSTs are journaled before sending and completed after; inquiries are not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from stock_manager.adapters.broker.kis import (
    KISBusinessError,
    KISRestClient,
    KISTransportError,
    OrderOutcomeUnknownError,
)
from stock_manager.journal import JournalEntry, Outcome

from ._support import (
    APP_KEY,
    APP_SECRET,
    CANO,
    INQUIRY_PARAMS,
    ORDER_PARAMS,
    RESV,
    RESV_CCNL,
    RESV_RVSECNCL,
    TOKEN_PREFIX,
    FakeKIS,
    kis_json,
)

Factory = Callable[..., KISRestClient]


def _watch_pending(client: KISRestClient, fake: FakeKIS) -> list[list[JournalEntry]]:
    """Snapshot the journal's PENDING entries at the moment each API request arrives."""
    seen: list[list[JournalEntry]] = []

    def on_api(request: httpx.Request) -> None:
        assert client.journal is not None
        seen.append(client.journal.pending())

    fake.on_api = on_api
    return seen


def test_order_is_pending_while_in_flight_then_ok(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(RESV, kis_json(msg_cd="APBK2938", output={"RSVN_ORD_SEQ": "39607"}))
    client = make_client()
    seen = _watch_pending(client, fake)
    resp = client.make_request("POST", RESV, ORDER_PARAMS)

    assert len(seen) == 1
    assert len(seen[0]) == 1
    pending = seen[0][0]
    assert pending.outcome is Outcome.PENDING
    assert pending.tr_id == "CTSC0008U"
    assert pending.method == "POST"
    assert pending.path == RESV
    assert pending.request["CANO"] == "12****78"
    assert pending.request["PDNO"] == "005930"
    assert pending.account == "12****78-01"

    assert client.journal is not None
    done = client.journal.get(pending.id)
    assert resp.journal_id == pending.id
    assert done.outcome is Outcome.OK
    assert done.msg_cd == "APBK2938"
    assert done.rt_cd == "0"
    assert done.reference == "39607"
    assert done.result == {"RSVN_ORD_SEQ": "39607"}
    assert done.completed_at is not None
    assert client.journal.pending() == []


def test_cancel_is_journaled_with_its_action_and_reference(
    make_client: Factory, fake: FakeKIS
) -> None:
    client = make_client()
    resp = client.make_request(
        "POST",
        RESV_RVSECNCL,
        {"CANO": CANO, "ACNT_PRDT_CD": "01", "RSVN_ORD_SEQ": "42401"},
        action="cancel",
    )
    assert client.journal is not None
    assert resp.journal_id is not None
    entry = client.journal.get(resp.journal_id)
    assert (entry.intent, entry.tr_id, entry.reference) == ("cancel", "CTSC0009U", "42401")


def test_rejected_unknown_and_not_sent(make_client: Factory, fake: FakeKIS) -> None:
    fake.script(
        RESV,
        kis_json(rt_cd="1", msg_cd="APBK0919", msg1="잔고 부족"),
        httpx.ReadTimeout("timed out"),
        *[httpx.ConnectError("refused") for _ in range(2)],
    )
    client = make_client(max_attempts=2)
    seen = _watch_pending(client, fake)
    with pytest.raises(KISBusinessError) as rejected:
        client.make_request("POST", RESV, ORDER_PARAMS)
    with pytest.raises(OrderOutcomeUnknownError) as unknown:
        client.make_request("POST", RESV, ORDER_PARAMS)
    with pytest.raises(KISTransportError) as not_sent:
        client.make_request("POST", RESV, ORDER_PARAMS)
    assert [len(s) for s in seen] == [1, 1, 1, 1]  # one pending entry at every send
    assert client.journal is not None
    by_id = {e.id: e for e in client.journal.entries()}
    assert len(by_id) == 3
    r = by_id[rejected.value.journal_id or -1]
    assert (r.outcome, r.msg_cd, r.msg1, r.rt_cd) == (
        Outcome.REJECTED,
        "APBK0919",
        "잔고 부족",
        "1",
    )
    u = by_id[unknown.value.journal_id or -1]
    assert u.outcome is Outcome.UNKNOWN
    assert "ReadTimeout" in u.error
    assert by_id[not_sent.value.journal_id or -1].outcome is Outcome.NOT_SENT
    assert [e.id for e in client.journal.needs_reconcile()] == [u.id]


def test_inquiries_are_not_journaled(make_client: Factory, fake: FakeKIS) -> None:
    client = make_client()
    client.make_request("GET", RESV_CCNL, INQUIRY_PARAMS)
    list(client.iter_pages("GET", RESV_CCNL, INQUIRY_PARAMS))
    assert client.journal is not None
    assert client.journal.entries() == []


def test_journal_off_writes_nothing(make_client: Factory, fake: FakeKIS, tmp_path: Path) -> None:
    client = make_client(journal=False)
    client.make_request("POST", RESV, ORDER_PARAMS)
    assert client.journal is None
    assert not (tmp_path / "journal.sqlite3").exists()
    assert not (tmp_path / "home").exists()


def test_journal_file_holds_no_secret_or_account(
    make_client: Factory, fake: FakeKIS, tmp_path: Path
) -> None:
    fake.script(
        RESV,
        kis_json(output={"RSVN_ORD_SEQ": "1", "CANO": CANO}),
        kis_json(rt_cd="1", msg_cd="APBK0919", msg1="rejected"),
        httpx.ReadTimeout("timed out"),
    )
    client = make_client()
    client.make_request("POST", RESV, ORDER_PARAMS)
    for _ in range(2):
        with pytest.raises((KISBusinessError, OrderOutcomeUnknownError)):
            client.make_request("POST", RESV, ORDER_PARAMS)
    assert client.journal is not None
    assert len(client.journal.entries()) == 3
    client.journal.close()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("journal.sqlite3")]
    assert files
    blob = b"".join(p.read_bytes() for p in files)
    assert b"CTSC0008U" in blob  # the file really holds the entries
    for secret in (APP_SECRET, CANO, TOKEN_PREFIX, APP_KEY):
        assert secret.encode() not in blob, secret
