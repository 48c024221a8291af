"""The new-user walkthrough (docs/walkthrough.md) executed end to end (issue #22, "Must show").

The page is the script: its ``console`` blocks are run step by step through the real command
line (subprocesses) in a fresh ``HOME`` whose ``~/.config/stock-manager/config.toml`` is the
page's ``toml`` block. ``$ export`` lines set the environment, ``$ curl`` lines go to the
emulator's admin API, ``$ stock-manager`` lines run with the exit code the page shows
(``# exit N``; none: 0) and the shown lines must appear in their output, in order. No output
may contain a traceback.

The emulator is the page's own ``stock-manager emulator serve`` line, run as written in a
subprocess (only ``--port`` becomes 0, a free port: other test runs share the machine). Its
banner says where it listens and what to export; the page's profile must agree with it. The
served emulator keeps KIS's one issuance a minute per app key; the page's ``--token-lifetime``
lets its one token outlive the week's clock moves, so no command waits out that minute. At
the end the emulator is stopped as the user would stop it, with Ctrl-C (SIGINT): it exits 0,
says it stopped and prints no traceback.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

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


@contextmanager
def _served(
    argv: list[str], env: dict[str, str]
) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    """Run ``stock-manager emulator serve ...`` (argv) until Ctrl-C; yield (URL, exports, output).

    The output is read by a thread (so the pipe never fills) into a list; waits are polled
    with short sleeps, never a timed wait on a lock or event (libfaketime, see conftest).
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "stock_manager.cli", *argv[1:]],
        env=dict(env, PYTHONUNBUFFERED="1"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        exports: dict[str, str] = {}
        for _ in range(600):  # the banner, then the socket answering (~30 s at most)
            banner = list(lines)
            exports = dict(
                shlex.split(x.strip().removeprefix("export "))[0].split("=", 1)
                for x in banner
                if x.strip().startswith("export KIS_")
            )
            if "KIS_BASE_URL" in exports and exports.get("KIS_HTS_ID"):
                try:
                    httpx.get(f"{exports['KIS_BASE_URL']}/_emulator/clock", timeout=5)
                except httpx.TransportError:
                    pass
                else:
                    break
            assert proc.poll() is None, f"the emulator exited {proc.returncode}:\n{''.join(lines)}"
            time.sleep(0.05)
        else:
            raise AssertionError(f"the emulator did not answer:\n{''.join(lines)}")
        url = exports["KIS_BASE_URL"]
        assert f"listening on {url}" in banner[0], banner
        yield url, exports, lines
        proc.send_signal(signal.SIGINT)  # Ctrl-C, as the page says
        for _ in range(600):
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        reader.join()  # the pipe is closed once the process has exited: no timeout needed
        output = "".join(lines)
        assert proc.returncode == 0, f"Ctrl-C: exit {proc.returncode}\n{output}"
        assert "Traceback" not in output, output
        assert output.rstrip().endswith("emulator stopped"), output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    serve, *console = [_steps(b) for b in _blocks("console")]
    [(serve_cmd, shown_banner)] = serve
    argv = shlex.split(serve_cmd)
    assert argv[:3] == ["stock-manager", "emulator", "serve"], argv
    opts = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert opts["--port"] == DOC_URL.rsplit(":", 1)[1]
    argv[argv.index("--port") + 1] = "0"
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in base_env(home).items()
        if not k.startswith("XDG_")  # the defaults under HOME, as for a new user
    }
    with _served(argv, env) as (url, exports, banner):
        _shown_in_order([x.replace(DOC_URL, url) for x in shown_banner], "".join(banner), serve_cmd)
        # A fresh HOME with the page's profile, private as the page says; it is the banner's.
        [profile] = _blocks("toml")
        assert f'base_url = "{DOC_URL}"' in profile
        for key, name in (
            ("app_key", "KIS_APP_KEY"),
            ("app_secret", "KIS_APP_SECRET"),
            ("account_no", "KIS_ACCOUNT_NO"),
        ):
            assert f'{key} = "{exports[name]}"' in profile, (key, exports)
        cfg = home / ".config" / "stock-manager" / "config.toml"
        cfg.parent.mkdir(parents=True)
        cfg.write_text(profile.replace(DOC_URL, url), encoding="utf-8")
        cfg.chmod(0o600)
        ran = 0
        for block in console:
            for cmd, shown in block:
                argv = shlex.split(cmd.replace(DOC_URL, url), comments=True)
                if argv[0] == "export":
                    name, value = argv[1].split("=", 1)
                    env[name] = value
                    continue
                if argv[0] == "curl":
                    target = next(a for a in argv if a.startswith("http"))
                    body = argv[argv.index("-d") + 1]
                    answer = httpx.post(target, json=json.loads(body), timeout=30)
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
                    timeout=150,
                    check=False,
                )
                output = proc.stdout + proc.stderr
                assert proc.returncode == (int(expected.group(1)) if expected else 0), (
                    cmd,
                    output,
                )
                assert "Traceback" not in output, (cmd, output)
                # One token for the week (--token-lifetime): no command waits out KIS's minute.
                assert "before issuing a token" not in output, (cmd, output)
                _shown_in_order(shown, output, cmd)
                ran += 1
        # The page says so: the whole week ran on the one token a fresh HOME issued.
        assert httpx.get(f"{url}/_emulator/state", timeout=30).json()["tokens"] == 1
    assert ran >= 12
    # The fresh HOME got the journal and the token where a new user's would be.
    assert (home / ".local" / "state" / "stock-manager" / "journal.sqlite3").exists()
