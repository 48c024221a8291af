"""rich's default table, drawn without importing rich, for the listing printed most often.

``stock-manager resv list`` prints one table per run. Importing rich and laying that table out
cost about 45 ms of a ~290 ms command (4x a bare ``python -c pass``; issue #14, measured with
``bench/bench_cli_startup.py``: ``resv list`` against ``resv list --json``). That is the one
reason this module exists: rich stays the renderer of every other table, and of this one
whenever the result could differ in any byte.

:func:`terminal` answers only where the console rich would build for stdout (see
``_runtime._make_console``) is certain: POSIX, a UTF-8 stream, none of the variables that
change rich's mind (``FORCE_COLOR``, ``TTY_COMPATIBLE``, Jupyter), a known width. :func:`render`
answers only for text whose width is certain (ASCII without markup-like characters, and Hangul
syllables at two cells each) and a table that fits that width without wrapping. Everything
else returns ``None`` and the caller lets rich render. ``tests/cli/test_table.py`` compares the
output byte for byte with rich's, for pipes and terminals, colours on and ``NO_COLOR``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

__all__ = ["Terminal", "render", "terminal"]

#: Width of the console when stdout is not a terminal and COLUMNS is unset (off a terminal rich
#: assumes 80 columns; tables read better a little wider in CI logs). ``_runtime._make_console``
#: gives it to rich.
PIPE_WIDTH = 120
#: rich's fallback width when the terminal reports none.
_DEFAULT_WIDTH = 80
# Variables with which rich decides differently from plain ``isatty()`` detection.
_RICH_OVERRIDES = ("FORCE_COLOR", "TTY_COMPATIBLE", "JUPYTER_COLUMNS")

# SGR parameters of the styles rich's default theme gives a table: "table.title" italic,
# "table.header" bold, "table.caption" dim italic; colours are dropped under NO_COLOR.
_ITALIC, _BOLD, _CAPTION = "3", "1", "2;3"
_COLOURS = {"yellow": "33", "green": "32", "red": "31"}
_ATTRIBUTES = {"dim": "2", "": ""}

# rich.box.HEAVY_HEAD, the default box of rich.table.Table.
_TOP = ("┏", "━", "┳", "┓")
_HEAD_ROW = ("┃", "┃", "┃")
_HEAD_RULE = ("┡", "━", "╇", "┩")
_ROW = ("│", "│", "│")
_BOTTOM = ("└", "─", "┴", "┘")


@dataclass(frozen=True)
class Terminal:
    """What rich would do with stdout: its width, and which styles reach it."""

    width: int
    styled: bool
    """Escape codes are written (a terminal that is not "dumb")."""
    no_color: bool
    """``NO_COLOR``: colours are dropped, bold/italic/dim are kept (as rich does)."""


def terminal(stream: TextIO, environ: Mapping[str, str] | None = None) -> Terminal | None:
    """How rich would print to ``stream`` (stdout), or ``None`` when not certain.

    Mirrors ``rich.console.Console`` as ``_runtime._make_console`` builds it: a terminal gets
    the width of the first of stdin/stdout/stderr that reports one (``COLUMNS`` wins, 80 when
    none does); a pipe or file gets ``COLUMNS`` or 120.
    """
    env = os.environ if environ is None else environ
    if os.name != "posix" or any(name in env for name in _RICH_OVERRIDES):
        return None
    import builtins

    if hasattr(builtins, "get_ipython"):  # IPython/Jupyter: rich has its own rules there
        return None
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if not encoding.lower().startswith("utf"):
        return None  # rich would draw an ASCII box
    try:
        tty = stream.isatty()
    except ValueError:
        return None
    columns = env.get("COLUMNS")
    no_color = env.get("NO_COLOR", "") != ""
    if not tty:
        if not columns:
            return Terminal(PIPE_WIDTH, styled=False, no_color=no_color)
        if columns.isdigit():
            return Terminal(int(columns), styled=False, no_color=no_color)
        return None
    if env.get("TERM", "").strip().lower() in ("dumb", "unknown"):
        return None
    if columns is not None and columns.isdigit():
        width = int(columns)
    else:
        width = 0
        for fd in (0, 1, 2):
            try:
                width = os.get_terminal_size(fd).columns
            except (AttributeError, ValueError, OSError):
                continue
            break
        width = width or _DEFAULT_WIDTH
    return Terminal(width, styled=True, no_color=no_color)


def _cells(text: str) -> int | None:
    """Terminal cells of ``text``, or ``None`` if rich might measure or show it differently.

    Accepted: printable ASCII except ``:`` (rich turns ``:name:`` into emoji) and ``\\`` (markup
    escapes), and Hangul syllables, two cells wide in every Unicode version.
    """
    if text.isascii():
        if not text.isprintable() or ":" in text or "\\" in text:
            return None
        return len(text)
    cells = 0
    for ch in text:
        code = ord(ch)
        if 0xAC00 <= code <= 0xD7A3:
            cells += 2
        elif 0x20 <= code < 0x7F and ch not in ":\\":
            cells += 1
        else:
            return None
    return cells


def _sgr(text: str, params: str) -> str:
    return f"\x1b[{params}m{text}\x1b[0m" if params and text else text


def render(
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[str]],
    styles: Sequence[str],
    term: Terminal,
    *,
    title: str,
    caption: str | None = None,
) -> str | None:
    """The text rich prints for ``Table(title=title, title_justify="left")``, or ``None``.

    ``columns`` are ``(header, "left" | "right")``; ``styles`` gives each row's style of its
    last cell (``"yellow"``, ``"green"``, ``"dim"`` or ``""``); ``caption`` is shown centred
    under the table. ``None`` when some text is not certain (see :func:`_cells`), a style is
    unknown, or the table does not fit ``term.width``.
    """
    widths = []
    for header, _ in columns:
        cells = _cells(header)
        if cells is None:
            return None
        widths.append(cells)
    row_cells: list[list[int]] = []
    for row in rows:
        measured = []
        for i, text in enumerate(row):
            cells = _cells(text)
            if cells is None:
                return None
            measured.append(cells)
            if cells > widths[i]:
                widths[i] = cells
        row_cells.append(measured)
    total = sum(widths) + 3 * len(widths) + 1  # one space each side, a border between
    title_cells = _cells(title)
    caption_cells = _cells(caption) if caption is not None else 0
    if total > term.width or title_cells is None or caption_cells is None:
        return None
    if title_cells > total or caption_cells > total:
        return None
    status_params = []
    for style in styles:
        if style in _COLOURS:
            status_params.append("" if term.no_color else _COLOURS[style])
        elif style in _ATTRIBUTES:
            status_params.append(_ATTRIBUTES[style])
        else:
            return None
    styled = term.styled

    def rule(parts: tuple[str, str, str, str]) -> str:
        left, line, cross, right = parts
        return left + cross.join(line * (w + 2) for w in widths) + right

    def fit(text: str, cells: int, width: int, justify: str) -> str:
        pad = " " * (width - cells)
        return pad + text if justify == "right" else text + pad

    out = [_sgr(title + " " * (total - title_cells), _ITALIC if styled else "")]
    out.append(rule(_TOP))
    edge, sep, end = _HEAD_ROW
    pad = _sgr(" ", _BOLD) if styled else " "
    head = [
        pad + _sgr(fit(h, len(h), w, j), _BOLD if styled else "") + pad
        for (h, j), w in zip(columns, widths, strict=True)
    ]
    out.append(edge + sep.join(head) + end)
    out.append(rule(_HEAD_RULE))
    edge, sep, end = _ROW
    last = len(columns) - 1
    for row, measured, params in zip(rows, row_cells, status_params, strict=True):
        texts = []
        for i, (text, n, w, (_, justify)) in enumerate(
            zip(row, measured, widths, columns, strict=True)
        ):
            body = fit(text, n, w, justify)
            if i == last and styled:
                body = _sgr(body, params)
            texts.append(f" {body} ")
        out.append(edge + sep.join(texts) + end)
    out.append(rule(_BOTTOM))
    if caption is not None:
        left = (total - caption_cells) // 2
        line = " " * left + caption + " " * (total - caption_cells - left)
        out.append(_sgr(line, _CAPTION if styled else ""))
    return "\n".join(out) + "\n"
