"""Fixtures of the CLI tests: the real command in a subprocess, an emulator in this process.

Every test runs ``python -m stock_manager.cli ...`` (the console script's code path) with an
environment built from scratch: ``HOME``/``XDG_*`` and the working directory point into a temp
directory (so no user config, token, journal or ``.env`` is read or touched), no ``KIS_*``
variable leaks in from the outside, ``NO_COLOR`` is set and stdin is not a terminal.
"""

from __future__ import annotations

import faulthandler
import io
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from stock_manager.emulator.krx_calendar import start_inside_window


@dataclass(frozen=True)
class Result:
    """Exit code and output of one CLI run."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def one_line_error(self, code: int | None = None) -> str:
        """Assert the run failed with exactly one ``error:`` line on stderr; return it."""
        assert self.code != 0, self
        if code is not None:
            assert self.code == code, self
        # "warning: ..." lines (waiting out KIS's token minute, Redis lost) may come first.
        lines = [ln for ln in self.err.strip().splitlines() if not ln.startswith("warning: ")]
        assert len(lines) == 1, self
        assert lines[0].startswith("error: "), self
        return lines[0]


def base_env(home: Path) -> dict[str, str]:
    """A clean environment: no KIS_* settings, user directories inside ``home``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KIS_", "STOCK_MANAGER_", "XDG_", "COLUMNS"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_STATE_HOME=str(home / "state"),
        NO_COLOR="1",
        COLUMNS="200",
        PYTHONIOENCODING="utf-8",
    )
    return env


def run_cli(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 150
) -> Result:
    """Run ``stock-manager ARGS`` in a subprocess (stdin: /dev/null, i.e. not a TTY).

    ``timeout`` guards against a hung command; it is not a speed check. A command that outlives
    it is a bug: the guard makes it dump every thread's Python stack (``PYTHONFAULTHANDLER`` and
    SIGABRT), dumps this process's threads too (the in-process emulator), and fails with both.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "stock_manager.cli", *args],
        env=dict(env, PYTHONFAULTHANDLER="1"),
        cwd=cwd or Path(env["HOME"]),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        threads = _where_threads_wait(proc.pid)  # before the signal changes it
        proc.send_signal(signal.SIGABRT)  # faulthandler prints the child's stacks to stderr
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        here = io.StringIO()
        with tempfile.TemporaryFile("w+") as dump:
            faulthandler.dump_traceback(dump, all_threads=True)
            dump.seek(0)
            here.write(dump.read())
        pytest.fail(
            f"stock-manager {' '.join(args)} hung for {timeout} s\n"
            f"--- its stdout ---\n{out}\n--- its stderr (stacks) ---\n{err}\n"
            f"--- its threads in the kernel (comm, wchan, syscall) ---\n{threads}\n"
            f"--- this test process's threads ---\n{here.getvalue()}",
            pytrace=False,
        )
    return Result(tuple(args), proc.returncode, out, err)


def _where_threads_wait(pid: int) -> str:
    """Each thread's name, kernel wait channel and current syscall (Linux ``/proc``).

    Shown when a command hangs: a process stuck in C (a lock, a futex, a socket) or after
    Python's fault handler was switched off at exit prints no Python stack, but this still
    says where each thread waits.
    """
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        return "(no /proc here)"
    lines = []
    for task in sorted(tasks.iterdir(), key=lambda p: int(p.name)):
        fields = []
        for name in ("comm", "wchan", "syscall"):
            try:
                fields.append((task / name).read_text(errors="replace").strip())
            except OSError as exc:
                fields.append(f"({type(exc).__name__})")
        lines.append(f"{task.name}: " + " | ".join(fields))
    return "\n".join(lines)


def run_many(runs: Sequence[Sequence[str]], env: dict[str, str]) -> list[Result]:
    """Run independent invocations concurrently (start-up time dominates these tests)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda a: run_cli(*a, env=env), runs))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh, empty home directory (also the working directory of the CLI)."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """Clean environment without any KIS settings."""
    return base_env(home)


@pytest.fixture(scope="session")
def emu() -> Iterator[ServedEmulator]:
    """One emulator for the CLI tests: no rate limit, tokens may be re-issued at once."""
    # The clock starts inside the reservation window (the emulator enforces it like KIS).
    config = EmulatorConfig.demo(
        seed=20260715,
        rate_limit_per_s=None,
        token_issue_interval_s=0,
        start_at=start_inside_window(),
    )
    with run_emulator(config) as served:
        yield served


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home shared by the emulator tests, so that one token serves them all."""
    return tmp_path_factory.mktemp("cli-home")


def kis_env(emu: ServedEmulator, home: Path) -> dict[str, str]:
    """Clean environment pointing at ``emu`` with its credentials; cache/journal in ``home``."""
    env = base_env(home)
    cfg = emu.config
    env.update(
        KIS_BASE_URL=emu.base_url,
        KIS_APP_KEY=cfg.app_key,
        KIS_APP_SECRET=cfg.app_secret,
        KIS_ACCOUNT_NO=cfg.account,
        KIS_TOKEN_CACHE_DIR=str(home / "tokens"),
        KIS_JOURNAL_PATH=str(home / "journal.sqlite3"),
    )
    # One clock, as a rehearsal sets it: the CLI's starts where the emulator's stands (inside
    # the reservation window), so no command depends on the machine's time of day.
    env["STOCK_MANAGER_NOW"] = emu.clock.now().isoformat()
    return env


@pytest.fixture
def emu_env(emu: ServedEmulator, session_home: Path) -> dict[str, str]:
    """Environment for running the CLI against the session emulator."""
    return kis_env(emu, session_home)


def place_directly(
    emu: ServedEmulator,
    env: dict[str, str],
    symbol: str,
    side: str,
    lots: Sequence[tuple[int, int]],
) -> None:
    """Place ``(qty, price)`` reservations through the library, sharing the CLI's token cache."""
    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
    from stock_manager.adapters.broker.kis.rate_limit import RateLimiter
    from stock_manager.adapters.broker.kis.reservations import Reservations

    config = KISConfig(
        kis_app_key=emu.config.app_key,
        kis_app_secret=emu.config.app_secret,
        kis_account_no=emu.config.account,
        base_url=emu.base_url,
        token_cache_dir=Path(env["KIS_TOKEN_CACHE_DIR"]),
        journal=False,
    )
    with KISRestClient(config, limiter=RateLimiter(1e9, margin=0)) as client:
        resv = Reservations(client, window_policy="ignore")
        for qty, price in lots:
            resv.place_reservation(symbol, qty=qty, price=price, side=side)
