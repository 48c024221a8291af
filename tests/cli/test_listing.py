"""``resv list``'s output: rich's table for a short listing, a light layout streamed for a long
one (``print_reservations``), JSON streamed item by item (``emit_json_stream``), and a reader
that leaves early (``| head``)."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console

from stock_manager.adapters.broker.kis.reservations.models import Reservation
from stock_manager.cli import _render, _runtime
from stock_manager.emulator import ServedEmulator

from .conftest import place_directly, run_cli


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
    rows = _rows(_render.RICH_TABLE_MAX_ROWS)
    assert _render.print_reservations(iter(rows), console) == len(rows)
    reference, ref_buf = _console()
    reference.print(_render.reservations_table(rows))
    assert buf.getvalue() == ref_buf.getvalue()


def test_long_listings_stream_in_a_light_layout() -> None:
    console, buf = _console()
    n = _render.RICH_TABLE_MAX_ROWS + 50
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


def test_resv_list_draws_its_table_with_rich(emu: ServedEmulator, emu_env: dict[str, str]) -> None:
    """The CLI's table is the one :func:`_render.reservations_table` draws, row for row."""
    place_directly(emu, emu_env, "000660", "sell", [(1, 150000), (22, 150000), (333, 150000)])
    args = ["resv", "list", "--symbol", "000660", "--side", "sell"]
    shown = run_cli(*args, env=emu_env)
    listed = run_cli(*args, "--json", env=emu_env)
    assert shown.code == listed.code == 0, (shown, listed)
    rows = [Reservation.model_validate(item) for item in json.loads(listed.out)]
    assert len(rows) >= 3
    buf = io.StringIO()
    # The CLI's console off a terminal: COLUMNS (the tests' 200), no colour, no highlighting.
    Console(file=buf, width=200, no_color=True, highlight=False).print(
        _render.reservations_table(rows)
    )
    assert shown.out == buf.getvalue()
    assert "┏" in shown.out and "SK하이닉스" in shown.out


def test_a_closed_pipe_ends_a_listing_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """`stock-manager resv list | head`: the reader left; exit 0, no error line."""
    from stock_manager.cli import main as cli_main
    from stock_manager.cli import resv

    def closed_pipe(*args: Any, **kwargs: Any) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    silenced: list[bool] = []
    monkeypatch.setattr(resv, "_checked_symbol", closed_pipe)
    monkeypatch.setattr(cli_main, "_stdout_to_devnull", lambda: silenced.append(True))
    assert cli_main.main(["resv", "list", "--symbol", "005930"]) == 0
    assert silenced == [True]
