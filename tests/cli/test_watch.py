"""``stock-manager watch`` as a subprocess against the emulator: JSON lines on a pipe, the
summary on SIGINT, ``--notify`` to a local webhook, ``--symbol``, and bad input refused before
any connection."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from stock_manager.masking import mask_account
from tests.cli.conftest import kis_env, place_directly, run_cli

Doc = dict[str, Any]


class Watch:
    """A running ``stock-manager ... watch`` with its stdout lines collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stock_manager.cli", *args],
            env=env,
            cwd=env["HOME"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: list[Doc] = []
        self.err = ""
        self.signalled = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def wait_for(self, what: Callable[[list[Doc]], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not what(list(self.lines)):
            if self.proc.poll() is not None:
                self._reader.join(5)
                if what(list(self.lines)):
                    return
                pytest.fail(f"watch exited {self.proc.returncode}: {self.stderr()}; {self.lines}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out; lines so far: {self.lines}")
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20) -> int:
        if self.proc.poll() is None and not self.signalled:
            self.signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def signal(self, sig: int = signal.SIGINT) -> None:
        self.signalled = True
        self.proc.send_signal(sig)

    def stderr(self) -> str:
        if self.proc.poll() is not None and self.proc.stderr is not None and not self.err:
            self.err = self.proc.stderr.read()
        return self.err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def executions(lines: list[Doc], kind: str | None = None) -> list[Doc]:
    return [
        d
        for d in lines
        if d.get("type") == "ExecutionEvent" and (kind is None or d["kind"] == kind)
    ]


@pytest.fixture
def wemu() -> Iterator[ServedEmulator]:
    """An emulator of the test's own: no reservation window, no rate limit, fast PINGPONG."""
    config = EmulatorConfig.demo(
        rate_limit_per_s=None, token_issue_interval_s=0, window=False, ws_ping_interval_s=1.0
    )
    with run_emulator(config) as served:
        yield served


class Hook:
    """A local webhook (127.0.0.1) recording every JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[Doc] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                bodies.append(json.loads(self.rfile.read(size)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()
    h.server.server_close()


def test_pipe_gets_json_lines_notify_posts_fills_and_sigint_prints_summary(
    wemu: ServedEmulator, tmp_path: Path, hook: Hook
) -> None:
    env = kis_env(wemu, tmp_path)
    env["KIS_HTS_ID"] = wemu.hts_id
    place_directly(wemu, env, "005930", "buy", [(10, 70000), (3, 70000)])
    place_directly(wemu, env, "000660", "buy", [(5, 180000)])
    seqs = [r.seq for r in sorted(wemu.state.reservations.values(), key=lambda r: r.seq)]
    admin = f"{wemu.base_url}/_emulator"
    w = Watch(["watch", "--symbol", "005930", "--notify", hook.url], env)
    try:
        w.wait_for(lambda ls: any(d["type"] == "SubscriptionEvent" for d in ls))
        # The open: the first 005930 reservation becomes an open order, the second is
        # rejected, the 000660 one becomes an order too (filtered out by --symbol).
        outcomes = {seqs[0]: "unfilled", seqs[1]: "rejected", seqs[2]: "unfilled"}
        httpx.post(f"{admin}/process-day", json={"outcomes": outcomes}).raise_for_status()
        w.wait_for(lambda ls: bool(executions(ls, "accepted") and executions(ls, "rejected")))
        odno = executions(w.lines, "accepted")[0]["order_no"]
        httpx.post(f"{admin}/orders/fill", json={"odno": odno, "qty": 4, "price": 69900})
        w.wait_for(lambda ls: bool(executions(ls, "filled")))
        deadline = time.monotonic() + 10
        while len(hook.bodies) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        code = w.stop(signal.SIGINT)
    finally:
        w.kill()
    assert code == 0, w.stderr()
    lines = w.lines
    assert lines[0]["type"] == "Role" and lines[0]["role"] == "holder"
    assert {d["symbol"] for d in executions(lines)} == {"005930"}  # --symbol
    fill = executions(lines, "filled")[0]
    assert (fill["order_no"], fill["qty"], fill["price"], fill["source"]) == (odno, 4, 69900, "ws")
    assert [d["kind"] for d in executions(lines)] == ["accepted", "rejected", "filled"]
    summary = lines[-1]
    assert summary["type"] == "Summary"
    assert (summary["fills"], summary["filled_qty"], summary["notified"]) == (1, 4, 2)
    assert "summary: " in w.stderr()
    # The webhook: the rejection and the fill (not the acceptance), Slack-style text.
    assert [b["event"]["kind"] for b in hook.bodies] == ["rejected", "filled"]
    assert hook.bodies[1]["text"].startswith("filled: buy 4 x 005930")
    assert hook.bodies[1]["event"]["account"] == mask_account(wemu.config.account.replace("-", ""))
    # No secret and no unmasked identity anywhere.
    posted = json.dumps(hook.bodies, ensure_ascii=False)
    for text in (json.dumps(lines, ensure_ascii=False), posted, w.stderr()):
        for secret in (
            wemu.config.app_secret,
            wemu.config.account,
            wemu.config.account.replace("-", ""),
            wemu.hts_id,
        ):
            assert secret not in text
    assert "fields" not in posted


def test_bad_input_is_refused_before_any_connection(tmp_path: Path) -> None:
    """Nothing listens on the URL: each refusal must come before a connection is tried."""
    env = kis_env_offline(tmp_path)
    no_hts = run_cli("watch", env=env)
    assert "KIS_HTS_ID" in no_hts.one_line_error(2) + no_hts.err
    env["KIS_HTS_ID"] = "myhts01"
    assert "--symbol" in run_cli("watch", "--symbol", "5930", env=env).one_line_error(2)
    assert "--notify" in run_cli("watch", "--notify", "ftp://x", env=env).one_line_error(2)
    env["KIS_HTS_ID"] = "not an id!"
    assert "hts_id" in run_cli("watch", env=env).one_line_error(2).lower()


def kis_env_offline(home: Path) -> dict[str, str]:
    from tests.cli.conftest import base_env

    env = base_env(home)
    env.update(
        KIS_BASE_URL="http://127.0.0.1:9",  # discard port: a connection would fail loudly
        KIS_APP_KEY="PSabcdefghijklmnopqrstuvwxyz0123456",
        KIS_APP_SECRET="s" * 180,
        KIS_ACCOUNT_NO="12345678-01",
    )
    return env


def test_report_says_which_reservation_each_notice_belongs_to(tmp_path: Path) -> None:
    """Issue #20: the notices ``watch`` logged are tied to their reservations in ``resv report``
    (through the order each reservation became); a notice of an order no reservation made is
    listed as such, never put on a reservation."""
    from datetime import datetime

    from stock_manager.adapters.broker.kis.reservations.models import KST

    early = datetime(2026, 12, 8, 6, 0, tzinfo=KST)  # a Tuesday before the open: sent today
    config = EmulatorConfig.demo(
        rate_limit_per_s=None, token_issue_interval_s=0, window=False, ws_ping_interval_s=1.0
    )
    with run_emulator(config) as emu:
        emu.clock.freeze(early)
        env = kis_env(emu, tmp_path)
        env["KIS_HTS_ID"] = emu.hts_id
        place_directly(emu, env, "005930", "buy", [(10, 70000)])
        place_directly(emu, env, "000660", "buy", [(5, 180000)])
        seqs = [r.seq for r in sorted(emu.state.reservations.values(), key=lambda r: r.seq)]
        admin = f"{emu.base_url}/_emulator"
        w = Watch(["watch", "--json"], env)
        try:
            w.wait_for(lambda ls: any(d["type"] == "SubscriptionEvent" for d in ls))
            outcomes = {str(seqs[0]): "unfilled", str(seqs[1]): "rejected"}
            httpx.post(f"{admin}/process-day", json={"outcomes": outcomes}).raise_for_status()
            w.wait_for(lambda ls: bool(executions(ls, "accepted") and executions(ls, "rejected")))
            odno = executions(w.lines, "accepted")[0]["order_no"]
            httpx.post(f"{admin}/orders/fill", json={"odno": odno, "qty": 4, "price": 69900})
            w.wait_for(lambda ls: bool(executions(ls, "filled")))
            assert w.stop(signal.SIGINT) == 0, w.stderr()
        finally:
            w.kill()
        env["STOCK_MANAGER_NOW"] = datetime(2026, 12, 8, 9, 0, tzinfo=KST).isoformat()
        emu.clock.freeze(datetime(2026, 12, 8, 9, 0, tzinfo=KST))
        result = run_cli("resv", "report", "--date", "2026-12-08", "--json", env=env)
        assert result.code in (0, 4), result
        doc = json.loads(result.out)
        rows = {r["seq"]: r for r in doc["processed"]}
        samsung = rows[str(seqs[0])]
        assert [(n["kind"], n["order_no"]) for n in samsung["notices"]] == [
            ("accepted", samsung["odno"]),
            ("filled", samsung["odno"]),
        ]
        assert samsung["notices"][1]["qty"] == 4 and samsung["notices"][1]["source"] == "ws"
        # The rejection made no order: its notice names none, and is tied to the one rejected
        # reservation with its symbol, side, quantity and price.
        assert executions(w.lines, "rejected")
        hynix = rows[str(seqs[1])]
        assert [n["kind"] for n in hynix["notices"]] == ["rejected"]
        assert doc["unlinked_notices"] == []
        human = run_cli("resv", "report", "--date", "2026-12-08", env=env)
        assert f"{seqs[0]} notices: accepted" in human.out, human
