"""The reservation manager through the real command line, over a simulated week.

The emulator runs in this process with its window rules on and its clock frozen; every CLI run
gets the same instant through ``STOCK_MANAGER_NOW`` (time travel moves both).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from stock_manager.adapters.broker.kis.reservations.models import KST
from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from stock_manager.emulator.market import market_of
from tests.manager.week import ORDER_ENDPOINTS, SPEC

from .conftest import Result, kis_env, run_cli

MONDAY_EVENING = datetime(2026, 12, 7, 16, 0, tzinfo=KST)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-12-<day> hour:minute KST (a future week: see tests/manager/conftest.py)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=KST)


@pytest.fixture
def wemu() -> Iterator[ServedEmulator]:
    config = EmulatorConfig.demo(
        seed=1313,
        rate_limit_per_s=None,
        token_issue_interval_s=0,
        token_lifetime_s=60 * 86400,
        enforce_window=True,
        clock=lambda: MONDAY_EVENING,
    )
    with run_emulator(config) as served:
        served.clock.freeze(MONDAY_EVENING)
        # The week sells NAVER: the account holds it (the emulator rejects selling shares not held).
        market_of(served.state).set_holding(served.config.account, "035420", 100, 180000)
        yield served


@pytest.fixture
def week_env(wemu: ServedEmulator, home: Path) -> dict[str, str]:
    return kis_env(wemu, home)


@pytest.fixture
def spec_file(home: Path) -> Path:
    path = home / "standing.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def travel(emu: ServedEmulator, env: dict[str, str], when: datetime) -> None:
    """Move the emulator's clock and the CLI's to ``when``."""
    emu.clock.freeze(when)
    env["STOCK_MANAGER_NOW"] = when.isoformat()


def order_requests(emu: ServedEmulator) -> int:
    return sum(emu.requests.count(name=n) for n in ORDER_ENDPOINTS)


def cli(env: dict[str, str], *args: str) -> Result:
    return run_cli(*args, env=env)


def json_of(result: Result, code: int = 0) -> Any:
    assert result.code == code, result
    return json.loads(result.out)


def test_week_through_the_cli(
    wemu: ServedEmulator, week_env: dict[str, str], spec_file: Path, home: Path
) -> None:
    env = week_env
    travel(wemu, env, at(7, 16))

    # Monday evening: apply places three.
    first = json_of(cli(env, "resv", "apply", str(spec_file), "--json"))
    assert [r["action"] for r in first["results"]] == ["place"] * 3
    assert all(r["ok"] for r in first["results"])
    assert first["order_requests"] == 3
    assert order_requests(wemu) == 3
    seqs = {r["id"]: r["seq"] for r in first["results"]}

    # A second apply with nothing changed sends zero order requests.
    second = json_of(cli(env, "resv", "apply", str(spec_file), "--json"))
    assert second["order_requests"] == 0
    assert order_requests(wemu) == 3

    # Tuesday's processing: one filled, one partly filled, one rejected.
    wemu.clock.freeze(at(8, 7, 0))
    wemu.process_day(
        {
            seqs["samsung-dip"]: "filled",
            seqs["hynix-add"]: "partial",
            seqs["naver-trim"]: "rejected",
        }
    )

    # Tuesday morning: the report prints them with their fills and exits 4.
    travel(wemu, env, at(8, 8, 40))
    human = cli(env, "resv", "report")
    assert human.code == 4, human
    assert "filled" in human.out and "partial" in human.out and "rejected" in human.out
    assert "sent 2 · filled 1 · partly filled 1 · rejected 1" in human.out
    report = json_of(cli(env, "resv", "report", "--json"), code=4)
    rows = {r["seq"]: r for r in report["processed"]}
    hynix = rows[seqs["hynix-add"]]
    assert (hynix["state"], hynix["filled_qty"], hynix["remaining_qty"]) == ("partial", 5, 5)
    assert hynix["avg_price"] == "180000"
    assert rows[seqs["samsung-dip"]]["filled_qty"] == 10
    assert rows[seqs["naver-trim"]]["reason"]
    assert report["attention"] is True
    assert report["schema"] == 1

    # Outside the window apply refuses and names the next opening.
    travel(wemu, env, at(8, 10, 0))
    refused = cli(env, "resv", "apply", str(spec_file))
    line = refused.one_line_error(code=2)
    assert "2026-12-08 15:40" in line

    # cancel-order cancels the rest of the partial fill.
    cancelled = json_of(cli(env, "resv", "cancel-order", seqs["hynix-add"], "--json"))
    assert cancelled["qty"] == 5
    assert cancelled["journal_id"] >= 1
    journal = json_of(cli(env, "journal", "--json"))
    entries = journal if isinstance(journal, list) else journal.get("entries", [])
    assert any(e.get("intent") == "order-cancel" for e in entries), entries
    after = json_of(cli(env, "resv", "report", "--json"), code=4)
    hynix = next(r for r in after["processed"] if r["seq"] == seqs["hynix-add"])
    assert (hynix["remaining_qty"], hynix["cancelled_qty"]) == (0, 5)

    # Tuesday evening: only the partly filled one is renewed (for the unfilled 5).
    travel(wemu, env, at(8, 16, 0))
    before = order_requests(wemu)
    evening = json_of(cli(env, "resv", "apply", str(spec_file), "--json"))
    assert [(r["action"], r["id"]) for r in evening["results"]] == [("renew", "hynix-add")]
    assert order_requests(wemu) == before + 1
    renewed = next(i for i in evening["items"] if i["id"] == "hynix-add")
    assert renewed["qty"] == 5
    again = json_of(cli(env, "resv", "apply", str(spec_file), "--json"))
    assert again["order_requests"] == 0
    assert order_requests(wemu) == before + 1

    # Wednesday's processing fills the renewal.
    wemu.clock.freeze(at(9, 7, 0))
    assert [r["outcome"] for r in wemu.process_day()] == ["filled"]

    # A closed day is skipped: on Saturday the latest session is Friday's; a plan made on
    # Friday evening sends its orders on Monday.
    travel(wemu, env, at(12, 9, 0))
    saturday = json_of(cli(env, "resv", "report", "--json"), code=0)
    assert saturday["date"] == "2026-12-11"
    assert saturday["processed"] == []
    travel(wemu, env, at(11, 16, 0))
    friday_plan = json_of(cli(env, "resv", "plan", str(spec_file), "--json"))
    assert friday_plan["order_day"] == "2026-12-14"


def test_spec_errors_have_line_numbers(week_env: dict[str, str], home: Path) -> None:
    bad = home / "bad.toml"
    bad.write_text(
        '[[reservation]]\nid = "a"\nsymbol = "005930"\nside = "buy"\nqty = 10\nprice = 69000\n'
        '\n[[reservation]]\nid = "b"\nsymbol = "00593"\nside = "hold"\nqty = 1\n'
        '\n[[reservation]]\nid = "a"\nsymbol = "000660"\nside = "sell"\nqty = 1\nprice = 1\n'
        "colour = 3\n",
        encoding="utf-8",
    )
    result = cli(week_env, "resv", "plan", str(bad))
    assert result.code == 2, result
    err = result.err
    assert f"{bad}:10:1: reservation 'b': symbol:" in err
    assert f"{bad}:11:1: reservation 'b': side:" in err
    assert f"{bad}:15:1: reservation 'a': id 'a' is declared twice (first on line 2)" in err
    assert f"{bad}:20:1: reservation 'a': unknown key 'colour'" in err


# Every input of issue #18 finding 6, over three entries: (line, the message after "FILE:").
BAD_FILE = (
    'name = "book"\n'  # 1
    "\n"
    "[[reservation]]\n"  # 3
    'id = "a"\n'  # 4
    'symbol = "005930"\n'  # 5
    'side = "buy"\n'  # 6
    'qty = "1_0"\n'  # 7
    'price = "7_0000"\n'  # 8
    "\n"
    "[[reservation]]\n"  # 10
    'id = "b"\n'  # 11
    'symbol = "005930"\n'  # 12
    'side = "buy"\n'  # 13
    'qty = "10"\n'  # 14: accepted, as README documents
    'price = "７００００"\n'  # 15
    "\n"
    "[[reservation]]\n"  # 17
    'id = "c"\n'  # 18
    'symbol = "005930"\n'  # 19
    'side = "buy"\n'  # 20
    "qty = true\n"  # 21
    "price = 70000.0\n"  # 22
    "\n"
    "[[reservation]]\n"  # 24
    'id = "d"\n'  # 25
    'symbol = "005930"\n'  # 26
    'side = "buy"\n'  # 27
    "qty = -3\n"  # 28
    'price = "70000.0"\n'  # 29
    "\n"
    "[[reservation]]\n"  # 31
    'id = "e"\n'  # 32
    'symbol = "005930"\n'  # 33
    'side = "buy"\n'  # 34
    "qty = 1\n"  # 35
    'price = "1,0"\n'  # 36
    "\n"
    "[[reservation]]\n"  # 38
    'id = "f"\n'  # 39
    'symbol = "005930"\n'  # 40
    'side = "buy"\n'  # 41
    "qty = 1\n"  # 42
    "price = nan\n"  # 43
    "\n"
    "[[reservation]]\n"  # 45
    'id = "g"\n'  # 46
    'symbol = "005930"\n'  # 47
    'side = "buy"\n'  # 48
    "qty = 1\n"  # 49
    'price = "Infinity"\n'  # 50
    "days = -1\n"  # 51
)
DIGITS = "must be written with the digits 0-9 only (e.g. 1000 or 1,000)"
BAD_FILE_PROBLEMS = [
    f"7:1: reservation 'a': qty: a quantity {DIGITS}",
    f"8:1: reservation 'a': price: a price {DIGITS}",
    f"15:1: reservation 'b': price: a price {DIGITS}",
    "21:1: reservation 'c': qty: must be an int or a string of digits, not bool",
    "22:1: reservation 'c': price: give prices as int, str or Decimal, not float",
    "28:1: reservation 'd': qty: Input should be greater than 0",
    "29:1: reservation 'd': price: KRW prices are whole won",
    f"36:1: reservation 'e': price: a price {DIGITS}",
    "43:1: reservation 'f': price: give prices as int, str or Decimal, not float",
    f"50:1: reservation 'g': price: a price {DIGITS}",
    "51:1: reservation 'g': days must be a whole number of open days from 1 to 30, not -1",
]


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_every_problem_of_the_file_on_its_own_line_and_nothing_sent(
    wemu: ServedEmulator, week_env: dict[str, str], home: Path, command: str
) -> None:
    bad = home / "standing.toml"
    bad.write_text(BAD_FILE, encoding="utf-8")
    extra = ("--yes",) if command == "apply" else ()
    result = cli(week_env, "resv", command, str(bad), *extra)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert lines == [
        *(f"{bad}:{p}" for p in BAD_FILE_PROBLEMS),
        f"error: {bad}: {len(BAD_FILE_PROBLEMS)} problem(s); nothing was sent"
        " — fix them and run again",
    ], result.err
    assert len(wemu.requests.filter()) == 0  # not even a token: nothing left the machine


def test_cli_numbers_go_through_the_library_validators(
    wemu: ServedEmulator, week_env: dict[str, str]
) -> None:
    # --days was click's int(): "1_0" and "１０" were 10. modify-order's --price was Decimal():
    # "7_0000", "1,0" (read as 10) and full-width digits were numbers.
    place = ("resv", "place", "005930", "--side", "buy", "--price", "70000", "--qty", "1")
    for days in ("1_0", "１０", "0", "-1", "1.5"):
        line = cli(week_env, *place, "--days", days, "--dry-run").one_line_error(code=2)
        assert "days must be" in line, line
    for price in ("7_0000", "1,0", "７００００", "70000.0", "NaN", "Infinity"):
        result = cli(week_env, "resv", "modify-order", "39607", "--price", price, "--yes")
        assert "price:" in result.one_line_error(code=2), result
    assert order_requests(wemu) == 0
    # Plain digits pass the days rule (what happens next depends on the machine's date, which
    # `resv place` still reads: the calendar may not know a day 400 days ahead).
    ok = cli(week_env, *place, "--days", "3", "--dry-run", "--json")
    assert "days must be" not in ok.err and "digits" not in ok.err, ok


def test_kill_apply_midway_then_rerun_finishes_without_duplicates(
    wemu: ServedEmulator, week_env: dict[str, str], spec_file: Path
) -> None:
    env = week_env
    travel(wemu, env, at(7, 16))
    # The second place is committed by the emulator, then the connection hangs: the process
    # is killed while that request is out, its outcome unknown to it.
    wemu.faults.add("order-resv", "hang", 2, seconds=60, commit=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "stock_manager.cli", "resv", "apply", str(spec_file), "--json"],
        env=env,
        cwd=env["HOME"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(r.fault == "hang" for r in wemu.requests):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the hang was never reached"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    wemu.faults.clear()
    assert wemu.requests.count(name="order-resv") == 2
    assert len(wemu.state.reservations) == 2  # the killed run placed two

    travel(wemu, env, at(7, 16, 2))  # past the settle window of the interrupted place
    rerun = json_of(cli(env, "resv", "apply", str(spec_file), "--json"))
    assert any("adopted" in line for line in rerun["reconciled"]), rerun
    # ...and the journal entry the killed run left pending is settled from the book.
    assert any("(place): placed as reservation" in line for line in rerun["reconciled"]), rerun[
        "reconciled"
    ]
    journal = json_of(cli(env, "journal", "--pending", "--json"))
    pending = journal if isinstance(journal, list) else journal.get("entries", [])
    assert pending == [], pending
    assert [(r["action"], r["id"]) for r in rerun["results"]] == [("place", "naver-trim")]
    assert rerun["order_requests"] == 1
    symbols = sorted(r.pdno for r in wemu.state.reservations.values())
    assert symbols == ["000660", "005930", "035420"]  # one each: nothing placed twice
    final = json_of(cli(env, "resv", "apply", str(spec_file), "--json"))
    assert final["order_requests"] == 0


def test_report_notify(wemu: ServedEmulator, week_env: dict[str, str], spec_file: Path) -> None:
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    env = week_env
    travel(wemu, env, at(7, 16))
    json_of(cli(env, "resv", "apply", str(spec_file), "--json"))
    wemu.clock.freeze(at(8, 7, 0))
    wemu.process_day(default="filled")
    travel(wemu, env, at(8, 8, 40))
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ok = cli(env, "resv", "report", "--notify", f"http://127.0.0.1:{server.server_port}/h")
    finally:
        server.shutdown()
        server.server_close()
    assert ok.code == 0, ok
    assert len(received) == 1
    assert received[0]["text"].startswith("2026-12-08: sent 3 · filled 3")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    failed = cli(env, "resv", "report", "--notify", f"http://127.0.0.1:{dead}/h")
    assert failed.code == 0, failed  # a failed POST is reported, not fatal
    assert "notify failed" in failed.err


def test_report_keeps_identifiers_names_rejections_and_explains_dates(
    wemu: ServedEmulator, week_env: dict[str, str], spec_file: Path
) -> None:
    """Issue #22 items 16-18: the 120-column pipe width, --date on a closed or future day,
    and the webhook text naming what was rejected."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    env = {k: v for k, v in week_env.items() if k != "COLUMNS"}  # a pipe: 120 columns
    travel(wemu, env, at(7, 16))
    json_of(cli(env, "resv", "apply", str(spec_file), "--json"))
    # Monday evening, nothing processed yet: a future date lists the three as waiting.
    future = cli(env, "resv", "report", "--date", "2026-12-10")
    assert future.code == 0, future  # nothing "not processed" about a day still to come
    assert "2026-12-10 is in the future" in future.out, future
    assert "waiting 3" in future.out and "NOT PROCESSED" not in future.out, future
    samsung = min(wemu.state.reservations)
    wemu.clock.freeze(at(8, 7, 0))
    wemu.process_day(outcomes={str(samsung): "rejected"}, default="filled")
    travel(wemu, env, at(8, 8, 40))
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rep = cli(env, "resv", "report", "--notify", f"http://127.0.0.1:{server.server_port}/h")
    finally:
        server.shutdown()
        server.server_close()
    assert rep.code == 4, rep  # something was rejected
    assert max(len(line) for line in rep.out.splitlines()) <= 120, rep.out
    odnos = [o.odno for o in wemu.state.orders.values()]
    assert odnos and all(odno in rep.out for odno in odnos), rep.out
    assert "…" not in rep.out, rep.out
    reason = wemu.state.reservations[samsung].rjct_rson2
    assert f"{samsung} 005930 rejected: {reason}" in rep.out, rep.out
    text = received[0]["text"]
    assert f"rejected: {samsung} 005930 ({reason})" in text, text
    sunday = cli(env, "resv", "report", "--date", "2026-12-06")
    assert "2026-12-06 is not a KRX session" in sunday.out, sunday
