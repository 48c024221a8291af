"""``stock-manager resv``: reservation orders (주식예약주문) from the command line.

Each command maps its options onto
:class:`~stock_manager.adapters.broker.kis.reservations.Reservations` and formats the result;
validation (symbol, qty, price vs. order type, end date, paper mode) is the library's and
happens before anything is sent.

Money-moving commands (place, modify, cancel, cancel-all):

* ``--dry-run`` prints the exact request from the library's ``describe_*`` functions — method,
  URL, masked headers, body — and sends nothing, not even a token request;
* against a KIS host they ask for confirmation on a terminal, refuse in a non-TTY without
  ``--yes``, and never ask against an emulator or another non-KIS base URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import _meta
from ._errors import EXIT_API, EXIT_INTERRUPTED, EXIT_UNKNOWN, CLIError
from ._runtime import State, emit_json, emit_json_stream, parse_date, state_of
from ._runtime import show_dry_run as _dry_run
from ._typer import DryRunOpt, JsonOpt, SeqArg, Typer, YesOpt

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis.reservations import Reservations

__all__ = ["app"]

app = Typer(name="resv", help=_meta.COMMAND_HELP["resv"])


class SideChoice(StrEnum):
    """``--side`` values."""

    buy = "buy"
    sell = "sell"


class TypeChoice(StrEnum):
    """``--type`` values (the four reservation order types, spec §1.2)."""

    limit = "limit"
    market = "market"
    conditional = "conditional"
    pre_market = "pre-market"


class StatusChoice(StrEnum):
    """``--status`` values (see ``Reservation.status``)."""

    all = "all"
    pending = "pending"
    waiting = "waiting"
    active = "active"
    processed = "processed"
    ended = "ended"


class EndPolicyChoice(StrEnum):
    """``--end-date-policy`` values: what to do with an end date KIS would reject."""

    snap = "snap"
    refuse = "refuse"


class WindowChoice(StrEnum):
    """``--window`` values: what to do outside the entry window on an open day.

    KIS: 15:40 until 07:30 of the next business day (weekends and holidays inside). The
    23:40-00:10 blackout is refused under ``warn`` too; ``ignore`` checks nothing.
    """

    warn = "warn"
    refuse = "refuse"
    ignore = "ignore"


# --- shared option types ------------------------------------------------------------------------
# Quantities and prices reach the library as typed: it accepts ASCII digits only, so "1_0",
# "1,0" or full-width digits are refused instead of being read as 10 (click's int() would).
QtyOpt = Annotated[str | None, typer.Option("--qty", "-q", help="Shares.", show_default=False)]
PriceOpt = Annotated[
    str | None,
    typer.Option(
        "--price",
        "-p",
        help="Price in won (limit and conditional orders only).",
        show_default=False,
    ),
]
TypeOpt = Annotated[
    TypeChoice | None,
    typer.Option("--type", "-t", case_sensitive=False, help="Order type.", show_default=False),
]
EndDateOpt = Annotated[
    str | None,
    typer.Option(
        "--end-date",
        metavar="YYYY-MM-DD",
        help="Period reservation until this date (≤ 30 days).",
        show_default=False,
    ),
]
# A string, checked by the library's strict_days (click's int() reads "1_0" and "１０" as 10).
DaysOpt = Annotated[
    str | None,
    typer.Option(
        "--days",
        metavar="N",
        help="Period reservation for N open days (instead of --end-date; 1 = one-day).",
        show_default=False,
    ),
]
EndPolicyOpt = Annotated[
    EndPolicyChoice,
    typer.Option(
        "--end-date-policy",
        case_sensitive=False,
        help="End date on a closed day or past the 30-day limit: snap back to the last open"
        " day (with a warning) or refuse.",
    ),
]
CheckOpt = Annotated[
    bool | None,
    typer.Option(
        "--check/--no-check",
        help="Pre-flight (tick, price band, sellable qty, buying power) before sending."
        "  [default: on against a KIS host]",
        show_default=False,
    ),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Pre-flight findings refuse instead of warn.")
]
SymbolOpt = Annotated[
    str | None, typer.Option("--symbol", "-s", help="Only this stock code.", show_default=False)
]
SideFilterOpt = Annotated[
    SideChoice | None,
    typer.Option("--side", case_sensitive=False, help="Only buy or sell.", show_default=False),
]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", metavar="YYYY-MM-DD", help="Range start.", show_default=False),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", metavar="YYYY-MM-DD", help="Range end.", show_default=False),
]


@contextmanager
def _reservations(
    st: State,
    window: WindowChoice = WindowChoice.warn,
    end_policy: EndPolicyChoice = EndPolicyChoice.snap,
) -> Iterator[Reservations]:
    """A :class:`Reservations` over a fresh client (closed afterwards)."""
    from stock_manager.adapters.broker.kis.reservations import Reservations

    with st.client(need_account=True) as client:
        yield Reservations(
            client,
            window_policy=window.value,
            end_date_policy=end_policy.value,
            clock=st.clock,  # the invocation's one clock (STOCK_MANAGER_NOW)
        )


def _wants_check(check: bool | None, strict: bool, base_url: str) -> bool:
    """Pre-flight: as asked, else on against a KIS host (``--strict`` implies it)."""
    from ._runtime import is_kis_host

    return strict or (check if check is not None else is_kis_host(base_url))


def _schedule_line(schedule: Any) -> str:
    """The schedule in words, and where the calendar answer came from (kis/cache/bundled)."""
    from rich.markup import escape

    return f"{escape(schedule.describe())} [dim](calendar: {schedule.source})[/]"


def _refuse_early(st: State, base_url: str, what: str) -> None:
    """Without a terminal, refuse (or accept ``--yes``) before any request, read-only included.

    On a terminal the calendar and pre-flight GETs run first, so the question can show the
    order date and the findings.
    """
    import sys

    if not sys.stdin.isatty():
        st.confirm(base_url, what)


def _show_findings(st: State, findings: Any) -> None:
    for f in findings:
        if f.severity != "info":
            st.warn(f"pre-flight {f}")


def _dry_run_window(st: State, r: Reservations, args: dict[str, Any], *, offline: bool) -> None:
    """What the entry window would do with the dry-run's place now (a warning, never an error),
    and the end date's snap warning (``offline``: the local calendar, else KIS's as a place)."""
    from stock_manager.adapters.broker.kis.errors import OutsideReservationWindowError

    try:
        warnings = r.plan_place(**args, offline=offline).warnings
    except OutsideReservationWindowError as exc:
        warnings = (f"{exc}; a place now would be refused before sending",)
    for warning in warnings:
        st.warn(warning)


def _print(st: State, message: str) -> None:
    st.out.print(message, soft_wrap=True)


# --- place --------------------------------------------------------------------------------------
@app.command("place")
def place(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="6-character stock code, e.g. 005930.")],
    qty: Annotated[str, typer.Option("--qty", "-q", help="Shares.", show_default=False)],
    side: Annotated[
        SideChoice,
        typer.Option("--side", case_sensitive=False, help="buy or sell.", show_default=False),
    ],
    price: PriceOpt = None,
    order_type: Annotated[
        TypeChoice, typer.Option("--type", "-t", case_sensitive=False, help="Order type.")
    ] = TypeChoice.limit,
    end_date: EndDateOpt = None,
    days: DaysOpt = None,
    end_date_policy: EndPolicyOpt = EndPolicyChoice.snap,
    window: Annotated[
        WindowChoice,
        typer.Option(
            "--window",
            case_sensitive=False,
            help="On an open day between 07:30 and 15:40 KST (outside the entry window): warn"
            " and send, refuse, or ignore. The 23:40-00:10 blackout is refused unless 'ignore'.",
        ),
    ] = WindowChoice.warn,
    check: CheckOpt = None,
    strict: StrictOpt = False,
    dry_run: DryRunOpt = False,
    json_: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Place a reservation order (CTSC0008U).

    Shows the order date (the next open day) and whether it is a one-day or a period
    reservation before asking; checks tick, price band, sellable quantity and buying power
    first (--check, on by default against a KIS host).
    """
    st = state_of(ctx, json=json_, yes=yes)
    if end_date and days:
        raise CLIError("give --end-date or --days, not both")
    from stock_manager.adapters.broker.kis.reservations.models import strict_days

    n_days = None if days is None else strict_days(days)
    args: dict[str, Any] = {
        "symbol": symbol,
        "qty": qty,
        "price": price,
        "side": side.value,
        "order_type": order_type.value,
        "end_date": parse_date(end_date, "--end-date"),
        "days": n_days,
    }
    with _reservations(st, window, end_date_policy) as r:
        described = r.describe_place(**args)  # validates locally; sends nothing
        if dry_run:
            # An end date (or --days) is decided by the calendar a real place consults: KIS's
            # chk-holiday (one read-only GET, at most daily, cached), so a closure only KIS
            # knows moves it here too (issue #22, item 6). Without one nothing is sent at all.
            online = args["end_date"] is not None or n_days is not None
            if online:
                described = r.describe_place(**args, offline=False)
            _dry_run(st, [described])
            if not st.json:
                sched = r.schedule(args["end_date"], days=n_days, offline=not online)
                _print(st, _schedule_line(sched))
            _dry_run_window(st, r, args, offline=not online)
            return
        what = f"place a reservation to {side.value} {qty} x {symbol} ({order_type.value})"
        _refuse_early(st, r.client.base_url, what)
        plan = r.plan_place(**args)  # the calendar may ask KIS once a day
        if not st.json:  # the JSON receipt carries it; stderr stays for warnings and errors
            _print(st, _schedule_line(plan.schedule))
        for warning in plan.warnings:
            st.warn(warning)
        findings: Any = ()
        if _wants_check(check, strict, r.client.base_url):
            report = r.preflight(plan.terms, strict=strict)  # raises when strict finds a problem
            findings = report.findings
            _show_findings(st, findings)
        st.confirm(r.client.base_url, f"{what}; {plan.schedule.describe()}")
        receipt = r.place_reservation(**args)
    if st.json:
        from dataclasses import replace

        emit_json(replace(receipt, findings=tuple(findings)))
        return
    _print(
        st,
        f"[green]✓[/] reservation [bold]{receipt.seq}[/] placed: {side.value} {qty} x {symbol}"
        f" — {receipt.msg_cd} {receipt.msg1}"
        + (f" (journal #{receipt.journal_id})" if receipt.journal_id else ""),
    )


# --- list / show --------------------------------------------------------------------------------
@app.command("list")
def list_(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    symbol: SymbolOpt = None,
    side: SideFilterOpt = None,
    status: Annotated[
        StatusChoice,
        typer.Option(
            "--status",
            case_sensitive=False,
            help="pending = can still act (waiting, or an active period reservation already"
            " sent and sent again on later days); waiting; active; processed = sent or"
            " rejected at least once; ended = sent for the last time, filled, rejected or"
            " cancelled.",
        ),
    ] = StatusChoice.all,
    include_cancelled: Annotated[
        bool, typer.Option("--include-cancelled", help="Show cancelled reservations too.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """List reservations (CTSC0004R, every page).

    The status column: waiting (not sent yet), active (a period reservation already sent,
    sent again on later open days until its end date), sent (became an order for the last
    time), filled, rejected, cancelled.
    """
    from stock_manager.adapters.broker.kis.reservations import Reservations

    st = state_of(ctx, json=json_)
    first, last = parse_date(from_, "--from"), parse_date(to, "--to")
    if symbol is not None:
        symbol = _checked_symbol(symbol)
    with st.client(need_account=True) as client:
        # Rows are printed page by page as they arrive; the default range is counted from
        # today on the invocation's one clock.
        rows = Reservations(client, clock=st.clock).list_reservations(
            first,
            last,
            symbol=symbol,
            side=side.value if side else None,
            status=status.value,
            include_cancelled=include_cancelled,
        )
        if st.json:
            emit_json_stream(rows)
            return
        from ._render import print_reservations

        print_reservations(rows, st.out)


def _checked_symbol(text: str) -> str:
    """``--symbol`` through the library's one symbol check (as ``resv place`` refuses it)."""
    from stock_manager.adapters.broker.kis.errors import KISValidationError
    from stock_manager.adapters.broker.kis.reservations.models import parse_symbol

    try:
        return parse_symbol(text)
    except ValueError as exc:
        raise KISValidationError(f"invalid reservation filter: symbol: {exc}") from None


@app.command("show")
def show(ctx: typer.Context, seq: SeqArg, json_: JsonOpt = False) -> None:
    """Show one reservation (cancelled ones included)."""
    st = state_of(ctx, json=json_)
    with _reservations(st) as r:
        resv = r.get_reservation(seq)
    if st.json:
        emit_json(resv)
        return
    from ._render import reservation_detail

    st.out.print(reservation_detail(resv))


# --- modify / cancel ----------------------------------------------------------------------------
@app.command("modify")
def modify(
    ctx: typer.Context,
    seq: SeqArg,
    qty: QtyOpt = None,
    price: PriceOpt = None,
    order_type: TypeOpt = None,
    end_date: EndDateOpt = None,
    end_date_policy: EndPolicyOpt = EndPolicyChoice.snap,
    check: CheckOpt = None,
    strict: StrictOpt = False,
    dry_run: DryRunOpt = False,
    json_: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Modify a reservation that can still act (CTSC0013U); every term you do not give is kept.

    An active period reservation gets the new terms from its next day on; the order already
    made of it today is separate (modify-order).

    A new end date is checked against the KRX calendar; --check (default against a KIS
    host) runs the pre-flight on the merged terms before sending.
    """
    st = state_of(ctx, json=json_, yes=yes)
    changes: dict[str, Any] = {
        "qty": qty,
        "price": price,
        "order_type": order_type.value if order_type else None,
        "end_date": parse_date(end_date, "--end-date"),
    }
    given = {k: v for k, v in changes.items() if v is not None}
    if not given:
        raise CLIError("nothing to modify", hint="give --qty, --price, --type or --end-date")
    with _reservations(st, end_policy=end_date_policy) as r:
        if dry_run:
            # A new end date is decided by the calendar a real modify consults (KIS's
            # chk-holiday, one read-only GET at most daily), with the same schedule line and
            # snap warning (issue #22, item 6, as for place). Otherwise nothing is sent at all.
            online = changes["end_date"] is not None
            _dry_run(st, [r.describe_modify(seq, **changes, offline=not online)])
            if online:
                sched = r.schedule(changes["end_date"])
                if not st.json:
                    _print(st, _schedule_line(sched))
                for warning in sched.warnings:
                    st.warn(warning)
            return
        summary = ", ".join(f"{k.replace('_', ' ')} → {v}" for k, v in given.items())
        _refuse_early(st, r.client.base_url, f"modify reservation {seq} ({summary})")
        if changes["end_date"] is not None:
            sched = r.schedule(changes["end_date"])
            if not st.json:
                _print(st, _schedule_line(sched))
        st.confirm(r.client.base_url, f"modify reservation {seq} ({summary})")
        result = r.modify_reservation(
            seq, **changes, check=_wants_check(check, strict, r.client.base_url), strict=strict
        )
        for warning in result.warnings:
            st.warn(warning)
        after = _fetch(r, result.seq)
    if st.json:
        emit_json({"result": result, "after": after})
        return
    from ._render import change_table

    _print(
        st,
        f"[green]✓[/] reservation [bold]{result.seq}[/] modified — {result.msg_cd} {result.msg1}"
        + (f" (journal #{result.journal_id})" if result.journal_id else ""),
    )
    if result.before is not None:
        st.out.print(change_table(result.before, after))


def _fetch(r: Reservations, seq: str) -> Any:
    """The reservation after a change, or ``None`` if it cannot be found (display only)."""
    from stock_manager.adapters.broker.kis.reservations import ReservationNotFoundError

    try:
        return r.get_reservation(seq)
    except ReservationNotFoundError:
        return None


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    seq: SeqArg,
    dry_run: DryRunOpt = False,
    json_: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Cancel a reservation that can still act (CTSC0009U).

    For an active period reservation this stops its later days; the order already made of it
    today is separate: cancel it with 'stock-manager resv cancel-order SEQ'.
    """
    st = state_of(ctx, json=json_, yes=yes)
    with _reservations(st) as r:
        if dry_run:
            _dry_run(st, [r.describe_cancel(seq)])
            return
        # Confirm before anything goes out (even the look-up of the current terms).
        st.confirm(r.client.base_url, f"cancel reservation {seq}")
        result = r.cancel_reservation(seq)
    if st.json:
        emit_json(result)
        return
    _print(
        st,
        f"[green]✓[/] reservation [bold]{result.seq}[/] cancelled — {result.msg_cd} {result.msg1}"
        + (f" (journal #{result.journal_id})" if result.journal_id else ""),
    )


@app.command("cancel-all")
def cancel_all(
    ctx: typer.Context,
    symbol: SymbolOpt = None,
    side: SideFilterOpt = None,
    seqs: Annotated[
        list[str] | None,
        typer.Option("--seq", metavar="SEQ", help="Cancel exactly these (repeatable)."),
    ] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    dry_run: DryRunOpt = False,
    json_: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Cancel every reservation that matches and can still act (waiting or active).

    A progress bar and a summary; active period reservations stop their later days only.
    --dry-run lists what would be cancelled (the listing is a read) and the exact requests.

    Exit code 1 when some could not be cancelled, 3 when the outcome of some is unknown.
    Interrupted (Ctrl-C): the per-item summary (cancelled / failed / unknown / not started;
    the ones running were let finish, the others never sent), then exit 3 if some outcome is
    unknown, else 1 if some failed, else 130.
    """
    st = state_of(ctx, json=json_, yes=yes)
    start, end = parse_date(from_, "--from"), parse_date(to, "--to")
    with _reservations(st) as r:
        if dry_run:
            targets = (
                list(seqs)
                if seqs
                else [
                    row.seq
                    for row in r.list_reservations(
                        start,
                        end,
                        symbol=symbol,
                        side=side.value if side else None,
                        status="pending",
                    )
                ]
            )
            if not targets and not st.json:
                _print(st, "dry run: nothing to cancel: no reservation that can still act matches")
                return
            _dry_run(st, [r.describe_cancel(s) for s in targets])
            if not st.json:
                _print(st, f"dry run: would cancel {len(targets)}: {', '.join(targets)}")
            return
        what = "cancel " + (
            f"reservations {', '.join(seqs)}"
            if seqs
            else "ALL pending (waiting or active) reservations"
            + (f" of {symbol}" if symbol else "")
            + (f" ({side.value})" if side else "")
        )
        st.confirm(r.client.base_url, what)
        from stock_manager.adapters.broker.kis.reservations import BulkInterrupted

        interrupted = False
        try:
            with _progress(st) as on_item:
                result = r.cancel_reservations(
                    symbol=symbol,
                    side=side.value if side else None,
                    seqs=seqs or None,
                    start=start,
                    end=end,
                    progress=on_item,
                )
        except BulkInterrupted as stop:
            result, interrupted = stop.result, True
    if st.json:
        emit_json(
            {
                "items": result.items,
                "succeeded": result.succeeded,
                "failed": result.failed,
                "unknown": result.unknown,
                "not_started": result.not_started,
                "interrupted": interrupted,
            }
        )
    elif not result.items:
        _print(st, "nothing to cancel: no reservation that can still act matches")
    else:
        from ._render import bulk_table

        st.out.print(bulk_table(result))
    if result.unknown:
        raise CLIError(
            ("interrupted: " if interrupted else "")
            + f"{result.unknown} cancel(s) may or may not have been processed",
            exit_code=EXIT_UNKNOWN,
            hint="do NOT resend; run: stock-manager resv reconcile --pending",
        )
    if result.failed:
        raise CLIError(
            ("interrupted: " if interrupted else "")
            + f"{result.failed} of {len(result.items)} cancels failed",
            exit_code=EXIT_API,
        )
    if interrupted:
        raise CLIError(
            f"interrupted: {result.succeeded} cancelled, {result.not_started} not started"
            " (nothing was sent for those)",
            exit_code=EXIT_INTERRUPTED,
        )


@contextmanager
def _progress(st: State, console: Any = None) -> Iterator[Any]:
    """A rich progress bar (stderr by default) fed by ``progress(done, total, item)``."""
    if st.json:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    # Transient: the bar goes when the work ends (the summary table says what happened), so
    # an empty run or an interrupted one leaves no stale "0/?" or "4/12" on the screen.
    with Progress(
        TextColumn("cancelling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console or st.err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def on_item(done: int, total: int, item: Any) -> None:
            mark = "✓" if item.ok else ("?" if item.ok is None else "✗")
            bar.update(task, completed=done, total=total, description=f"{mark} {item.seq}")

        yield on_item


# --- reconcile ----------------------------------------------------------------------------------
@app.command("reconcile")
def reconcile(
    ctx: typer.Context,
    entry_id: Annotated[
        int | None,
        typer.Argument(help="Journal entry id (see 'stock-manager journal').", show_default=False),
    ] = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Every entry left pending/unknown (the default).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Judge ENTRY_ID even though the process that sent it still seems to run"
            " (it can be found applied, never 'not applied').",
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Keep asking (inquiries only) until every outcome has a verdict."
        ),
    ] = False,
    settle: Annotated[
        float | None,
        typer.Option(
            "--settle",
            min=0,
            help="Seconds after the read timeout of the last send before 'not applied' can be"
            " said [default: 30].",
            show_default=False,
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Check journal entries against the reservation list: did the change take effect?

    Three answers: applied, not applied, still unknown. "Not applied" is said only once the
    settle window after the send has passed; until then the entry stays pending and the time
    to ask again is printed. Sends only inquiries. Exit code 3 while some outcome is unknown.
    """
    st = state_of(ctx, json=json_)
    if entry_id is not None and pending:
        raise CLIError("give ENTRY_ID or --pending, not both")
    if force and entry_id is None:
        raise CLIError("--force needs an ENTRY_ID")
    with _reservations(st) as r:
        if settle is not None:
            r.settle_s = settle
        try:
            results = _reconcile_round(r, entry_id, force)
            # One status for the whole wait (issue #22 item 13): rewritten on a terminal,
            # printed on a pipe only when it says something new.
            with st.status("warning") as show:
                while wait and (due := _next_check(results)) is not None:
                    _wait_until(show, due, sum(1 for res in results if res.applied is None))
                    again = {res.entry_id for res in results if res.retry_at is not None}
                    fresh = {res.entry_id: res for res in _reconcile_round(r, None, force, again)}
                    results = [fresh.get(res.entry_id, res) for res in results]
        except KeyError:
            raise CLIError(
                f"no journal entry {entry_id}", hint="see: stock-manager journal"
            ) from None
    if st.json:
        emit_json(results)
    else:
        from ._render import reconcile_table

        st.out.print(reconcile_table(results))
    unknown = [res for res in results if res.applied is None]
    if unknown:
        due = _next_check(unknown)
        when = (
            f"ask again after {_kst(due)} (or use --wait)"
            if due is not None
            else "look at the reservations yourself: 'stock-manager resv list'"
        )
        raise CLIError(
            f"{len(unknown)} outcome(s) still unknown; do NOT resend",
            exit_code=EXIT_UNKNOWN,
            hint=when,
        )


def _reconcile_round(
    r: Reservations, entry_id: int | None, force: bool, only: set[int] | None = None
) -> list[Any]:
    if only is not None:
        return [r.reconcile(i, force=force) for i in sorted(only)]
    return [r.reconcile(entry_id, force=force)] if entry_id is not None else r.reconcile_pending()


def _next_check(results: list[Any]) -> Any:
    """The earliest ``retry_at`` of the still-unknown results (``None``: waiting won't help)."""
    times = [res.retry_at for res in results if res.applied is None and res.retry_at is not None]
    return min(times) if times else None


def _kst(moment: Any) -> str:
    from stock_manager.adapters.broker.kis.reservations.models import KST

    return str(moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S KST"))


def _wait_until(show: Callable[[str], None], due: Any, unknown: int) -> None:
    import time
    from datetime import UTC, datetime

    from stock_manager.adapters.broker.kis import constants as C

    # ``due`` is on the journal's clock (the machine's: it measures how long ago the request
    # left), so it is compared with the machine's clock, not the invocation's moved one.
    left = (due - datetime.now(UTC)).total_seconds()
    show(f"{unknown} outcome(s) not known yet; checking again at {_kst(due)}")
    time.sleep(min(C.RECONCILE_POLL_MAX_S, max(0.2, left)))


# --- reservation manager (report, the order a reservation became, plan/apply) ------------------
# The commands live in cli/resv_manager.py; they are registered here so that they sit under 'resv'.
from . import resv_manager as _manager  # noqa: E402

_manager.register(app)
