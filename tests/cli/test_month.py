"""A simulated month of real use through the command line (issue #18, "Must show").

Thirty calendar days, Friday 2026-12-04 to Saturday 2027-01-02: four weekends, Christmas
(Friday 12-25), the year-end closing day (12-31) and New Year's Day. The emulator's clock is
frozen and moved by the test; every CLI run gets the same instant through ``STOCK_MANAGER_NOW``
(the CLI's one clock, which runs on from there), except where the test puts the client's clock
hours off on purpose. At 07:00 of every open day the emulator processes the day and leaves the
orders unfilled, so period reservations act day after day; at 16:00 ``resv apply`` runs.

What a user walks through, each checked against the emulator's book (the truth):

* a Sunday-evening ``apply`` (the weekend is inside the entry window) and a Saturday-afternoon
  re-run (nothing to do, nothing refused);
* a period reservation cancelled on its third day, another modified on its second;
* a declaration removed mid-period, which ``apply`` then cancels;
* a place whose outcome is unknown, reconciled, then applied again: zero duplicates;
* a client clock 4 h off, with zero wrong verdicts;
* the 23:45 blackout refused locally, nothing sent;
* a holiday's daytime inside the window.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stock_manager.emulator import ServedEmulator
from tests.manager.month import (
    CELLTRION,
    DAYS,
    HYNIX,
    SAMSUNG,
    SPEC_HEAD,
    SUNDAY,
    at,
    month_emulator,
)

from .conftest import Result, kis_env, run_cli


@pytest.fixture
def memu() -> Iterator[ServedEmulator]:
    with month_emulator() as served:
        yield served


class Month:
    """The CLI, the emulator and the standing file of one simulated month."""

    def __init__(self, emu: ServedEmulator, home: Path) -> None:
        self.emu = emu
        self.env = kis_env(emu, home)
        # A short read timeout: the unknown-outcome step waits it out once.
        self.env["KIS_READ_TIMEOUT"] = "1"
        self.spec = home / "month.toml"
        self.declare(SAMSUNG, HYNIX)

    def declare(self, *entries: str) -> None:
        self.spec.write_text(SPEC_HEAD + "".join(entries), encoding="utf-8")

    def travel(self, when: datetime, *, client_off: timedelta = timedelta()) -> None:
        """Move KIS's clock to ``when``, and the CLI's to ``when + client_off``."""
        self.emu.clock.freeze(when)
        self.env["STOCK_MANAGER_NOW"] = (when + client_off).isoformat()

    def cli(self, *args: str, code: int | None = 0) -> Result:
        result = run_cli(*args, env=self.env)
        assert "Traceback" not in result.err, result
        if code is not None:
            assert result.code == code, result
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.cli(*args, "--json", code=code).out)

    def apply(self, code: int = 0) -> Any:
        return self.json("resv", "apply", str(self.spec), code=code)

    def place(self, symbol: str, qty: int, price: int, end: date) -> str:
        receipt = self.json(
            "resv", "place", symbol, "--qty", str(qty), "--price", str(price), "--side", "buy",
            "--end-date", end.isoformat(),
        )  # fmt: skip
        return str(receipt["seq"])

    # --- the book, as the emulator holds it ---------------------------------------------------
    def orders_of(self, seq: str) -> list[Any]:
        """The ordinary orders reservation ``seq`` became, one per processing day."""
        return sorted(
            (o for o in self.emu.state.orders.values() if o.source_seq == int(seq)),
            key=lambda o: o.ord_dt,
        )

    def reservations_for(self, symbol: str) -> list[Any]:
        return [r for r in self.emu.state.reservations.values() if r.pdno == symbol]

    def live(self, symbol: str) -> list[Any]:
        """Reservations of ``symbol`` that can still act (not cancelled, not ended)."""
        return [r for r in self.reservations_for(symbol) if r.status == "pending"]

    def requests(self) -> int:
        return len(list(self.emu.requests))

    def order_requests(self) -> int:
        return sum(
            self.emu.requests.count(name=n)
            for n in ("order-resv", "order-resv-rvsecncl", "order-rvsecncl")
        )


def test_a_month_through_the_cli(memu: ServedEmulator, home: Path) -> None:
    m = Month(memu, home)
    cal = memu.calendar
    open_days = [d for d in DAYS if cal.is_open(d)]
    assert date(2026, 12, 25) not in open_days and date(2027, 1, 1) not in open_days
    assert sum(1 for d in DAYS if d.weekday() >= 5) >= 8  # four weekends

    # --- Sunday evening: the weekend is inside the window; apply places for Monday -------------
    m.travel(at(SUNDAY, 20))
    sunday = m.apply()
    assert sorted((r["action"], r["id"], r["ok"]) for r in sunday["results"]) == [
        ("place", "hynix-period", True),
        ("place", "samsung-period", True),
    ]
    assert sunday["order_day"] == "2026-12-07"
    seq = {r["id"]: str(r["seq"]) for r in sunday["results"]}
    # Two period reservations placed by hand: one to cancel on its third day, one to modify
    # on its second.
    m.travel(at(SUNDAY, 20, 5))
    to_cancel = m.place("035420", 1, 200000, date(2026, 12, 18))
    to_modify = m.place("035720", 4, 40000, date(2026, 12, 18))
    assert {r.ord_dt for r in m.emu.state.reservations.values()} == {"20261207"}

    unknown_entry_seq = ""
    for day in DAYS:
        if day <= SUNDAY:
            continue
        if day in open_days:
            m.travel(at(day, 7))
            m.emu.process_day(default="unfilled")

        if day == date(2026, 12, 8):  # the second day of to_modify: a new price
            m.travel(at(day, 16))
            m.json("resv", "modify", to_modify, "--price", "39000")
        if day == date(2026, 12, 9):  # the third day of to_cancel: its remaining days stop
            m.travel(at(day, 16))
            listed = m.json("resv", "list", "--status", "pending")
            assert to_cancel in {str(r["seq"]) for r in listed}  # sent three times, still live
            m.json("resv", "cancel", to_cancel)
        if day == date(2026, 12, 10):  # a declaration removed mid-period: apply cancels it
            m.declare(SAMSUNG)
            m.travel(at(day, 16))
            removed = m.apply()
            assert [(r["action"], r["id"]) for r in removed["results"]] == [
                ("cancel", "hynix-period")
            ]
        if day == date(2026, 12, 11):
            # A place whose outcome is unknown, with the client's clock 4 h ahead of KIS's:
            # KIS stores it after the client stopped waiting.
            m.declare(SAMSUNG, CELLTRION)
            off = timedelta(hours=4)
            m.travel(at(day, 16), client_off=off)
            m.emu.faults.add("order-resv", "late_commit", seconds=1.5)
            unknown = m.apply(code=3)
            assert [r["id"] for r in unknown["results"]] == ["celltrion-once"]
            deadline = time.monotonic() + 30
            while not m.reservations_for("068270"):
                assert time.monotonic() < deadline, "the late commit never landed"
                time.sleep(0.05)
            m.emu.faults.clear()
            unknown_entry_seq = str(m.reservations_for("068270")[0].seq)
            # reconcile settles it from the book: applied, despite the 4 h.
            settled = m.json("resv", "reconcile", "--pending")
            assert [r["applied"] for r in settled] == [True], settled
            # The next apply adopts it: zero order requests, one reservation.
            before = m.order_requests()
            again = m.apply()
            assert again["order_requests"] == 0, again
            assert m.order_requests() == before
            assert len(m.reservations_for("068270")) == 1
            # 23:45: the blackout is refused before anything is sent.
            m.travel(at(day, 23, 45))
            sent = m.requests()
            refused = m.cli(
                "resv", "place", "005380", "--qty", "1", "--price", "200000", "--side", "buy",
                code=2,
            )  # fmt: skip
            assert "23:40" in refused.err
            assert m.requests() == sent
        if day == date(2026, 12, 12):  # Saturday afternoon: inside the window, nothing to do
            m.travel(at(day, 14))
            saturday = m.apply()
            assert saturday["order_requests"] == 0
        if day == date(2026, 12, 25):  # Christmas daytime: inside the window
            m.travel(at(day, 11))
            holiday = m.apply()
            assert holiday["order_requests"] == 0

        if day in open_days:  # the evening run, as a cron job would
            m.travel(at(day, 16))
            m.apply()
            for symbol in ("005930", "000660", "068270"):
                assert len(m.live(symbol)) <= 1, (day, symbol, m.live(symbol))

    # --- the month as the book tells it --------------------------------------------------------
    first_ten = open_days[open_days.index(date(2026, 12, 7)) :][:10]
    assert first_ten[-1] == date(2026, 12, 18)
    days_of = {s: [o.ord_dt for o in m.orders_of(s)] for s in (*seq.values(), to_cancel)}
    ymd = [d.strftime("%Y%m%d") for d in first_ten]
    # samsung-period: every open day of its ten, then it ended; never placed twice.
    assert days_of[seq["samsung-period"]] == ymd
    assert len(m.reservations_for("005930")) == 1
    # hynix-period: four days, then apply cancelled it (removed from the file on day four).
    assert days_of[seq["hynix-period"]] == ymd[:4]
    assert m.emu.state.reservations[int(seq["hynix-period"])].status == "cancelled"
    assert len(m.reservations_for("000660")) == 1
    # to_cancel: three days (12-07, 12-08, 12-09), then nothing.
    assert days_of[to_cancel] == ymd[:3]
    assert m.emu.state.reservations[int(to_cancel)].status == "cancelled"
    # to_modify: 40,000 on its first two days, 39,000 on the eight after.
    prices = [o.unpr for o in m.orders_of(to_modify)]
    assert prices == [40000] * 2 + [39000] * 8
    # The unknown place: one reservation, sent once (12-14, the next open day), never again.
    assert [o.ord_dt for o in m.orders_of(unknown_entry_seq)] == ["20261214"]
    # Nothing is left pending in the journal.
    journal = m.json("journal", "--pending")
    pending = journal if isinstance(journal, list) else journal.get("entries", [])
    assert pending == []
