"""Issue #22, items 12 and 13 on a real terminal: the long waits' status lines under a pty.

The pipe versions are in ``test_long_waits.py``. Here the command runs with stdin, stdout and
stderr on a pseudo-terminal (``pty.openpty``) sized with ``TIOCSWINSZ`` and ``TERM=xterm-256color``,
as a person's shell runs it; Ctrl-C is a SIGINT to the child. What the terminal *shows* is
worked out from the byte stream with :func:`tests.cli.test_daily_edges.rendered` (carriage
return, newline, cursor up, erase line), so a status redrawn in place counts once and a line
printed again counts twice.

Every wait here is a bounded poll of a condition (no timed lock/event wait: under libfaketime one
may never time out, see the session note).
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

from stock_manager.emulator import ServedEmulator
from tests.manager.week import SPEC

from .conftest import kis_env, run_cli
from .test_daily_edges import rendered
from .test_long_waits import before_the_window, place_with_unknown_outcome
from .test_manager import order_requests, wemu  # noqa: F401  (fixture)

COLS, ROWS = 100, 40


class Terminal:
    """``stock-manager ARGS`` on a pseudo-terminal; collects everything it writes."""

    def __init__(self, args: tuple[str, ...], env: dict[str, str], cwd: Path) -> None:
        main, sub = pty.openpty()
        fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        # A person's terminal: no NO_COLOR, no COLUMNS (the pty's size decides).
        tty_env = {k: v for k, v in env.items() if k not in ("NO_COLOR", "COLUMNS")}
        tty_env["TERM"] = "xterm-256color"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stock_manager.cli", *args],
            env=tty_env,
            cwd=cwd,
            stdin=sub,
            stdout=sub,
            stderr=sub,
        )
        os.close(sub)
        self._main = main
        self._data = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._main, 65536)
            except OSError:  # EIO: the child closed the terminal (it exited)
                return
            if not chunk:
                return
            with self._lock:
                self._data += chunk

    @property
    def raw(self) -> str:
        """Every byte written so far, decoded."""
        with self._lock:
            return self._data.decode("utf-8", "replace")

    def screen(self) -> list[str]:
        """The terminal's non-blank lines now."""
        return rendered(self.raw)

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the command."""
        self.proc.send_signal(signal.SIGINT)

    def finish(self, seconds: float = 60) -> int:
        """Wait for the command to exit (killed after ``seconds``); its exit code."""
        try:
            until(lambda: self.proc.poll() is not None, seconds)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            until(lambda: not self._reader.is_alive(), 10)
            os.close(self._main)
        return self.proc.returncode


def until(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll ``condition`` every 0.05 s for about ``seconds``; whether it became true.

    Counted in sleeps, not against a deadline of a clock (the suite also runs under faketime).
    """
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def showing(term: Terminal, text: str) -> Callable[[], bool]:
    return lambda: any(text in line for line in term.screen())


# --- item 13: reconcile --pending --wait -----------------------------------------------------
def test_reconcile_wait_redraws_one_status_line_on_a_terminal(
    emu: ServedEmulator, home: Path
) -> None:
    """The "checking again at …" status is one line rewritten in place, not a line per poll."""
    env, listings = place_with_unknown_outcome(emu, home)  # --settle 14: two rounds
    term = Terminal(("resv", "reconcile", "--pending", "--wait", "--settle", "14"), env, home)
    status = "outcome(s) not known yet; checking again at"
    try:
        assert until(showing(term, status), 60), term.raw
        seen = [ln for ln in term.screen() if status in ln]
        assert len(seen) == 1, seen
        # Wait into the second round: the same status is still one line on the screen.
        assert until(lambda: emu.requests.count(name="order-resv-ccnl") - listings >= 2, 60)
        assert len([ln for ln in term.screen() if status in ln]) <= 1, term.screen()
    finally:
        code = term.finish(90)
    raw = term.raw
    assert code == 0, raw
    assert emu.requests.count(name="order-resv-ccnl") - listings >= 3  # first + 2 rounds
    # Drawn many times (a spinner redraws it in place: carriage return / erase line) ...
    assert raw.count(status) >= 2, raw
    assert "\r" in raw and "\x1b[2K" in raw, repr(raw)
    # ... yet never two lines of it on the screen, and gone once the wait ended.
    assert not [ln for ln in term.screen() if status in ln], term.screen()
    assert "warning: 1 outcome(s) not known yet" not in raw  # the pipe's form is not used
    assert "Traceback" not in raw


# --- item 12: apply --wait, and Ctrl-C ---------------------------------------------------------
def test_apply_wait_shows_until_when_and_ctrl_c_says_nothing_was_sent(home: Path) -> None:
    """Outside the window: the status names the opening (15:40 KST); Ctrl-C exits 130 with
    "nothing was sent"."""
    with before_the_window(home) as (early, env, spec):
        sent = order_requests(early)
        term = Terminal(("resv", "apply", str(spec), "--wait", "--yes"), env, home)
        try:
            waiting = "waiting until 2026-12-07 15:40 KST for the reservation entry window"
            assert until(showing(term, waiting), 60), term.raw
            term.interrupt()
        finally:
            code = term.finish()
        screen, raw = term.screen(), term.raw
        assert code == 130, raw
        assert "Traceback" not in raw
        text = "\n".join(screen)
        assert (
            "interrupted before the window opened (2026-12-07 15:40 KST): nothing was sent" in text
        ), screen
        assert "error: interrupted: 0 change(s) made, the rest not applied" in text, screen
        assert not [ln for ln in screen if "waiting until" in ln], screen  # the status is gone
        assert order_requests(early) == sent


def test_apply_ctrl_c_after_some_were_sent_names_done_and_not_done(
    wemu: ServedEmulator,  # noqa: F811  (the week's emulator, Monday 16:00)
    home: Path,
) -> None:
    """Ctrl-C while the second of three places is on its way: the summary names the one done,
    the one whose outcome is unknown (journaled) and the one never sent; exit 130."""
    env = kis_env(wemu, home)
    spec = home / "standing.toml"
    spec.write_text(SPEC, encoding="utf-8")
    # The second place waits 30 s in the emulator (it commits afterwards, as KIS would).
    slow = wemu.faults.add("order-resv", "delay", attempts=2, seconds=30)
    term = Terminal(("resv", "apply", str(spec), "--yes"), env, home)
    try:
        assert until(lambda: slow.fired == 1, 60), term.raw  # the second place is in flight
        term.interrupt()
    finally:
        code = term.finish()
    screen, raw = term.screen(), term.raw
    text = "\n".join(screen)
    assert code == 130, raw
    assert "Traceback" not in raw
    assert wemu.requests.count(name="order-resv") == 1  # only the first was answered
    assert "done: place samsung-dip" in text, screen
    assert "interrupted: place hynix-add: outcome unknown" in text, screen
    assert "not started: place naver-trim" in text, screen
    assert "error: interrupted: 1 change(s) made, the rest not applied" in text, screen
    # The journal agrees: one place done, the one in flight pending/unknown, none for naver.
    journal = run_cli("journal", "--json", env=env)
    assert journal.code == 0, journal
    assert journal.out.count('"intent": "place"') == 2, journal.out
