"""CLI behaviour that needs no emulator: help, usage errors, tr-id, config check, profiles,
and the safety rules against the real KIS host (dry-run, refusal without a terminal)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stock_manager.cli import _meta

from .conftest import run_cli, run_many

SECRET = "S3cr3t-never-print-me-0123456789"
ACCOUNT = "87654321-01"
APP_KEY = "PSTESTappkey0000000000000000000000000"


def creds(env: dict[str, str], account: str = ACCOUNT) -> dict[str, str]:
    """``env`` plus credentials (no base URL: the real KIS host)."""
    return {**env, "KIS_APP_KEY": APP_KEY, "KIS_APP_SECRET": SECRET, "KIS_ACCOUNT_NO": account}


def test_the_command_table_matches_the_modules() -> None:
    """The table the top level lists (and loads from) names every command's module, its help."""
    from typer.main import get_command

    from stock_manager.cli.app import app

    command = get_command(app)
    ctx = command.make_context(_meta.PROG, ["demo"], resilient_parsing=True)
    assert command.list_commands(ctx) == [name for name, _ in _meta.COMMANDS]  # type: ignore[attr-defined]
    assert sorted(_meta.MODULES) == sorted(_meta.COMMAND_HELP)
    for name, line in _meta.COMMANDS:
        loaded = command.get_command(ctx, name)  # type: ignore[attr-defined]
        assert loaded is not None and loaded.name == name, name
        assert loaded.help == line, name
    global_opts = {opt for p in command.params for opt in p.opts + p.secondary_opts}
    for shown, _ in _meta.GLOBAL_OPTIONS:
        for opt in re.findall(r"-{1,2}[a-z][a-z-]*", shown):
            assert opt in global_opts | {"-h", "--help"}, opt


def test_main_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, stock_manager.cli.main as m;"
        "print(sorted(x for x in ('typer','rich','httpx','pydantic','pydantic_settings')"
        " if x in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_help_everywhere(env: dict[str, str]) -> None:
    runs = [
        ["--help"],
        ["-h"],
        ["resv", "--help"],
        ["resv", "place", "--help"],
        ["resv", "cancel-all", "--help"],
        ["journal", "--help"],
        ["token", "--help"],
        ["tr-id", "--help"],
        ["config", "check", "--help"],
        ["emulator", "serve", "--help"],
        ["demo", "--help"],
    ]
    results = run_many(runs, env)
    for r in results:
        assert r.code == 0, r
        assert "Usage" in r.out, r
    top = results[0].out
    for name, _ in _meta.COMMANDS:
        assert name in top
    for option in ("--emulator", "--profile", "--json", "--debug", "--yes"):
        assert option in top
    assert results[1].out == top
    for sub in ("place", "list", "show", "modify", "cancel", "cancel-all", "reconcile"):
        assert sub in results[2].out
    for option in ("--qty", "--price", "--side", "--type", "--end-date", "--dry-run"):
        assert option in results[3].out


def test_a_missing_command_is_a_usage_error_and_version_is_there(env: dict[str, str]) -> None:
    """Issue #22 item 3: bare `stock-manager`/`stock-manager resv` exit 2, help on stderr."""
    bare, group, token, version, late_version = run_many(
        [[], ["resv"], ["token"], ["--version"], ["--json", "--version"]], env
    )
    for r, path in ((bare, "stock-manager"), (group, "stock-manager resv"), (token, "")):
        assert r.code == 2, r
        assert r.out == "", r
        assert "Usage" in r.err, r
        assert r.err.strip().splitlines()[-1].startswith("error: Missing command."), r
        assert f"'{path or 'stock-manager token'} --help'" in r.err, r
    assert "place" in group.err and "cancel-all" in group.err
    from stock_manager import __version__

    for r in (version, late_version):
        assert r.code == 0 and r.out == f"stock-manager {__version__}\n", r


def test_usage_errors_are_one_line_exit_2(env: dict[str, str]) -> None:
    results = run_many(
        [
            ["no-such-command"],
            ["resv", "place", "005930", "--qty", "1", "--side", "hold", "--price", "1"],
            ["resv", "place", "005930", "--qty", "ten", "--side", "buy"],
            ["resv", "list", "--status", "weird"],
            ["--debug", "resv", "list", "--from", "2026-02-30"],
        ],
        env,
    )
    for r in results[:4]:
        r.one_line_error(2)
    assert "hold" in results[1].err
    # --debug: the traceback comes first, the last line is still the one-line error.
    debug = results[4]
    assert debug.code == 2
    assert "Traceback" in debug.err
    assert debug.err.strip().splitlines()[-1].startswith("error: --from: '2026-02-30'")


def test_tr_id_needs_no_config(env: dict[str, str]) -> None:
    results = run_many(
        [
            ["tr-id", "v1_국내주식-018,019", "--action", "cancel"],
            ["tr-id", "v1_국내주식-018,019", "--action", "modify"],
            ["tr-id", "v1_국내주식-017"],
            ["tr-id", "v1_국내주식-003", "--paper"],
            ["--json", "tr-id", "v1_국내주식-020"],
            ["tr-id", "v1_국내주식-017", "--paper"],
            ["tr-id", "v1_국내주식-018,019"],
            ["tr-id", "v9_nothing"],
        ],
        env,
    )
    assert [r.out.strip() for r in results[:4]] == [
        "CTSC0009U",
        "CTSC0013U",
        "CTSC0008U",
        "VTTC0013U",
    ]
    assert all(r.code == 0 for r in results[:5])
    data = json.loads(results[4].out)
    assert data["tr_id"] == "CTSC0004R"
    assert data["method"] == "GET"
    assert "paper" in results[5].one_line_error(2).lower()
    line = results[6].one_line_error(2)
    assert "--action cancel" in line
    assert "--action modify" in line
    assert "unknown API ID 'v9_nothing'" in results[7].one_line_error(2)


def test_config_check(env: dict[str, str]) -> None:
    missing, missing_json = run_many([["config", "check"], ["--json", "config", "check"]], env)
    ok, ok_json = run_many([["config", "check"], ["config", "check", "--json"]], creds(env))
    bad_account, resv_bad_account = run_many(
        [["config", "check"], ["resv", "list"]], creds(env, account="1234")
    )
    assert missing.code == 2
    assert "KIS_APP_KEY" in missing.out
    assert json.loads(missing_json.out)["ok"] is False
    assert ok.code == 0, ok
    assert "configuration OK" in ok.out
    for r in (ok, ok_json, bad_account, resv_bad_account):
        assert SECRET not in r.out + r.err
        assert "87654321" not in r.out + r.err
    data = json.loads(ok_json.out)
    assert data["ok"] is True
    assert data["settings"]["app_secret"] == "set (hidden)"
    assert data["settings"]["account"] == "87****21-01"
    assert data["settings"]["host"] == "KIS server"
    assert bad_account.code == 2
    assert "KIS_ACCOUNT_NO" in bad_account.out
    assert "KIS_ACCOUNT_NO" in resv_bad_account.one_line_error(2)


def test_profiles(env: dict[str, str], home: Path) -> None:
    path = home / "config" / "stock-manager" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(
        f'[work]\napp_key = "{APP_KEY}"\napp_secret = "{SECRET}"\n'
        f'account_no = "{ACCOUNT}"\nbase_url = "http://127.0.0.1:9"\n'
        '[typo]\napp_kee = "x"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    ok, absent, typo = run_many(
        [
            ["--profile", "work", "--json", "config", "check"],
            ["--profile", "nope", "config", "check"],
            ["--profile", "typo", "config", "check"],
        ],
        env,
    )
    via_env = run_cli("config", "check", "--json", env={**env, "STOCK_MANAGER_PROFILE": "work"})
    data = json.loads(ok.out)
    assert data["ok"] is True, ok
    assert data["settings"]["app_key"].startswith("PSTE")
    assert data["settings"]["host"] == "emulator"
    assert SECRET not in ok.out + ok.err
    assert "work" in absent.one_line_error(2)
    assert "app_kee" in typo.one_line_error(2)
    assert json.loads(via_env.out)["ok"] is True


def test_profile_errors_name_the_profile_its_file_and_key(env: dict[str, str], home: Path) -> None:
    """Issue #22 item 4: not `kis_account_no (KIS_ACCOUNT_NO)` when a profile set it."""
    path = home / "config" / "stock-manager" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(
        f'[work]\napp_key = "{APP_KEY}"\napp_secret = "{SECRET}"\naccount_no = "1234"\n'
        'base_url = "http://127.0.0.1:9"\nrate_limit = -3\n'
        f'[noacct]\napp_key = "{APP_KEY}"\napp_secret = "{SECRET}"\n'
        'base_url = "http://127.0.0.1:9"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    listing, check, no_account = run_many(
        [
            ["--profile", "work", "resv", "list"],
            ["--profile", "work", "--json", "config", "check"],
            ["--profile", "noacct", "--json", "config", "check"],
        ],
        env,
    )
    line = listing.one_line_error(2)
    assert f"account_no in [work] of {path}" in line, line
    assert f"rate_limit in [work] of {path}" in line, line
    assert "KIS_ACCOUNT_NO" not in line and "kis_account_no" not in line, line
    problems = json.loads(check.out)["problems"]
    assert any(p.startswith(f"account_no in [work] of {path}") for p in problems), problems
    missing = json.loads(no_account.out)["problems"]
    assert any(f"account_no (set it in [noacct] of {path}" in p for p in missing), missing
    assert SECRET not in listing.err + check.out + no_account.out


def test_a_profile_sets_where_state_is_shared(env: dict[str, str], home: Path) -> None:
    """`shared_state` in a profile, as KIS_SHARED_STATE would set it; its password never shows."""
    password = "redis-pw-never-print-4242"
    path = home / "config" / "stock-manager" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(
        f'[hosts]\napp_key = "{APP_KEY}"\napp_secret = "{SECRET}"\n'
        f'base_url = "http://127.0.0.1:9"\nshared_state = "redis://:{password}@127.0.0.1:1/3"\n'
        f'[local]\napp_key = "{APP_KEY}"\napp_secret = "{SECRET}"\nshared_state = "file"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    hosts, local = run_many(
        [
            ["--profile", "hosts", "--json", "config", "check"],
            ["--profile", "local", "--json", "config", "check"],
        ],
        env,
    )
    data = json.loads(hosts.out)
    assert data["ok"] is False, hosts
    assert data["settings"]["shared_state"] == "redis://127.0.0.1:1/3"
    assert any("127.0.0.1" in p for p in data["problems"]), data
    assert password not in hosts.out + hosts.err
    assert json.loads(local.out)["settings"]["shared_state"] == "file"


def test_real_host_dry_run_and_refusal(env: dict[str, str]) -> None:
    """Against the real KIS host: --dry-run sends nothing; without a TTY and --yes: refuse."""
    real = creds(env)
    dry_place, dry_cancel, refused_cancel, refused_place = run_many(
        [
            [
                "resv",
                "place",
                "005930",
                "--qty",
                "1",
                "--side",
                "buy",
                "--price",
                "70000",
                "--dry-run",
                "--json",
            ],
            ["resv", "cancel", "123", "--dry-run"],
            ["resv", "cancel", "123"],
            ["resv", "place", "005930", "--qty", "1", "--side", "buy", "--price", "70000"],
        ],
        real,
    )
    assert dry_place.code == 0, dry_place
    data = json.loads(dry_place.out)
    [request] = data["requests"]
    assert request["method"] == "POST"
    assert (
        request["url"]
        == "https://openapi.koreainvestment.com:9443/uapi/domestic-stock/v1/trading/order-resv"
    )
    assert request["headers"]["appsecret"] == "***"
    assert request["body"]["PDNO"] == "005930"
    assert dry_cancel.code == 0
    assert "nothing was sent" in dry_cancel.out
    assert "CTSC0009U" in dry_cancel.out
    for r in (dry_place, dry_cancel, refused_cancel, refused_place):
        assert SECRET not in r.out + r.err
    for r in (refused_cancel, refused_place):
        line = r.one_line_error(2)
        assert "refusing" in line
        assert "--yes" in line


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_confirmation_prompt_on_a_terminal(env: dict[str, str]) -> None:
    """On a TTY the real host asks first; answering no sends nothing and exits 1."""
    import os
    import pty

    master, slave = pty.openpty()
    try:
        os.write(master, b"n\n")
        proc = subprocess.run(
            [sys.executable, "-m", "stock_manager.cli", "resv", "cancel", "123"],
            env=creds(env),
            cwd=env["HOME"],
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 1, proc
    assert "cancel reservation 123" in proc.stderr
    assert proc.stderr.rstrip().endswith("error: not confirmed; nothing was sent")


def test_resv_list_refuses_a_malformed_symbol_as_place_does(env: dict[str, str]) -> None:
    """Issue #22 item 9: however the option is spelt, before any network call."""
    offline = {**creds(env), "KIS_BASE_URL": "http://127.0.0.1:9"}
    spaced, joined, short, place = run_many(
        [
            ["resv", "list", "--symbol", "12"],
            ["resv", "list", "--symbol=12", "--json"],
            ["resv", "list", "-s", "12"],
            ["resv", "place", "12", "--qty", "1", "--side", "buy", "--price", "100"],
        ],
        offline,
    )
    reason = "symbol: must be a 6-character KRX code like 005930"
    assert reason in place.one_line_error(2)
    for r in (spaced, joined, short):
        line = r.one_line_error(2)
        assert reason in line and "could not reach" not in line, line
