"""Help, as a person sees it: on a real terminal (a pty) at 80 and 120 columns, in colour.

Every help screen (the top level and every command) is started under ``pty.openpty()`` with the
window size set, ``TERM=xterm-256color``, and neither ``NO_COLOR`` nor ``COLUMNS``: the width and
the colours are the terminal's. No visible line may be wider than the terminal, colour must be
there, and every help text must be shown as written (rich markup must not eat ``[...]``).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from typer.main import get_command

from stock_manager.cli import _meta
from stock_manager.cli.app import app

from .conftest import base_env, run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Environment variables with which rich or typer would not ask the terminal.
_OVERRIDES = (
    "NO_COLOR",
    "COLUMNS",
    "LINES",
    "FORCE_COLOR",
    "PY_COLORS",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "TERMINAL_WIDTH",
    "GITHUB_ACTIONS",
    "JUPYTER_COLUMNS",
    "_TYPER_FORCE_DISABLE_TERMINAL",
)


def _walk(command: Any, ctx: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            found += _walk(command.get_command(ctx, name), ctx, (*path, name))
    return found


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every command path (``()`` is the top level) and its click command."""
    root = get_command(app)
    with root.make_context(_meta.PROG, ["demo"], resilient_parsing=True) as ctx:
        return _walk(root, ctx, ())


COMMANDS = _commands()


def _terminal_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in base_env(home).items() if k not in _OVERRIDES}
    env["TERM"] = "xterm-256color"
    return env


def _on_a_pty(args: list[str], columns: int, env: dict[str, str]) -> tuple[int, str]:
    """Run ``stock-manager ARGS`` with stdin/stdout/stderr on a pty ``columns`` wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "stock_manager.cli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=env["HOME"],
    )
    os.close(slave)
    chunks: list[bytes] = []
    # A guard against a hung child, not a speed check (select's own timeout is the kernel's).
    deadline = time.monotonic() + 150
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal closed it
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def _visible(text: str) -> str:
    return _ANSI.sub("", text)


def _texts(command: Any) -> list[str]:
    """The help texts ``command``'s help must show as written: its first paragraph, its params."""
    texts = []
    if command.help:
        texts.append(command.help.split("\n\n")[0])
    texts += [p.help for p in command.params if getattr(p, "help", None)]
    return texts


def _cut_or_eaten(source: str, visible: str) -> list[str]:
    """The words of ``source`` not shown whole in ``visible`` (cut short by "…", or eaten as
    markup). Help is wrapped at spaces, so every word must appear as it was written."""
    return [word for word in source.split() if word not in visible]


@pytest.mark.parametrize("columns", [80, 120])
def test_every_help_fits_the_terminal_in_colour_with_its_texts_as_written(
    columns: int, home: Path
) -> None:
    env = _terminal_env(home)
    with ThreadPoolExecutor(max_workers=6) as pool:
        screens = list(
            pool.map(lambda item: _on_a_pty([*item[0], "--help"], columns, env), COMMANDS)
        )
    for (path, command), (code, text) in zip(COMMANDS, screens, strict=True):
        where = f"stock-manager {' '.join(path)} --help at {columns} columns"
        assert code == 0, (where, text)
        visible = _visible(text)
        assert "Usage:" in visible, where
        too_wide = [line for line in visible.splitlines() if cell_len(line) > columns]
        assert not too_wide, (where, too_wide)
        colours = [p for p in _SGR.findall(text) if re.search(r"(^|;)(3[0-7]|9[0-7])(;|$)", p)]
        assert colours, (where, "no colour on a colour terminal")
        for source in _texts(command):
            assert not _cut_or_eaten(source, visible), (where, source)
        if path in (("resv", "plan"), ("resv", "apply")):
            assert "[[reservation]]" in visible, where
        if path == ("resv", "reconcile"):
            assert re.search(r"\[default:\s+30\]", visible), where
        if path == ():
            for name, line in _meta.COMMANDS:
                assert re.search(rf"│ {re.escape(name)} ", visible), (where, name)
                assert not _cut_or_eaten(line, visible), (where, name)


def test_no_color_and_pipes_get_no_colour(home: Path) -> None:
    """NO_COLOR on a terminal: styles (bold, dim) but no colour; a pipe: no escapes at all."""
    code, text = _on_a_pty(
        ["resv", "place", "--help"], 100, {**_terminal_env(home), "NO_COLOR": "1"}
    )
    assert code == 0, text
    for params in _SGR.findall(text):
        assert not re.search(r"(^|;)(3[0-8]|4[0-8]|9[0-7]|10[0-7])(;|$)", params), params
    piped = run_cli("resv", "place", "--help", env=base_env(home))
    assert piped.code == 0 and "\x1b" not in piped.out, piped
    assert "[[reservation]]" in run_cli("resv", "apply", "-h", env=base_env(home)).out


def test_top_level_and_command_help_look_alike(home: Path) -> None:
    """The same renderer: boxed Options (and Commands) panels, the usage line first."""
    env = base_env(home)
    top, group, leaf = (run_cli(*a, env=env) for a in (["-h"], ["token", "-h"], ["journal", "-h"]))
    for r in (top, group, leaf):
        assert r.code == 0, r
        assert r.out.lstrip().startswith("Usage: stock-manager"), r
        assert "╭─ Options ─" in r.out, r
    assert "╭─ Commands ─" in top.out and "╭─ Commands ─" in group.out
