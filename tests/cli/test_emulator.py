"""Every command against a real emulator (in this process, on 127.0.0.1), through the real
console-script code path in a subprocess."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from stock_manager.emulator import ServedEmulator

from .conftest import Result, base_env, kis_env, run_cli, run_many


def ok_json(result: Result) -> Any:
    """Assert success and parse stdout (which must be pure JSON)."""
    assert result.code == 0, result
    return json.loads(result.out)


def place(env: dict[str, str], symbol: str, price: str = "70000", qty: str = "10") -> str:
    data = ok_json(
        run_cli(
            "resv",
            "place",
            symbol,
            "--qty",
            qty,
            "--price",
            price,
            "--side",
            "buy",
            "--window",
            "ignore",
            "--json",
            env=env,
        )
    )
    assert data["msg_cd"] == "APBK2938"
    assert data["journal_id"] >= 1
    return str(data["seq"])


def test_lifecycle(emu_env: dict[str, str]) -> None:
    """place → list → show → modify → cancel → cancel-all → list → journal → reconcile."""
    first = place(emu_env, "005930")
    second = place(emu_env, "005930", price="71000")
    third = place(emu_env, "005930", price="72000")

    listed, shown, human_list = run_many(
        [
            ["--json", "resv", "list", "--symbol", "005930", "--status", "pending"],
            ["resv", "show", first, "--json"],
            ["resv", "list", "--symbol", "005930"],
        ],
        emu_env,
    )
    rows = ok_json(listed)
    assert {first, second, third} <= {r["seq"] for r in rows}
    assert all(r["status"] == "waiting" for r in rows)
    detail = ok_json(shown)
    assert detail["seq"] == first
    assert detail["symbol"] == "005930"
    assert detail["price"] in ("70000", "70000.0")
    assert detail["side"] == "02"
    assert human_list.code == 0
    assert first in human_list.out
    assert "waiting" in human_list.out

    modified = ok_json(run_cli("resv", "modify", first, "--price", "69500", "--json", env=emu_env))
    assert modified["result"]["action"] == "modify"
    assert modified["result"]["before"]["price"].startswith("70000")
    assert modified["after"]["price"].startswith("69500")
    assert modified["after"]["qty"] == modified["result"]["before"]["qty"] == 10

    human_modify = run_cli("resv", "modify", second, "--qty", "3", env=emu_env)
    assert human_modify.code == 0, human_modify
    assert "before" in human_modify.out
    assert "after" in human_modify.out

    cancelled = ok_json(run_cli("resv", "cancel", first, "--json", env=emu_env))
    assert cancelled["ok"] is True
    assert cancelled["msg_cd"] == "KIOK0430"

    bulk = run_cli("resv", "cancel-all", "--symbol", "005930", env=emu_env)
    assert bulk.code == 0, bulk
    assert "Bulk cancel" in bulk.out
    assert "2 cancelled, 0 failed" in bulk.out
    nothing = run_cli("resv", "cancel-all", "--symbol", "005930", "--json", env=emu_env)
    assert ok_json(nothing)["items"] == []

    final, journal, pending = run_many(
        [
            ["resv", "list", "--symbol", "005930", "--include-cancelled", "--json"],
            ["journal", "--json", "--limit", "50"],
            ["journal", "--pending"],
        ],
        emu_env,
    )
    statuses = {r["seq"]: r["status"] for r in ok_json(final)}
    assert statuses[first] == statuses[second] == statuses[third] == "cancelled"
    entries = ok_json(journal)
    intents = [e["intent"] for e in entries]
    assert {"place", "modify", "cancel"} <= set(intents)
    assert all(e["outcome"] == "ok" for e in entries)
    assert pending.code == 0
    assert "nothing pending" in pending.out  # not "the journal is empty" (issue #22)

    reconciled = ok_json(
        run_cli("resv", "reconcile", str(entries[-1]["id"]), "--json", env=emu_env)
    )
    assert reconciled[0]["entry_id"] == entries[-1]["id"]


def test_dry_run_sends_nothing(emu: ServedEmulator, tmp_path: Path) -> None:
    """--dry-run prints the exact request and sends nothing — not even a token request."""
    env = kis_env(emu, tmp_path)  # fresh token cache: a token request would show in the log
    before = len(emu.requests)
    results = run_many(
        [
            [
                "resv",
                "place",
                "000660",
                "--qty",
                "5",
                "--side",
                "buy",
                "--price",
                "180000",
                "--dry-run",
                "--json",
            ],
            ["resv", "modify", "39607", "--price", "1000", "--dry-run", "--json"],
            ["resv", "cancel", "39607", "--dry-run", "--json"],
            ["resv", "cancel-all", "--seq", "1", "--seq", "2", "--dry-run", "--json"],
            ["resv", "cancel", "39607", "--dry-run"],
        ],
        env,
    )
    assert len(emu.requests) == before
    assert not (tmp_path / "tokens").exists() or not any((tmp_path / "tokens").glob("*.json"))
    place_req, modify_req, cancel_req, bulk_req = (ok_json(r)["requests"] for r in results[:4])
    assert place_req[0]["url"] == emu.base_url + "/uapi/domestic-stock/v1/trading/order-resv"
    assert place_req[0]["tr_id"] == "CTSC0008U"
    assert place_req[0]["body"]["ORD_UNPR"] == "180000"
    assert modify_req[0]["tr_id"] == "CTSC0013U"
    assert modify_req[0]["body"]["ORD_UNPR"] == "1000"
    assert cancel_req[0]["tr_id"] == "CTSC0009U"
    assert [r["body"]["RSVN_ORD_SEQ"] for r in bulk_req] == ["1", "2"]
    for r in results[:5]:
        assert emu.config.app_secret not in r.out + r.err
        assert emu.config.account.split("-")[0] not in r.out
    for req in place_req + cancel_req:
        assert req["headers"]["appsecret"] == "***"
    assert "nothing was sent" in results[4].out


def test_bad_input_never_reaches_the_network(emu: ServedEmulator, emu_env: dict[str, str]) -> None:
    before = len(emu.requests)
    p = ["resv", "place", "005930", "--side", "buy"]
    results = run_many(
        [
            [*p, "--qty", "0", "--price", "70000"],
            [*p, "--qty", "1", "--type", "market", "--price", "70000"],
            [*p, "--qty", "1"],  # a limit order without a price
            [*p, "--qty", "1", "--price", "70000", "--end-date", "2026-99-01"],
            [*p, "--qty", "1", "--price", "abc"],
            ["resv", "place", "5930X", "--qty", "1", "--side", "buy", "--price", "1"],
            ["resv", "modify", "123"],
            ["resv", "show", "12ab"],
        ],
        emu_env,
    )
    bad_account = run_cli("resv", "list", env={**emu_env, "KIS_ACCOUNT_NO": "12-34"})
    assert len(emu.requests) == before
    for r in [*results, bad_account]:
        r.one_line_error(2)
    assert "qty" in results[0].err
    assert "market" in results[1].err
    assert "--end-date" in results[3].err
    assert "KIS_ACCOUNT_NO" in bad_account.err

    unknown = run_cli("resv", "show", "99999999", env=emu_env)
    assert "99999999" in unknown.one_line_error(2)
    gone = run_cli("resv", "cancel", "99999999", env=emu_env)
    gone.one_line_error(2)


def test_outcome_unknown_exits_3_and_reconciles(
    emu: ServedEmulator, emu_env: dict[str, str]
) -> None:
    """A reset after the order was processed: exit 3 and a reconcile hint that works."""
    emu.faults.add("order-resv", "reset_after")
    result = run_cli(
        "resv",
        "place",
        "035420",
        "--qty",
        "1",
        "--side",
        "buy",
        "--price",
        "200000",
        "--window",
        "ignore",
        env=emu_env,
    )
    line = result.one_line_error(3)
    assert "stock-manager resv reconcile" in line
    entry_id = line.rsplit(" ", 1)[-1]
    assert entry_id.isdigit(), line

    pending = ok_json(run_cli("journal", "--pending", "--json", env=emu_env))
    assert [e["id"] for e in pending] == [int(entry_id)]
    [outcome] = ok_json(run_cli("resv", "reconcile", entry_id, "--json", env=emu_env))
    assert outcome["applied"] is True
    assert outcome["reservation"]["symbol"] == "035420"
    assert ok_json(run_cli("journal", "--pending", "--json", env=emu_env)) == []
    everything = run_cli("resv", "reconcile", "--pending", env=emu_env)
    assert everything.code == 0, everything
    assert "nothing to reconcile" in everything.out
    run_cli("resv", "cancel-all", "--symbol", "035420", env=emu_env)


def test_token_status_and_revoke(emu: ServedEmulator, tmp_path: Path) -> None:
    env = kis_env(emu, tmp_path)
    empty = ok_json(run_cli("token", "status", "--json", env=env))
    assert empty["cached"] is False
    assert run_cli("resv", "list", env=env).code == 0  # issues a token
    status, human = run_many([["token", "status", "--json"], ["token", "status"]], env)
    info = ok_json(status)
    assert info["cached"] is True
    assert info["valid"] is True
    assert info["expires_in_s"] > 3600
    assert info["app_key"].endswith("…")
    [cache] = (tmp_path / "tokens").glob("*.json")
    token = json.loads(cache.read_text())["access_token"]
    for r in (status, human):
        assert token not in r.out + r.err
        assert emu.config.app_secret not in r.out + r.err
    assert "valid" in human.out
    assert ok_json(run_cli("token", "revoke", "--json", env=env)) == {"revoked": True}
    assert ok_json(run_cli("token", "status", "--json", env=env))["cached"] is False
    again = run_cli("token", "revoke", env=env)
    assert again.code == 0
    assert "nothing to revoke" in again.out


def test_demo(env: dict[str, str]) -> None:
    """`demo` needs no settings, exits 0, prints the lifecycle, and writes nothing in HOME."""
    human, machine = run_many([["demo"], ["--json", "demo"]], env)
    assert human.code == 0, human
    for text in (
        "Start the KIS emulator",
        "Issue an access token",
        "Place three reservations",
        "Modify 005930",
        "Bulk-cancel",
        "order journal",
        "A fill arrives live over the WebSocket",
        "filled: buy 10 x 005930",
        "done",
    ):
        assert text in human.out
    summary = ok_json(machine)
    assert len(summary["placed"]) == 3
    assert summary["tokens_issued"] == 1
    assert summary["modified"]["after"]["price"].startswith("69500")
    assert all(r["status"] == "cancelled" for r in summary["final"])
    assert [n["kind"] for n in summary["live_fill"]["notices"]] == ["accepted", "filled"]
    assert "Place three reservations" in machine.err  # human output moved to stderr
    assert sorted(p.name for p in Path(env["HOME"]).iterdir()) == []


def test_emulator_serve_and_the_emulator_option(home: Path) -> None:
    """`emulator serve` on a free port; `--emulator URL` points another command at it."""
    env = base_env(home)
    key, secret, account = "PSSERVEkey00000000000000000000000000", "serve-secret", "11112222-01"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stock_manager.cli",
            "emulator",
            "serve",
            "--port",
            "0",
            "--app-key",
            key,
            "--app-secret",
            secret,
            "--account",
            account,
            "--no-rate-limit",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        deadline = time.monotonic() + 30
        while not url and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "listening on" in line:
                url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), url
        client_env = {
            **env,
            "KIS_APP_KEY": key,
            "KIS_APP_SECRET": secret,
            "KIS_ACCOUNT_NO": account,
            "KIS_TOKEN_CACHE_DIR": str(home / "t"),
            "KIS_JOURNAL_PATH": str(home / "j.sqlite3"),
        }
        listed = run_cli("--emulator", url, "resv", "list", "--json", env=client_env)
        assert ok_json(listed) == []
        checked = ok_json(run_cli("--emulator", url, "--json", "config", "check", env=client_env))
        assert checked["settings"]["base_url"] == url
        assert checked["settings"]["host"] == "emulator"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def test_reconcile_too_early_exits_3_with_the_time_and_wait_gets_a_verdict(
    emu: ServedEmulator, emu_env: dict[str, str]
) -> None:
    """Finding 1 from the command line: no "not applied" inside the settle window."""
    env = {**emu_env, "KIS_READ_TIMEOUT": "0.5"}
    emu.faults.add("order-resv", "reset_before")  # never processed
    sent = emu.requests.count(name="order-resv")
    placed = run_cli(
        "resv", "place", "051910", "--qty", "2", "--side", "buy", "--price", "300000",
        "--window", "ignore", env=env,
    )  # fmt: skip
    entry_id = placed.one_line_error(3).rsplit(" ", 1)[-1]
    early = run_cli("resv", "reconcile", entry_id, env=env)
    line = early.one_line_error(3)
    assert re.search(r"ask again after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST", line), line
    assert "do NOT resend" in line
    assert [e["id"] for e in ok_json(run_cli("journal", "--pending", "--json", env=env))] == [
        int(entry_id)
    ]
    # --wait polls (inquiries only) until the settle window is over, then gives the verdict.
    waited = run_cli("resv", "reconcile", entry_id, "--wait", "--settle", "2", "--json", env=env)
    assert waited.code == 0, waited
    [verdict] = json.loads(waited.out)
    assert verdict["applied"] is False and verdict["entry_id"] == int(entry_id)
    assert emu.requests.count(name="order-resv") == sent + 1  # and nothing was re-sent


def test_the_emulator_is_a_market_for_the_cli(emu: ServedEmulator, emu_env: dict[str, str]) -> None:
    """Issue #22 items 21/24: a realistic price passes --strict; an unknown code is refused."""
    strict, unknown = run_many(
        [
            ["resv", "place", "005930", "--qty", "1", "--side", "buy", "--price", "69500",
             "--strict", "--json"],
            ["resv", "place", "999999", "--qty", "1", "--side", "buy", "--price", "69500"],
        ],
        emu_env,
    )  # fmt: skip
    assert strict.code == 0, strict
    band = next(f for f in json.loads(strict.out)["findings"] if f["check"] == "band")
    assert band["ok"] and band["numbers"]["base"] == 71000, band
    assert "APBK8023" in unknown.one_line_error(1)


def test_journal_times_are_kst_and_labelled(emu: ServedEmulator, tmp_path: Path) -> None:
    """Issue #22 item 19: one time zone (KST, labelled); an empty --pending says so."""
    from datetime import timedelta, timezone

    from stock_manager.journal import OrderJournal

    env = {**kis_env(emu, tmp_path), "TZ": "UTC"}  # the machine's zone is not KST
    empty = run_cli("journal", "--pending", env=env)
    assert empty.code == 0, empty
    assert "nothing pending" in empty.out and "the journal is empty" not in empty.out, empty
    placed = run_cli(
        "resv", "place", "005930", "--qty", "1", "--side", "buy", "--price", "69000", "--json",
        env=env,
    )  # fmt: skip
    assert placed.code == 0, placed
    journal_id = json.loads(placed.out)["journal_id"]
    shown, pending = run_many([["journal"], ["journal", "--pending"]], env)
    with OrderJournal(Path(env["KIS_JOURNAL_PATH"])) as jr:
        entry = next(e for e in jr.entries(limit=10) if e.id == journal_id)
    kst = entry.created_at.astimezone(timezone(timedelta(hours=9)))
    assert "created (KST)" in shown.out, shown
    assert kst.strftime("%Y-%m-%d %H:%M:%S") in shown.out, shown
    assert "nothing pending" in pending.out, pending
