"""``cli/_table.py`` draws exactly what rich draws, or declines.

Three levels: the renderer against rich's ``Console.print(Table)`` over rows, widths and colour
modes; the terminal detection against the rich ``Console`` that ``_runtime._make_console``
builds for the same stream and environment; and ``stock-manager resv list`` end to end, on a
pipe and on a real pseudo-terminal, against the same command with ``STOCK_MANAGER_NO_FAST=1``
(rich draws every table then).
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import pytest
from rich.console import Console

from stock_manager.adapters.broker.kis.reservations.models import Reservation
from stock_manager.cli import _listing, _render, _runtime, _table
from stock_manager.emulator import ServedEmulator

from .conftest import place_directly

NAMES = ["삼성전자", "SK하이닉스", "KODEX 200선물인버스2X", "LG Energy Solution", "NAVER"]


def _rows(n: int, names: list[str] = NAMES) -> list[Reservation]:
    return [
        Reservation(
            seq=str(7 * i**3 + 1),
            order_date=date(2026, 7, 15),
            symbol=f"{i * 37 % 1000000:06d}",
            name=names[i % len(names)],
            side="02" if i % 3 else "01",
            order_type=("00", "01", "05")[i % 3],
            qty=i * 13 + 1,
            price=Decimal(70000 + 997 * i) if i % 4 else Decimal(0),
            filled_qty=i % 5,
            end_date=date(2026, 7, 20) if i % 2 else None,
            cancelled=i % 6 == 5,
            processed=i % 7 == 3,
        )
        for i in range(n)
    ]


def _ours(rows: list[Reservation], term: _table.Terminal) -> str | None:
    return _listing.box_table(rows, term, "Reservations")


def _rich(rows: list[Reservation], width: int, colour: str | None, no_color: bool) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=colour is not None,
        color_system=colour,  # type: ignore[arg-type]
        no_color=no_color,
        highlight=False,
        soft_wrap=False,
    )
    console.print(_render.reservations_table(rows))
    return buf.getvalue()


def _table_width(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text.splitlines()[1])


MODES = [
    pytest.param(None, False, id="pipe"),
    pytest.param(None, True, id="pipe-NO_COLOR"),
    pytest.param("standard", False, id="tty-16"),
    pytest.param("256", False, id="tty-256"),
    pytest.param("truecolor", False, id="tty-truecolor"),
    pytest.param("truecolor", True, id="tty-NO_COLOR"),
]


@pytest.mark.parametrize(("colour", "no_color"), MODES)
@pytest.mark.parametrize("n", [0, 1, 2, 7, 40])
def test_render_is_byte_for_byte_what_rich_prints(
    colour: str | None, no_color: bool, n: int
) -> None:
    rows = _rows(n)
    for width in (200, 150):
        term = _table.Terminal(width, styled=colour is not None, no_color=no_color)
        assert _ours(rows, term) == _rich(rows, width, colour, no_color)


@pytest.mark.parametrize(("colour", "no_color"), MODES)
def test_a_table_as_wide_as_the_terminal_is_drawn_one_column_less_is_left_to_rich(
    colour: str | None, no_color: bool
) -> None:
    rows = _rows(9)
    natural = _table_width(_rich(rows, 300, None, False))
    styled = colour is not None
    exact = _ours(rows, _table.Terminal(natural, styled=styled, no_color=no_color))
    assert exact == _rich(rows, natural, colour, no_color)
    assert _ours(rows, _table.Terminal(natural - 1, styled=styled, no_color=no_color)) is None
    # ... where rich wraps or shrinks columns, which this module does not imitate.
    assert _table_width(_rich(rows, natural - 1, colour, no_color)) <= natural - 1


@pytest.mark.parametrize(
    "name",
    [
        "emoji 🙂",  # width depends on the Unicode version
        "日本製鉄",  # CJK ideographs: left to rich's tables
        "ｆｕｌｌ",  # full-width Latin
        "tab\there",
        "bell\x07",
        "e\u0301",  # combining accent
        ":smile:",  # rich would print an emoji
        "back\\slash",
        "zero\u200bwidth",
    ],
)
def test_text_whose_width_is_not_certain_is_left_to_rich(name: str) -> None:
    rows = _rows(3, names=["삼성전자", name])
    assert _ours(rows, _table.Terminal(300, styled=True, no_color=False)) is None


def test_an_unknown_status_style_is_left_to_rich() -> None:
    term = _table.Terminal(300, styled=True, no_color=False)
    assert _table.render([("a", "left")], [["x"]], ["blink"], term, title="t") is None
    assert _table.render([("a", "left")], [["x"]], [""], term, title="t") is not None


# --- detection: the same answers as the rich Console `_make_console` builds ----------------


@pytest.fixture
def pty_stream() -> Iterator[TextIO]:
    """A UTF-8 text stream on the slave side of a real pseudo-terminal, 97 columns wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 97, 0, 0))
    stream = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    try:
        yield stream
    finally:
        stream.close()
        os.close(master)


ENVS: list[dict[str, str]] = [
    {},
    {"NO_COLOR": "1"},
    {"NO_COLOR": ""},
    {"COLUMNS": "133"},
    {"COLUMNS": "133", "NO_COLOR": "1", "TERM": "xterm-256color"},
    {"TERM": "xterm-256color", "COLORTERM": "truecolor"},
    {"TERM": "screen-16color"},
    {"LINES": "40", "COLUMNS": "101"},
]
DECLINED: list[dict[str, str]] = [
    {"FORCE_COLOR": "1"},
    {"FORCE_COLOR": ""},
    {"TTY_COMPATIBLE": "1"},
    {"TTY_COMPATIBLE": "0"},
    {"TERM": "dumb"},
]
_RICH_ENV = ("COLUMNS", "LINES", "NO_COLOR", "TERM", "COLORTERM", "FORCE_COLOR", "TTY_COMPATIBLE")


def _rich_console_for(
    stream: TextIO, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Console:
    for name in (*_RICH_ENV, "JUPYTER_COLUMNS", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdout", stream)
    return _runtime._make_console(stderr=False)


@pytest.mark.parametrize("env", ENVS, ids=str)
@pytest.mark.parametrize("kind", ["pipe", "pty"])
def test_terminal_answers_what_rich_decides(
    kind: str,
    env: dict[str, str],
    pty_stream: TextIO,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if kind == "pipe":
        stream: TextIO = open(tmp_path / "out.txt", "w", encoding="utf-8")  # noqa: SIM115
    else:
        stream = pty_stream
    try:
        console = _rich_console_for(stream, env, monkeypatch)
        term = _table.terminal(stream, dict(os.environ))
        assert term is not None
        assert term.width == console.width
        assert term.styled == (console.color_system is not None)
        assert term.no_color == console.no_color
    finally:
        if kind == "pipe":
            stream.close()


@pytest.mark.parametrize("env", DECLINED, ids=str)
def test_terminal_declines_where_rich_has_other_rules(
    env: dict[str, str], pty_stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rich_console_for(pty_stream, env, monkeypatch)
    assert _table.terminal(pty_stream, dict(os.environ)) is None


def test_terminal_declines_a_stream_that_is_not_utf8(tmp_path: Path) -> None:
    with open(tmp_path / "out.txt", "w", encoding="latin-1") as stream:
        assert _table.terminal(stream, {}) is None  # rich would draw an ASCII box


def test_a_pipe_with_a_nonnumeric_columns_is_left_to_rich(
    tmp_path: Path, pty_stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rich then asks stdin/stderr for a size; a terminal ignores such a COLUMNS, as rich does."""
    with open(tmp_path / "out.txt", "w", encoding="utf-8") as stream:
        assert _table.terminal(stream, {"COLUMNS": "wide"}) is None
    console = _rich_console_for(pty_stream, {"COLUMNS": "wide"}, monkeypatch)
    term = _table.terminal(pty_stream, dict(os.environ))
    assert term is not None and term.width == console.width


# --- end to end: `resv list` on a pipe and on a pseudo-terminal -------------------------

_DRIVER = (
    "import sys\n"
    "from stock_manager.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "sys.stderr.write('rich imported: %s\\n' % ('rich.console' in sys.modules))\n"
    "raise SystemExit(code)\n"
)


def _run_on_pty(args: list[str], env: dict[str, str], columns: int) -> tuple[int, bytes, str]:
    """Run the CLI with stdin/stdout on a pseudo-terminal ``columns`` wide; stderr piped."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, *args],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
        cwd=env["HOME"],
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    return proc.wait(60), b"".join(chunks), err


def _run_on_pipe(args: list[str], env: dict[str, str]) -> tuple[int, bytes, str]:
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        cwd=env["HOME"],
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr.decode()


@pytest.fixture
def listed(emu: ServedEmulator, emu_env: dict[str, str]) -> dict[str, str]:
    """Three reservations of 000660 (SK하이닉스) in the session emulator; the CLI's env."""
    place_directly(emu, emu_env, "000660", "sell", [(1, 150000), (22, 150000), (333, 150000)])
    return {k: v for k, v in emu_env.items() if k not in ("NO_COLOR", "COLUMNS", "TERM")}


CASES = [
    pytest.param("pipe", {}, 0, True, id="pipe"),
    pytest.param("pipe", {"COLUMNS": "90"}, 0, False, id="pipe-too-narrow"),
    pytest.param("pty", {"TERM": "xterm-256color"}, 140, True, id="pty-colour"),
    pytest.param("pty", {"TERM": "xterm", "NO_COLOR": "1"}, 140, True, id="pty-NO_COLOR"),
    pytest.param("pty", {"TERM": "xterm-256color"}, 100, False, id="pty-too-narrow"),
    pytest.param("pty", {"TERM": "xterm", "FORCE_COLOR": "1"}, 140, False, id="pty-FORCE_COLOR"),
]


@pytest.mark.parametrize(("kind", "extra", "columns", "drawn_here"), CASES)
def test_resv_list_prints_what_rich_prints(
    listed: dict[str, str], kind: str, extra: dict[str, str], columns: int, drawn_here: bool
) -> None:
    args = ["resv", "list", "--symbol", "000660", "--side", "sell"]
    env = {**listed, **extra}
    runs: dict[str, Any] = {}
    for label, run_env in (("fast", env), ("rich", {**env, "STOCK_MANAGER_NO_FAST": "1"})):
        if kind == "pty":
            runs[label] = _run_on_pty(args, run_env, columns)
        else:
            runs[label] = _run_on_pipe(args, run_env)
    (f_code, f_out, f_err), (r_code, r_out, r_err) = runs["fast"], runs["rich"]
    assert (f_code, r_code) == (0, 0), (f_err, r_err)
    assert f_out == r_out
    text = f_out.decode()
    assert "333" in text
    assert "SK하이닉스" in text or not drawn_here  # a narrow table: rich wraps the name
    if kind == "pty" and "NO_COLOR" not in extra:
        assert "\x1b[" in text  # colours reached the terminal
    # Drawn here means rich was never imported for it; otherwise rich drew it.
    assert f_err.strip().endswith(f"rich imported: {not drawn_here}"), f_err
    assert r_err.strip().endswith("rich imported: True"), r_err
