"""Tests for stock_manager.journal."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import stock_manager
from stock_manager.journal import (
    SCHEMA_VERSION,
    JournalEntry,
    OrderJournal,
    Outcome,
    default_journal_path,
    mask_account,
    mask_request,
)

APP_SECRET = "SECRETsecretSECRET0123456789abcdef"
APP_KEY = "PSappkeyAPPKEY0123456789"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.tokenbody"
PERSONAL_KEY = "personalSecKey987654321"
CANO = "73519024"
ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-resv"
SRC_DIR = str(Path(stock_manager.__file__).resolve().parent.parent)


def child_env() -> dict[str, str]:
    """Environment for a child interpreter that can import stock_manager from here."""
    paths = [SRC_DIR, *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


class FakeClock:
    """A settable clock: returns ``now`` and advances by ``step`` each call."""

    def __init__(self, start: datetime, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        current = self.now
        self.now += self.step
        return current


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "nested" / "journal.sqlite3"


@pytest.fixture
def journal(journal_path: Path) -> Iterator[OrderJournal]:
    with OrderJournal(journal_path) as j:
        yield j


def place_request(**extra: Any) -> dict[str, Any]:
    return {
        "CANO": CANO,
        "ACNT_PRDT_CD": "01",
        "PDNO": "005930",
        "ORD_QTY": "10",
        "ORD_UNPR": Decimal("71000"),
        "RSVN_ORD_END_DT": date(2025, 1, 31),
        **extra,
    }


def record(j: OrderJournal, **overrides: Any) -> int:
    kwargs: dict[str, Any] = {
        "intent": "place",
        "tr_id": "CTSC0008U",
        "method": "POST",
        "path": ORDER_PATH,
        "request": place_request(),
        "account": f"{CANO}-01",
    }
    kwargs.update(overrides)
    return j.record_intent(**kwargs)


# -- masking -----------------------------------------------------------------------


def test_mask_account() -> None:
    assert mask_account("12345678") == "12****78"
    assert mask_account("12345678-01") == "12****78-01"
    assert mask_account(12345678) == "12****78"
    assert mask_account("12****78") == "12****78"
    assert mask_account("123") == "***"
    assert mask_account("") == ""


def test_mask_request_recursive_and_case_insensitive() -> None:
    data: dict[str, Any] = {
        "AppSecret": APP_SECRET,
        "APPKEY": APP_KEY,
        "Authorization": f"Bearer {TOKEN}",
        "headers": {"access_token": TOKEN, "personalseckey": PERSONAL_KEY},
        "items": [{"token": TOKEN, "cano": CANO}, ("x", {"SecretKey": "s"})],
        "CANO": CANO,
        "ACNT_PRDT_CD": "01",
        "note": f"retry with Bearer {TOKEN} later",
        "PDNO": "005930",
    }
    original = repr(data)
    masked = mask_request(data)
    assert repr(data) == original, "input must not be modified"
    assert masked == {
        "AppSecret": "***",
        "APPKEY": "***",
        "Authorization": "***",
        "headers": {"access_token": "***", "personalseckey": "***"},
        "items": [{"token": "***", "cano": "73****24"}, ["x", {"SecretKey": "***"}]],
        "CANO": "73****24",
        "ACNT_PRDT_CD": "01",
        "note": "retry with Bearer *** later",
        "PDNO": "005930",
    }


# -- round trip and file ------------------------------------------------------------


def test_intent_complete_round_trip(journal: OrderJournal) -> None:
    entry_id = record(journal)
    entry = journal.get(entry_id)
    assert entry.outcome is Outcome.PENDING
    assert entry.completed_at is None
    assert entry.intent == "place"
    assert entry.tr_id == "CTSC0008U"
    assert entry.method == "POST"
    assert entry.path == ORDER_PATH
    assert entry.pid == os.getpid()
    assert entry.account == "73****24-01"
    assert entry.reference == ""
    assert entry.request["CANO"] == "73****24"
    assert entry.request["ACNT_PRDT_CD"] == "01"
    assert entry.request["ORD_UNPR"] == "71000"  # Decimal via default=str
    assert entry.request["RSVN_ORD_END_DT"] == "2025-01-31"
    assert entry.created_at.tzinfo is not None
    assert entry.created_at.utcoffset() == timedelta(0)
    assert entry.needs_reconcile

    journal.complete(
        entry_id,
        outcome=Outcome.OK,
        msg_cd="KIOK0000",
        msg1="정상처리 되었습니다.",
        rt_cd="0",
        gt_uid="GT123",
        result={"RSVN_ORD_SEQ": "7777"},
        reference="7777",
    )
    done = journal.get(entry_id)
    assert done.outcome is Outcome.OK
    assert done.msg_cd == "KIOK0000"
    assert done.msg1 == "정상처리 되었습니다."
    assert done.rt_cd == "0"
    assert done.gt_uid == "GT123"
    assert done.result == {"RSVN_ORD_SEQ": "7777"}
    assert done.reference == "7777"
    assert done.error == ""
    assert done.completed_at is not None
    assert done.completed_at >= done.created_at
    assert not done.needs_reconcile
    assert journal.pending() == []


def test_get_missing_raises_key_error(journal: OrderJournal) -> None:
    with pytest.raises(KeyError):
        journal.get(12345)
    with pytest.raises(KeyError):
        journal.complete(12345, outcome=Outcome.OK)


def test_reopen_keeps_entries_and_schema_version(journal_path: Path) -> None:
    with OrderJournal(journal_path) as j:
        entry_id = record(j)
    with OrderJournal(journal_path) as j:
        assert j.get(entry_id).intent == "place"
    conn = sqlite3.connect(journal_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_newer_schema_is_refused(journal_path: Path) -> None:
    OrderJournal(journal_path).close()
    conn = sqlite3.connect(journal_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        OrderJournal(journal_path)


def test_file_mode_is_0600(journal_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        with OrderJournal(journal_path) as j:
            record(j)
            for suffix in ("", "-wal", "-shm"):
                side = Path(f"{journal_path}{suffix}")
                if side.exists():
                    assert stat.S_IMODE(side.stat().st_mode) == 0o600, side
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(journal_path.stat().st_mode) == 0o600


def test_existing_loose_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.touch()
    path.chmod(0o644)
    OrderJournal(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_use_after_close_raises(journal_path: Path) -> None:
    j = OrderJournal(journal_path)
    j.close()
    j.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        record(j)


# -- secrets ------------------------------------------------------------------------


def _raw_bytes(path: Path) -> bytes:
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal", "-shm")
        if Path(f"{path}{suffix}").exists()
    )


def test_secrets_never_reach_the_database_file(journal_path: Path) -> None:
    secrets = [APP_SECRET, APP_KEY, TOKEN, PERSONAL_KEY, CANO]
    request = place_request(
        appsecret=APP_SECRET,
        headers={"appkey": APP_KEY, "authorization": f"Bearer {TOKEN}"},
        extra=[{"Access_Token": TOKEN}, {"personalseckey": PERSONAL_KEY}],
    )
    j = OrderJournal(journal_path)
    entry_id = record(j, request=request, account=f"{CANO}-01")
    j.complete(
        entry_id,
        outcome=Outcome.UNKNOWN,
        result={"token": TOKEN, "output": {"CANO": CANO, "RSVN_ORD_SEQ": "1"}},
        error=f"ReadTimeout; header Authorization: Bearer {TOKEN}",
    )
    j.mark_reconciled(entry_id, applied=False, note=f"checked with Bearer {TOKEN}")
    entry = j.get(entry_id)
    assert TOKEN not in repr(entry)
    # While open: main file plus WAL (the data may be only in the WAL so far).
    raw = _raw_bytes(journal_path)
    assert b"73****24" in raw, "sanity: the masked account is stored"
    for secret in secrets:
        assert secret.encode() not in raw, secret
    j.close()  # last connection closing checkpoints the WAL into the main file
    raw = _raw_bytes(journal_path)
    assert b"RSVN_ORD_SEQ" in raw
    for secret in secrets:
        assert secret.encode() not in raw, secret


# -- crash recovery -----------------------------------------------------------------


def test_process_killed_mid_request_leaves_pending_entry(journal_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os
        from stock_manager.journal import OrderJournal
        j = OrderJournal({str(journal_path)!r})
        entry_id = j.record_intent(
            intent="cancel", tr_id="CTSC0009U", method="POST", path={ORDER_PATH!r},
            request={{"CANO": {CANO!r}, "ACNT_PRDT_CD": "01", "RSVN_ORD_SEQ": "42"}},
            account={CANO!r}, reference="42",
        )
        print(entry_id, os.getpid(), flush=True)
        os._exit(1)  # die before complete(): no close, no checkpoint
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=child_env(), timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    entry_id, child_pid = (int(x) for x in proc.stdout.split())

    with OrderJournal(journal_path) as j:
        pending = j.pending()
        assert [e.id for e in pending] == [entry_id]
        assert [e.id for e in j.needs_reconcile()] == [entry_id]
        entry = pending[0]
        assert entry.outcome is Outcome.PENDING
        assert entry.intent == "cancel"
        assert entry.reference == "42"
        assert entry.pid == child_pid
        assert entry.account == "73****24"
        j.mark_reconciled(entry_id, applied=True, note="order gone from inquiry")
        assert j.pending() == []
        assert j.get(entry_id).outcome is Outcome.RECONCILED_APPLIED


def test_concurrent_processes_share_the_journal(journal_path: Path) -> None:
    OrderJournal(journal_path).close()
    script = textwrap.dedent(
        f"""
        from stock_manager.journal import OrderJournal, Outcome
        with OrderJournal({str(journal_path)!r}) as j:
            for _ in range(20):
                i = j.record_intent(intent="place", tr_id="T", method="POST", path="/p",
                                    request={{}})
                j.complete(i, outcome=Outcome.OK)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script], env=child_env()) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    with OrderJournal(journal_path) as j:
        entries = j.entries()
        assert len(entries) == 80
        assert len({e.id for e in entries}) == 80
        assert {e.outcome for e in entries} == {Outcome.OK}


# -- transitions --------------------------------------------------------------------


def test_double_completion_refused(journal: OrderJournal) -> None:
    entry_id = record(journal)
    journal.complete(entry_id, outcome=Outcome.REJECTED, msg_cd="APBK0919", rt_cd="1")
    with pytest.raises(ValueError, match="already completed"):
        journal.complete(entry_id, outcome=Outcome.OK)
    with pytest.raises(ValueError, match="already completed"):
        journal.mark_reconciled(entry_id, applied=True)
    assert journal.get(entry_id).outcome is Outcome.REJECTED


def test_complete_with_pending_refused(journal: OrderJournal) -> None:
    entry_id = record(journal)
    with pytest.raises(ValueError, match="pending"):
        journal.complete(entry_id, outcome=Outcome.PENDING)


def test_unknown_then_reconciled(journal: OrderJournal) -> None:
    entry_id = record(journal)
    journal.complete(entry_id, outcome=Outcome.UNKNOWN, error="ReadTimeout")
    assert [e.id for e in journal.needs_reconcile()] == [entry_id]
    assert journal.pending() == []
    # UNKNOWN may only move to a RECONCILED_* outcome.
    with pytest.raises(ValueError, match="already completed"):
        journal.complete(entry_id, outcome=Outcome.OK)
    journal.complete(
        entry_id,
        outcome=Outcome.RECONCILED_APPLIED,
        result={"RSVN_ORD_SEQ": "9"},
        reference="9",
        note="found in reservation list",
    )
    entry = journal.get(entry_id)
    assert entry.outcome is Outcome.RECONCILED_APPLIED
    assert entry.error == "ReadTimeout", "reconciling keeps the original error"
    assert entry.note == "found in reservation list"
    assert entry.reference == "9"
    assert entry.result == {"RSVN_ORD_SEQ": "9"}
    assert journal.needs_reconcile() == []
    with pytest.raises(ValueError, match="already completed"):
        journal.mark_reconciled(entry_id, applied=False)


def test_pending_mark_reconciled_not_applied(journal: OrderJournal) -> None:
    entry_id = record(journal)
    journal.mark_reconciled(entry_id, applied=False, note="never reached KIS")
    entry = journal.get(entry_id)
    assert entry.outcome is Outcome.RECONCILED_NOT_APPLIED
    assert entry.completed_at is not None
    assert entry.note == "never reached KIS"


# -- threads ------------------------------------------------------------------------


def test_concurrent_writes_from_threads(journal: OrderJournal) -> None:
    threads_n, per_thread = 8, 25
    ids: list[int] = []
    errors: list[BaseException] = []
    ids_lock = threading.Lock()
    barrier = threading.Barrier(threads_n)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for k in range(per_thread):
                entry_id = record(journal, reference=f"{n}-{k}")
                journal.complete(entry_id, outcome=Outcome.OK, result={"n": n, "k": k})
                with ids_lock:
                    ids.append(entry_id)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ids) == len(set(ids)) == threads_n * per_thread
    entries = journal.entries()
    assert len(entries) == threads_n * per_thread
    assert {e.reference for e in entries} == {
        f"{n}-{k}" for n in range(threads_n) for k in range(per_thread)
    }
    assert all(e.outcome is Outcome.OK for e in entries)


# -- queries and clock --------------------------------------------------------------


def test_entries_order_and_filters(journal_path: Path) -> None:
    start = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
    clock = FakeClock(start, step=timedelta(minutes=1))
    with OrderJournal(journal_path, clock=clock) as j:
        ids = [record(j, intent=intent) for intent in ("place", "modify", "cancel", "place")]
        # record() used clock ticks 0..3; completions use ticks 4, 5.
        j.complete(ids[0], outcome=Outcome.OK)
        j.complete(ids[2], outcome=Outcome.REJECTED)

        assert [e.id for e in j.entries()] == ids[::-1]
        assert [e.id for e in j.entries(limit=2)] == [ids[3], ids[2]]
        assert j.entries(limit=0) == []
        assert [e.id for e in j.entries(since=start + timedelta(minutes=2))] == [ids[3], ids[2]]
        # since accepts any aware timezone
        kst = start.astimezone(ZoneInfo("Asia/Seoul"))
        assert len(j.entries(since=kst + timedelta(minutes=1))) == 3
        assert [e.id for e in j.entries(outcome=Outcome.PENDING)] == [ids[3], ids[1]]
        assert [e.id for e in j.entries(outcome=Outcome.OK)] == [ids[0]]
        assert [
            e.id for e in j.entries(outcome=Outcome.PENDING, since=start + timedelta(minutes=2))
        ] == [ids[3]]
        assert [e.id for e in j.pending()] == [ids[1], ids[3]]  # oldest first
        with pytest.raises(ValueError, match="naive"):
            j.entries(since=datetime(2025, 1, 1))
        with pytest.raises(ValueError, match="limit"):
            j.entries(limit=-1)


def test_injected_clock_used_for_timestamps(journal_path: Path) -> None:
    kst = ZoneInfo("Asia/Seoul")
    t0 = datetime(2025, 3, 4, 8, 59, 30, 123456, tzinfo=kst)
    clock = FakeClock(t0, step=timedelta(seconds=5))
    with OrderJournal(journal_path, clock=clock) as j:
        entry_id = record(j)
        j.complete(entry_id, outcome=Outcome.NOT_SENT, error="ConnectError")
        entry = j.get(entry_id)
    assert entry.created_at == t0
    assert entry.created_at.tzinfo == UTC  # stored and returned as UTC
    assert entry.completed_at == t0 + timedelta(seconds=5)
    assert entry.outcome is Outcome.NOT_SENT
    assert entry.error == "ConnectError"


def test_naive_clock_refused(journal_path: Path) -> None:
    naive: Callable[[], datetime] = lambda: datetime(2025, 1, 1)  # noqa: E731
    with OrderJournal(journal_path, clock=naive) as j, pytest.raises(ValueError, match="naive"):
        record(j)


def test_entry_is_frozen(journal: OrderJournal) -> None:
    entry: JournalEntry = journal.get(record(journal))
    with pytest.raises(AttributeError):
        entry.outcome = Outcome.OK  # type: ignore[misc]


def test_outcome_values() -> None:
    assert {o.value for o in Outcome} == {
        "pending",
        "ok",
        "rejected",
        "not_sent",
        "unknown",
        "reconciled_applied",
        "reconciled_not_applied",
    }
    assert Outcome("ok") is Outcome.OK


# -- default path -------------------------------------------------------------------


def test_default_journal_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STOCK_MANAGER_HOME", str(tmp_path / "sm"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_journal_path() == tmp_path / "sm" / "journal.sqlite3"

    monkeypatch.delenv("STOCK_MANAGER_HOME")
    assert default_journal_path() == tmp_path / "xdg" / "stock-manager" / "journal.sqlite3"

    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "state" / "stock-manager" / "journal.sqlite3"
    assert default_journal_path() == expected

    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_journal_path() == expected


# --- sent_at, credited references, continuation keys (issue 8) ---------------------------------
def test_mark_sent_records_the_last_send_of_a_pending_entry(journal: OrderJournal) -> None:
    entry_id = record(journal)
    assert journal.get(entry_id).sent_at is None
    assert journal.get(entry_id).last_sent_at == journal.get(entry_id).created_at
    journal.mark_sent(entry_id)
    first = journal.get(entry_id).sent_at
    assert first is not None
    journal.mark_sent(entry_id)  # a retry after a refusal that came before processing
    second = journal.get(entry_id).sent_at
    assert second is not None and second >= first
    journal.complete(entry_id, outcome=Outcome.OK)
    journal.mark_sent(entry_id)  # no effect once completed
    assert journal.get(entry_id).sent_at == second


def test_credited_lists_references_of_places_known_to_have_taken_effect(
    journal: OrderJournal,
) -> None:
    ok = record(journal)
    journal.complete(ok, outcome=Outcome.OK, reference="39607")
    found = record(journal)
    journal.mark_reconciled(found, applied=True, reference="39608")
    lost = record(journal)
    journal.mark_reconciled(lost, applied=False)
    cancel = record(journal, intent="cancel", reference="39607")
    journal.complete(cancel, outcome=Outcome.OK)
    assert journal.credited("place") == {"39607": ok, "39608": found}
    assert journal.credited("place", exclude=ok) == {"39608": found}


def test_version_1_journal_is_migrated(journal_path: Path) -> None:
    journal_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(journal_path)
    conn.executescript(
        """
        CREATE TABLE journal (
            id INTEGER PRIMARY KEY AUTOINCREMENT, intent TEXT NOT NULL, tr_id TEXT NOT NULL,
            method TEXT NOT NULL, path TEXT NOT NULL, request TEXT NOT NULL,
            outcome TEXT NOT NULL, msg_cd TEXT NOT NULL DEFAULT '',
            msg1 TEXT NOT NULL DEFAULT '', gt_uid TEXT NOT NULL DEFAULT '',
            rt_cd TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '{}',
            error TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, completed_at TEXT,
            pid INTEGER NOT NULL, account TEXT NOT NULL DEFAULT '',
            reference TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT ''
        );
        INSERT INTO journal (intent, tr_id, method, path, request, outcome, created_at, pid)
        VALUES ('place', 'CTSC0008U', 'POST', '/x', '{}', 'pending',
                '2026-01-01T00:00:00.000000+00:00', 1);
        PRAGMA user_version = 1;
        """
    )
    conn.close()
    with OrderJournal(journal_path) as j:
        (entry,) = j.pending()
        assert entry.sent_at is None and entry.last_sent_at == entry.created_at
        assert entry.label == ""  # version 3: an old entry has no label
        j.mark_sent(entry.id)
        assert j.get(entry.id).sent_at is not None
    conn = sqlite3.connect(journal_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_label_names_who_asked(tmp_path: Path) -> None:
    """The manager finds the entries of its own place by label (issue #18, finding 4)."""
    with OrderJournal(tmp_path / "j.sqlite3") as j:
        a = j.record_intent(
            intent="place", tr_id="CTSC0008U", method="POST", path="/x", request={}, label="m:a"
        )
        j.record_intent(intent="place", tr_id="CTSC0008U", method="POST", path="/x", request={})
        assert [e.id for e in j.labelled("m:a")] == [a]
        assert j.get(a).label == "m:a"
        assert j.labelled("m:b") == []


def test_continuation_keys_are_masked() -> None:
    masked = mask_request({"CTX_AREA_FK200": "12345678!^01!^", "ctx_area_nk200": "  "})
    assert masked == {"CTX_AREA_FK200": "***", "ctx_area_nk200": "  "}
