"""``emulator serve`` / ``python -m stock_manager.emulator`` options for clock and calendar."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import date, datetime

import pytest

from stock_manager.emulator import KST, EmulatorConfig
from stock_manager.emulator.server import ServedEmulator, banner


@pytest.mark.parametrize(
    ("cmd", "needle"),
    [
        (["-m", "stock_manager.emulator", "--clock", "tomorrow"], "not an ISO date-time"),
        (["-m", "stock_manager.emulator", "--closed-days", "2026-02-30"], "not a date"),
        (["-m", "stock_manager.emulator", "--token-lifetime", "0"], "--token-lifetime"),
        (["-m", "stock_manager.cli", "emulator", "serve", "--late-days", "x"], "not a date"),
        (["-m", "stock_manager.cli", "emulator", "serve", "--clock", "x"], "ISO date-time"),
    ],
)
def test_bad_values_fail_before_serving(cmd: list[str], needle: str) -> None:
    proc = subprocess.run(
        [sys.executable, *cmd, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "listening on" not in proc.stdout


def test_options_reach_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI maps --clock/--no-window/--closed-days/--late-days onto EmulatorConfig."""
    from typer.testing import CliRunner

    import stock_manager.emulator as emulator_pkg
    from stock_manager.cli.main import app

    seen: dict[str, object] = {}
    monkeypatch.setattr(emulator_pkg, "serve", lambda **kw: seen.update(kw))
    result = CliRunner().invoke(
        app,
        [
            "emulator",
            "serve",
            "--clock",
            "2026-12-01T16:00+09:00",
            "--no-window",
            "--closed-days",
            "2026-12-02,20261203",
            "--late-days",
            "2026-12-04",
            "--any-symbol",
            "--token-lifetime",
            "1209600",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen["any_symbol"] is True
    assert seen["token_lifetime_s"] == 1209600
    assert seen["start_at"] == datetime(2026, 12, 1, 16, 0, tzinfo=KST)
    assert seen["enforce_window"] is False
    assert seen["closed_days"] == (date(2026, 12, 2), date(2026, 12, 3))
    assert seen["late_days"] == (date(2026, 12, 4),)


def test_banner_shows_clock_and_window() -> None:
    cfg = EmulatorConfig.demo(start_at=datetime(2026, 12, 1, 16, 0, tzinfo=KST), window=False)
    emu = ServedEmulator(cfg, "127.0.0.1", 1)
    out = io.StringIO()
    banner(emu, out)
    assert "clock: 2026-12-01T16:00" in out.getvalue()
    assert "reservation window: off (--no-window)" in out.getvalue()
    assert "market: listed codes only; cash 100,000,000 won an account" in out.getvalue()
    assert "tokens live 86400 s" in out.getvalue()
    emu.close()


def test_key_option_parses_mode_accounts_and_budget() -> None:
    from stock_manager.emulator.config import parse_key

    k = parse_key("PSkey2:sec2:paper:11112222-01,33334444-01:new")
    assert (k.app_key, k.app_secret, k.mode) == ("PSkey2", "sec2", "paper")
    assert k.accounts == ("11112222-01", "33334444-01")
    assert k.new_key and k.rate_limit == 2  # a paper key's 2/s is already below a new key's 3/s
    assert parse_key("PSkey5:sec5:real::new").rate_limit == 3
    plain = parse_key("PSkey3:sec3")
    assert (plain.mode, plain.accounts, plain.rate_limit) == ("real", (), 20)
    assert parse_key("PSkey4:sec4:real::0").rate_limit == 0
    for bad in ("nokey", "k:s:demo", "k:s:real:123:fast", "k:s:real:1234567801x"):
        with pytest.raises(ValueError, match="--key"):
            parse_key(bad)


def test_served_extra_key_has_its_own_mode_over_a_real_socket() -> None:
    """`emulator serve --key` (a subprocess): the extra paper key is refused on the real host."""
    import os
    import re
    import time

    import httpx

    proc = subprocess.Popen(
        [
            sys.executable,
            *("-m", "stock_manager.cli", "emulator", "serve", "--port", "0"),
            *("--key", "PSextra2:secret2:paper", "--key", "PSextra3:secret3:real::new"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KIS_APP_KEY": "", "KIS_APP_SECRET": "", "KIS_ACCOUNT_NO": ""},
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Admin API" in line:
                break
        for _ in range(2):
            lines.append(proc.stdout.readline())
        text = "".join(lines)
        url = re.search(r"listening on (http://\S+)", text)
        assert url, text
        assert "also accepts app key PSextra2 (paper" in text
        assert "also accepts app key PSextra3 (real; new key" in text
        with httpx.Client(base_url=url.group(1), timeout=10) as http:
            body = {"grant_type": "client_credentials"}
            paper = http.post(
                "/oauth2/tokenP", json={**body, "appkey": "PSextra2", "appsecret": "secret2"}
            )
            real = http.post(
                "/oauth2/tokenP", json={**body, "appkey": "PSextra3", "appsecret": "secret3"}
            )
        assert paper.status_code == 403 and paper.json()["error_code"] == "EGW02004"
        assert real.status_code == 200 and real.json()["access_token"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--account", "1234"], "--account"),
        (["--app-key", " "], "--app-key"),
        (["--app-secret", ""], "--app-secret"),
        (["--port", "70000"], "--port"),
        (["--state", "/nonexistent-dir/emu.sqlite3"], "--state"),
        (["--host", "no-such-host.invalid"], "--host"),
        (["--key", "only-a-key"], "--key"),
        (["--hts-id", "x" * 13], "--hts-id"),
        (["--mode", "live"], "--mode"),
        (["--closed-days", "2026-02-30"], "--closed-days"),
        (["--token-lifetime", "59"], "--token-lifetime"),
        (["--token-lifetime", "a-day"], "--token-lifetime"),
        (["--no-such-option"], "--no-such-option"),
    ],
)
def test_every_bad_serve_option_is_a_usage_error(args: list[str], option: str) -> None:
    """Issue #22 item 2: exit 2, one usage line naming the option, nothing served."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "stock_manager.cli", "emulator", "serve", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"emulator serve {args} was accepted and served")
    assert proc.returncode == 2, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert option in lines[0] and "emulator serve --help" in lines[0], lines[0]
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert "listening on" not in proc.stdout


def test_a_bad_account_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
    env["KIS_ACCOUNT_NO"] = "12"
    proc = subprocess.run(
        [sys.executable, "-m", "stock_manager.emulator", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert proc.returncode == 2 and "KIS_ACCOUNT_NO" in proc.stderr, proc
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "entry",
    [["-m", "stock_manager.emulator"], ["-m", "stock_manager.cli", "emulator", "serve"]],
    ids=["python-m", "stock-manager"],
)
def test_ctrl_c_stops_the_served_emulator_cleanly(entry: list[str]) -> None:
    """Ctrl-C is how a foreground emulator is stopped (the walkthrough says so): exit 0, no
    traceback, and it says it stopped."""
    import signal
    import threading
    import time

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
    proc = subprocess.Popen(
        [sys.executable, *entry, "--port", "0"],
        env=dict(env, PYTHONUNBUFFERED="1"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        # Polled with short sleeps, not a timed wait (libfaketime, see conftest).
        for _ in range(600):  # serving: its admin API answers
            assert proc.poll() is None, "".join(lines)
            url = lines[0].split("listening on ")[-1].strip() if lines else ""
            try:
                if url and httpx.get(f"{url}/_emulator/clock", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        for _ in range(600):
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        reader.join()
        output = "".join(lines)
        assert proc.returncode == 0, output
        assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
        assert output.rstrip().endswith("emulator stopped"), output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
