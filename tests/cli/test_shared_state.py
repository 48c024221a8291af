"""CLI side of issue #9: a Redis that does not answer stops a command before KIS sees anything;
``config check`` reports the shared state and how to set the rate of a new key."""

from __future__ import annotations

import json
from pathlib import Path

from stock_manager.emulator import ServedEmulator
from tests.adapters.broker.kis._redis import (  # noqa: F401  (fixtures)
    RedisServer,
    redis_server_fixture,
    redis_session_fixture,
)

from .conftest import kis_env, run_cli, run_many


def test_unreachable_redis_exits_2_naming_the_host_and_sends_nothing(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    env = kis_env(emu, tmp_path)
    env["KIS_SHARED_STATE"] = "redis://:pw-do-not-print@127.0.0.1:1/0"
    before = len(emu.requests)
    listed, status, checked = run_many(
        [["resv", "list"], ["token", "status"], ["--json", "config", "check"]], env
    )
    for r in (listed, status):
        assert r.code == 2, r
        assert "127.0.0.1:1" in r.err
    assert checked.code == 2
    problems = json.loads(checked.out)["problems"]
    assert any("127.0.0.1:1" in p for p in problems)
    for r in (listed, status, checked):
        assert "pw-do-not-print" not in r.out + r.err
    assert len(emu.requests) == before  # nothing reached the (emulated) KIS


def test_config_check_reports_shared_state_and_new_key_rate(
    emu: ServedEmulator, tmp_path: Path, redis_server: RedisServer
) -> None:
    env = kis_env(emu, tmp_path)
    file_check = run_cli("--json", "config", "check", env=env)
    redis_check = run_cli(
        "--json", "config", "check", env={**env, "KIS_SHARED_STATE": redis_server.url}
    )
    slow = run_cli("--json", "config", "check", env={**env, "KIS_RATE_LIMIT": "3"})
    data = json.loads(file_check.out)
    assert data["settings"]["shared_state"] == "file"
    assert any("KIS_RATE_LIMIT=3" in w for w in data["warnings"])
    redis_data = json.loads(redis_check.out)
    assert redis_check.code == 0, redis_check
    assert "reachable" in redis_data["settings"]["shared_state"]
    assert not any("KIS_RATE_LIMIT=3" in w for w in json.loads(slow.out)["warnings"])


def test_token_cache_path_problem_is_a_config_check_problem(
    emu: ServedEmulator, tmp_path: Path
) -> None:
    env = kis_env(emu, tmp_path)
    (tmp_path / "tokens").write_text("a file where the folder goes")
    checked = run_cli("--json", "config", "check", env=env)
    assert checked.code == 2
    assert any(str(tmp_path / "tokens") in p for p in json.loads(checked.out)["problems"])
    listed = run_cli("resv", "list", env=env)  # the command itself still works (in memory)
    assert listed.code == 0, listed
    assert str(tmp_path / "tokens") in listed.err  # said once, as a warning
