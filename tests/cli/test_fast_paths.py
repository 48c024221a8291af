"""The typer-free fast paths (``cli/_fast.py``) behave exactly like typer, and long listings
stream (``emit_json_stream``, ``print_reservations``)."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from stock_manager.adapters.broker.kis.reservations.models import Reservation
from stock_manager.cli import _fast, _helpgen, _helptext, _listing, _render, _runtime
from stock_manager.emulator import ServedEmulator

from .conftest import place_directly, run_many


def test_static_help_is_what_typer_renders() -> None:
    """Regenerate with `python -m stock_manager.cli._helpgen` when this fails."""
    rendered = _helpgen.render_all()
    assert sorted(rendered) == sorted(_helptext.HELP), "commands added or removed"
    for path, text in rendered.items():
        assert _helptext.HELP[path] == text, f"help of {path!r} is stale"
    assert _helpgen.source(rendered) == Path(_helptext.__file__).read_text(encoding="utf-8")


def test_static_help_is_used_only_for_a_bare_command_path() -> None:
    assert _fast.static_help(["resv", "list", "--help"]) == _helptext.HELP["resv list"]
    assert _fast.static_help(["resv", "-h"]) == _helptext.HELP["resv"]
    assert _fast.static_help(["--json", "resv", "--help"]) is None  # typer decides
    assert _fast.static_help(["resv", "nope", "--help"]) is None
    assert _fast.static_help(["--help"]) is None  # main.fast_help's job


def _option_names(command: Any) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        names.update(getattr(param, "opts", []))
        names.update(getattr(param, "secondary_opts", []))
    return names - {"--help", "-h"}


def test_fast_parser_knows_exactly_the_options_typer_defines() -> None:
    """A new option of `resv list` (or a new global one) must be taught to the fast parser."""
    from typer.main import get_command

    from stock_manager.cli.app import app

    root = get_command(app)
    known = set(_fast._GLOBAL_FLAGS) | set(_fast._GLOBAL_VALUES) | set(_fast.GLOBAL_TO_TYPER)
    assert _option_names(root) == known
    listing = root.commands["resv"].commands["list"]  # type: ignore[attr-defined]
    assert _option_names(listing) == set(_fast.LIST_FLAGS) | set(_fast.LIST_VALUES)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["resv", "list"], ({}, {})),
        (
            ["--json", "--emulator", "http://x", "resv", "list", "-s", "005930", "--side=BUY"],
            ({"json": True, "emulator": "http://x"}, {"symbol": "005930", "side": "buy"}),
        ),
        (
            ["--profile=p", "-y", "resv", "list", "--status", "Pending", "--include-cancelled"],
            ({"profile": "p", "yes": True}, {"status": "pending", "include_cancelled": True}),
        ),
        (
            ["resv", "list", "--from", "2026-01-01", "--to=20260201", "--json"],
            ({}, {"start": "2026-01-01", "end": "20260201", "json": True}),
        ),
        (["resv", "list", "--help"], None),
        (["resv", "list", "--status", "done"], None),
        (["resv", "list", "--symbol"], None),
        (["resv", "list", "extra"], None),
        (["resv", "list", "--bogus"], None),
        (["--bogus", "resv", "list"], None),
        (["--emulator"], None),
        (["resv", "show", "1"], None),
        (["resv", "--json", "list"], None),
        (["resv", "list", "--json=1"], None),
    ],
)
def test_parse_resv_list(argv: list[str], expected: Any) -> None:
    assert _fast.parse_resv_list(argv) == expected


def _skew_blind(err: str) -> str:
    return re.sub(r"clock is \S+ (behind|ahead of)", r"clock is ... \1", err)


def test_fast_list_prints_what_typer_prints(emu: ServedEmulator, emu_env: dict[str, str]) -> None:
    place_directly(emu, emu_env, "035720", "buy", [(3, 70000), (3, 70100)])
    cases = [
        ["resv", "list", "--symbol", "035720"],
        ["--json", "resv", "list", "--symbol=035720", "--status", "PENDING"],
        ["resv", "list", "-s", "035720", "--side", "sell", "--json"],
        ["resv", "list", "--from", "2020-13-01"],  # bad date: same one-line error, exit 2
    ]
    slow_env = {**emu_env, "STOCK_MANAGER_NO_FAST": "1"}
    fast = run_many(cases, emu_env)
    slow = run_many(cases, slow_env)
    for f, s in zip(fast, slow, strict=True):
        # A measured clock skew (the emulator's clock may stand hours from ours) is printed by
        # both paths; its figure moves by a second between two runs.
        assert (f.code, f.out, _skew_blind(f.err)) == (s.code, s.out, _skew_blind(s.err)), (f, s)
    assert len(json.loads(fast[1].out)) == 2
    assert json.loads(fast[2].out) == []
    assert fast[3].code == 2


@pytest.mark.parametrize("items", [[], [1], [{"a": [1, {"b": "가\n"}]}, {"c": None}, "x"]])
def test_emit_json_stream_prints_what_emit_json_prints(
    items: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _runtime.emit_json(items)
    whole = capsys.readouterr().out
    assert _runtime.emit_json_stream(iter(items)) == len(items)
    assert capsys.readouterr().out == whole


def _rows(n: int) -> list[Reservation]:
    long_name = "KODEX 200선물인버스2X 레버리지"
    return [
        Reservation(
            seq=str(40000 + i),
            order_date=date(2026, 7, 15),
            symbol="005930",
            name=long_name if i == 3 else "삼성전자",
            side="02",
            order_type="00",
            qty=i + 1,
            price=Decimal(70000),
            cancelled=i % 2 == 1,
        )
        for i in range(n)
    ]


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=150, no_color=True, highlight=False), buf


def test_short_listings_keep_the_rich_table() -> None:
    console, buf = _console()
    rows = _rows(_listing.RICH_TABLE_MAX_ROWS)
    assert _render.print_reservations(iter(rows), console) == len(rows)
    reference, ref_buf = _console()
    reference.print(_render.reservations_table(rows))
    assert buf.getvalue() == ref_buf.getvalue()


def test_long_listings_stream_in_a_light_layout() -> None:
    console, buf = _console()
    n = _listing.RICH_TABLE_MAX_ROWS + 50
    consumed: list[int] = []

    def rows() -> Any:
        for i, row in enumerate(_rows(n)):
            consumed.append(i)
            yield row

    assert _render.print_reservations(rows(), console) == n
    lines = buf.getvalue().splitlines()
    assert lines[1].split() == [
        *("seq", "order", "date", "symbol", "name", "side", "type", "qty", "price", "filled"),
        *("end", "date", "status"),
    ]
    body = lines[3:-1]
    assert len(body) == n and lines[-1] == f"{n} reservations"
    assert body[0].split() == [
        *("40000", "2026-07-15", "005930", "삼성전자", "buy", "limit", "(00)", "1"),
        *("70,000", "0", "-", "waiting"),
    ]
    assert "cancelled" in body[1]
    assert "KODEX 200선물인버스…" in body[3]  # cut to 20 cells
    # Columns line up: every row is as wide (in cells) up to the status column.
    from rich.cells import cell_len

    assert len({cell_len(line.rsplit("  ", 1)[0]) for line in body}) == 1


def test_the_fast_path_runs_in_process(
    emu: ServedEmulator, emu_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`main()` answers `resv list --json` without importing typer's command tree."""
    for key, value in emu_env.items():
        if key.startswith("KIS_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("STOCK_MANAGER_NO_FAST", raising=False)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setitem(sys.modules, "stock_manager.cli.app", None)  # typer path would fail
    from stock_manager.cli.main import main

    assert main(["resv", "list", "--json", "--symbol", "035721"]) == 0
    assert json.loads(out.getvalue()) == []
    assert _fast.dispatch(["resv", "show", "1"]) is None


def test_a_closed_pipe_ends_a_listing_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """`stock-manager resv list | head`: the reader left; exit 0, no error line."""
    from stock_manager.cli import main as cli_main

    def closed_pipe(args: Any) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    silenced: list[bool] = []
    monkeypatch.setattr(_fast, "dispatch", closed_pipe)
    monkeypatch.setattr(cli_main, "_stdout_to_devnull", lambda: silenced.append(True))
    assert cli_main.main(["resv", "list"]) == 0
    assert silenced == [True]
