"""The new-user walkthrough (docs/walkthrough.md) executed end to end (issue #22, "Must show").

The page is the script: its ``console`` blocks are run step by step through the real command
line (subprocesses) in a fresh ``HOME`` whose ``~/.config/stock-manager/config.toml`` is the
page's ``toml`` block. ``$ export`` lines set the environment, ``$ curl`` lines go to the
emulator's admin API, ``$ stock-manager`` lines run with the exit code the page shows
(``# exit N``; none: 0) and the shown lines must appear in their output, in order. No output
may contain a traceback.

The emulator is started here, in this process, with the settings of the page's ``emulator
serve`` line (key, secret, account, clock) on a free port; its tokens live long, so moving its
clock a day does not make every command wait out KIS's one-token-a-minute rule.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx

from stock_manager.emulator import EmulatorConfig, run_emulator

from .conftest import base_env

PAGE = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.md"
DOC_URL = "http://127.0.0.1:8765"
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def _blocks(lang: str) -> list[str]:
    return [m.group(2) for m in _FENCE.finditer(PAGE.read_text("utf-8")) if m.group(1) == lang]


def _steps(block: str) -> list[tuple[str, list[str]]]:
    """``(command, shown lines)`` of a console block; ``\\``-continued lines joined."""
    steps: list[tuple[str, list[str]]] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.startswith("$ "):
            assert not line.strip() or steps, f"output before the first command: {line}"
            if line.strip():
                steps[-1][1].append(line)
            continue
        cmd = line[2:]
        while cmd.endswith("\\") and i < len(lines):
            cmd = cmd[:-1] + " " + lines[i].strip()
            i += 1
        steps.append((cmd, []))
    return steps


def _shown_in_order(shown: list[str], output: str, what: str) -> None:
    got = [" ".join(x.split()) for x in output.splitlines()]
    at = 0
    for line in shown:
        parts = re.split(r"\s*(?:\.\.\.|…)\s*", " ".join(line.split()))
        pattern = re.compile(".*".join(re.escape(p) for p in parts))
        while at < len(got) and not pattern.fullmatch(got[at]):
            at += 1
        assert at < len(got), f"`{what}` did not print (in order)\n  {line}\nIt printed:\n{output}"
        at += 1


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    serve, *console = [_steps(b) for b in _blocks("console")]
    [(serve_cmd, _)] = serve
    argv = shlex.split(serve_cmd)
    assert argv[:3] == ["stock-manager", "emulator", "serve"], argv
    opts = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert opts["--port"] == DOC_URL.rsplit(":", 1)[1]
    start = datetime.fromisoformat(opts["--clock"])
    config = EmulatorConfig(
        app_key=opts["--app-key"],
        app_secret=opts["--app-secret"],
        account=opts["--account"],
        rate_limit_per_s=None,
        token_issue_interval_s=0,
        token_lifetime_s=60 * 86400,
        clock=lambda: start,
    )
    home = tmp_path / "home"
    home.mkdir()
    with run_emulator(config) as emu:
        emu.clock.freeze(start)
        # A fresh HOME with the page's profile, private as the page says.
        [profile] = _blocks("toml")
        cfg = home / ".config" / "stock-manager" / "config.toml"
        cfg.parent.mkdir(parents=True)
        cfg.write_text(profile.replace(DOC_URL, emu.base_url), encoding="utf-8")
        cfg.chmod(0o600)
        env = {
            k: v
            for k, v in base_env(home).items()
            if not k.startswith("XDG_")  # the defaults under HOME, as for a new user
        }
        ran = 0
        for block in console:
            for cmd, shown in block:
                argv = shlex.split(cmd.replace(DOC_URL, emu.base_url), comments=True)
                if argv[0] == "export":
                    name, value = argv[1].split("=", 1)
                    env[name] = value
                    continue
                if argv[0] == "curl":
                    url = next(a for a in argv if a.startswith("http"))
                    body = argv[argv.index("-d") + 1]
                    answer = httpx.post(url, json=json.loads(body), timeout=30)
                    assert answer.status_code == 200, (cmd, answer.text)
                    continue
                assert argv[0] == "stock-manager", cmd
                expected = re.search(r"#\s*exit\s+(\d+)\s*$", cmd)
                proc = subprocess.run(
                    [sys.executable, "-m", "stock_manager.cli", *argv[1:]],
                    env=env,
                    cwd=home,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    encoding="utf-8",
                    timeout=60,
                    check=False,
                )
                output = proc.stdout + proc.stderr
                assert proc.returncode == (int(expected.group(1)) if expected else 0), (
                    cmd,
                    output,
                )
                assert "Traceback" not in output, (cmd, output)
                _shown_in_order(shown, output, cmd)
                ran += 1
    assert ran >= 12
    # The fresh HOME got the journal and the token where a new user's would be.
    assert (home / ".local" / "state" / "stock-manager" / "journal.sqlite3").exists()
