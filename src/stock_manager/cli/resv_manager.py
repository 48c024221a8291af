"""``stock-manager resv report|cancel-order|modify-order|plan|apply``: the reservation manager.

Each command maps its options onto :class:`stock_manager.manager.ReservationManager` and
formats the result; every decision is the library's.

The manager reads the time through the invocation's one clock (:attr:`State.clock`):
``STOCK_MANAGER_NOW`` (ISO date-time with offset, e.g. ``2026-11-23T16:00+09:00``) starts it at
that instant and it keeps running — for rehearsing against an emulator whose clock was moved
(time travel). It is refused against a KIS host.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ._errors import EXIT_API, EXIT_INTERRUPTED, EXIT_UNKNOWN, CLIError
from ._runtime import NOW_ENV, State, emit_json, parse_date, state_of
from ._typer import JsonOpt, SeqArg, YesOpt

if TYPE_CHECKING:
    from datetime import datetime

    from stock_manager.manager import (
        ApplyItem,
        ApplyResult,
        Plan,
        Report,
        ReservationManager,
        StandingSpec,
    )

__all__ = ["EXIT_ATTENTION", "NOW_ENV", "register"]  # NOW_ENV: defined in ._runtime

#: ``resv report``: something was rejected or not processed.
EXIT_ATTENTION = 4

FileArg = Annotated[str, typer.Argument(metavar="FILE", help="TOML file of [[reservation]]s.")]
PruneOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--prune",
        metavar="SYMBOL",
        help="Also cancel pending reservations of SYMBOL the file does not own (repeatable).",
    ),
]


@contextmanager
def _manager(st: State) -> Iterator[ReservationManager]:
    from stock_manager.manager import ReservationManager

    with st.client(need_account=True) as client:
        m = ReservationManager(client, clock=st.clock)
        try:
            yield m
        finally:
            m.close()


def _money(value: Any) -> str:
    return f"{int(value):,}" if value else "-"


# --- report -------------------------------------------------------------------------------------
def report(
    ctx: typer.Context,
    date_: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="Session (default: the latest).",
            show_default=False,
        ),
    ] = None,
    notify_url: Annotated[
        str | None,
        typer.Option(
            "--notify",
            metavar="URL",
            help="POST the JSON summary (with a 'text' field) to this webhook.",
            show_default=False,
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """The morning report: what KIS did with each reservation, and the fills of its order.

    Exit code 4 when something was rejected or not processed (0 otherwise).
    """
    st = state_of(ctx, json=json_)
    day = parse_date(date_, "--date")
    if notify_url is not None and not notify_url.startswith(("http://", "https://")):
        raise CLIError(f"--notify: {notify_url!r} is not an http(s) URL")
    with _manager(st) as m:
        rep = m.report(day)
        linked = _linked_notices(st, m.client.config, rep)
    if st.json:
        doc = rep.to_dict()
        if linked is not None:
            for row in doc["processed"]:
                row["notices"] = [_notice_doc(e) for e in linked.by_seq.get(row["seq"], [])]
            doc["unlinked_notices"] = [_notice_doc(e) for e in linked.unlinked]
        emit_json(doc)
    else:
        _print_report(st, rep)
        if linked is not None:
            _print_notices(st, rep, linked)
    if notify_url:
        from stock_manager.manager import notify

        problem = notify(notify_url, rep)
        if problem:
            st.warn(problem)
    if rep.attention:
        raise typer.Exit(EXIT_ATTENTION)


def _linked_notices(st: State, config: Any, rep: Report) -> Any:
    """The day's execution notices (logged by ``watch``) by reservation; None if none."""
    from stock_manager.notices.linking import day_notices, link_notices

    try:
        events = day_notices(config, rep.date)
    except Exception as exc:  # the report stands without them; say why they are missing
        st.warn(f"notices of {rep.date} could not be read: {exc}")
        return None
    if not events:
        return None
    rejected = {
        r.seq: (r.symbol, r.side, r.qty, int(r.price))
        for r in rep.processed
        if r.state == "rejected"
    }
    return link_notices({r.odno: r.seq for r in rep.processed if r.odno}, events, rejected)


def _notice_doc(ev: Any) -> dict[str, Any]:
    return {
        "kind": ev.kind,
        "order_no": ev.order_no,
        "original_order_no": ev.original_order_no,
        "qty": ev.qty,
        "price": str(ev.price),
        "time": ev.time,
        "source": ev.source,
    }


def _print_notices(st: State, rep: Report, linked: Any) -> None:
    from rich.markup import escape

    def line(ev: Any) -> str:
        what = f"{ev.kind} {ev.qty} @ {_money(ev.price)}" if ev.kind == "filled" else ev.kind
        return f"{what} {ev.time} ({ev.source})"

    for r in rep.processed:
        evs = linked.by_seq.get(r.seq, [])
        if evs:
            st.out.print(f"  {r.seq} notices: " + escape(", ".join(map(line, evs))), soft_wrap=True)
    if linked.unlinked:
        orders = sorted({e.order_no or "-" for e in linked.unlinked})
        st.out.print(
            f"  {len(linked.unlinked)} notice(s) tied to no reservation (orders "
            + ", ".join(orders)
            + ")",
            soft_wrap=True,
        )


def _widest(rows: Any, attr: str) -> int:
    """Width of the longest ``attr`` among ``rows`` (an identifier column's minimum)."""
    return max((len(str(getattr(r, attr) or "-")) for r in rows), default=len(attr))


def _print_report(st: State, rep: Report) -> None:
    from rich.markup import escape
    from rich.table import Table

    if rep.note:
        st.out.print(f"note: {escape(rep.note)}", soft_wrap=True)
    table = Table(title=f"reservations processed on {rep.date}", title_justify="left")
    # Identifiers and numbers keep their full width (never cut: `00001170…` is no order
    # number); only the free text is narrowed: the name wraps, and KIS's reject reasons are
    # printed below the table, one line each, where they have the whole width.
    for col in ("seq", "symbol"):
        table.add_column(col, no_wrap=True, min_width=_widest(rep.processed, col))
    table.add_column("name", overflow="fold", ratio=1)
    for col in ("side", "qty", "price", "result"):
        table.add_column(col, justify="right" if col in ("qty", "price") else "left", no_wrap=True)
    table.add_column("odno", no_wrap=True, min_width=_widest(rep.processed, "odno"))
    table.add_column("state", no_wrap=True)
    for col in ("filled", "avg", "remaining"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rep.processed if rep.kind != "future" else ():
        state = r.state + (" (open)" if r.open else "")
        table.add_row(
            r.seq,
            r.symbol,
            escape(r.name),
            r.side,
            str(r.qty),
            _money(r.price),
            escape(r.result),
            r.odno or "-",
            state,
            str(r.filled_qty),
            _money(r.avg_price),
            str(r.remaining_qty),
        )
    if rep.kind != "future":
        st.out.print(table)
        for r in rep.processed:
            if r.reason.strip():
                st.out.print(
                    f"  {r.seq} {r.symbol} {r.state}: {escape(r.reason.strip())}", soft_wrap=True
                )
    if rep.waiting:
        waiting = Table(title="still waiting", title_justify="left")
        for col in ("seq", "symbol", "side", "qty", "price", "end date", "ends soon"):
            waiting.add_column(col)
        soon = {r.seq for r in rep.ending_soon}
        for r in rep.waiting:
            waiting.add_row(
                r.seq,
                r.symbol,
                r.side,
                str(r.qty),
                _money(r.price),
                r.end_date.isoformat() if r.end_date else "one day",
                "yes" if r.seq in soon else "",
            )
        st.out.print(waiting)
    st.out.print(escape(rep.text), soft_wrap=True)


# --- the ordinary order -------------------------------------------------------------------------
def cancel_order(
    ctx: typer.Context, seq: SeqArg, json_: JsonOpt = False, yes: YesOpt = False
) -> None:
    """Cancel the open remainder of today's order from reservation SEQ (TTTC0013U)."""
    st = state_of(ctx, json=json_, yes=yes)
    with _manager(st) as m:
        st.confirm(m.client.base_url, f"cancel today's order from reservation {seq}")
        with _unknown_hint():
            result = m.cancel_order(seq)
    _print_change(st, result)


def modify_order(
    ctx: typer.Context,
    seq: SeqArg,
    price: Annotated[str, typer.Option("--price", "-p", help="New price in won.")],
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="Tick and price-band pre-flight of the new price (as 'resv place') before"
            " sending; on by default: the new price goes to the market at once.",
        ),
    ] = True,
    strict: Annotated[
        bool, typer.Option("--strict", help="Pre-flight findings refuse instead of warn.")
    ] = False,
    json_: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Re-price the open remainder of today's order from reservation SEQ (TTTC0013U).

    The new price is checked first as 'resv place' checks one (tick, next session's band);
    findings are warnings, refusals with --strict (exit 2, nothing sent).
    """
    from stock_manager.adapters.broker.kis.reservations.models import OrderChanges

    st = state_of(ctx, json=json_, yes=yes)
    # The library's price rule (ASCII digits, whole won), as for place and modify: Decimal()
    # alone read "7_0000", "1,0" and full-width digits as numbers.
    p = OrderChanges.build("new price", price=price).price
    assert p is not None
    with _manager(st) as m:
        st.confirm(m.client.base_url, f"re-price today's order from reservation {seq} to {p}")
        with _unknown_hint():
            result = m.modify_order(seq, p, check=check or strict, strict=strict)
    for warning in result.warnings:
        st.warn(f"pre-flight {warning}")
    _print_change(st, result)


@contextmanager
def _unknown_hint() -> Iterator[None]:
    """An order change whose outcome is unknown is settled by reconcile-orders."""
    from stock_manager.adapters.broker.kis.errors import OrderOutcomeUnknownError

    try:
        yield
    except OrderOutcomeUnknownError as exc:
        raise CLIError(
            str(exc),
            exit_code=EXIT_UNKNOWN,
            hint="do NOT resend; run: stock-manager resv reconcile-orders",
        ) from None


def reconcile_orders(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Settle cancel-order/modify-order requests whose outcome is unknown (reads only).

    Exit code 3 while some outcome still cannot be told.
    """
    st = state_of(ctx, json=json_)
    with _manager(st) as m:
        results = m.reconcile_orders()
    if st.json:
        emit_json(results)
    else:
        from ._render import reconcile_table

        st.out.print(reconcile_table(results))
    unknown = [r for r in results if r.applied is None]
    if unknown:
        raise CLIError(f"{len(unknown)} outcome(s) still unknown", exit_code=EXIT_UNKNOWN)


def _print_change(st: State, result: Any) -> None:
    if st.json:
        emit_json(result)
        return
    verb = "cancelled" if result.action == "cancel" else f"re-priced to {result.price}"
    st.out.print(
        f"[green]✓[/] order {result.target_odno} (from reservation {result.seq}): {result.qty}"
        f" open share(s) {verb} as order {result.new_odno} — {result.msg_cd} {result.msg1}"
        + (f" (journal #{result.journal_id})" if result.journal_id else ""),
        soft_wrap=True,
    )


# --- plan / apply -------------------------------------------------------------------------------
def _load_spec(st: State, file: str) -> StandingSpec:
    """The validated FILE; else every problem on its own stderr line, then exit 2.

    Each line reads ``FILE:LINE:COLUMN: reservation 'id': field: message`` (the form editors
    jump to); the closing ``error:`` line is the one-line summary every command ends with.
    """
    from stock_manager.manager import SpecError, load_spec

    try:
        return load_spec(file)
    except SpecError as exc:
        for line in exc.problems:
            st.err.print(line, markup=False, highlight=False, soft_wrap=True)
        raise CLIError(
            f"{file}: {len(exc.problems)} problem(s); nothing was sent",
            hint="fix them and run again",
        ) from None


def plan(ctx: typer.Context, file: FileArg, prune: PruneOpt = None, json_: JsonOpt = False) -> None:
    """What 'apply FILE' would do now, and why (sends only reads)."""
    st = state_of(ctx, json=json_)
    spec = _load_spec(st, file)  # every problem, with line numbers, before any request
    with _manager(st) as m:
        p = m.plan(spec, prune=prune or ())
    if st.json:
        emit_json(_plan_json(p))
        return
    _print_plan(st, p)


def _plan_json(p: Plan) -> dict[str, Any]:
    from ._runtime import to_jsonable

    return {
        "namespace": p.namespace,
        "order_day": p.order_day.isoformat(),
        "counts": p.counts(),
        "items": [{**to_jsonable(i), "sends": i.sends} for i in p.items],
    }


def _print_plan(st: State, p: Plan) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"plan for {p.namespace} (orders go out on {p.order_day})")
    for col in ("action", "id", "seq", "terms", "end", "reason"):
        table.add_column(col)
    for i in p.items:
        terms = f"{i.side} {i.qty} x {i.symbol} @ {_money(i.price)}" if i.symbol else ""
        table.add_row(
            i.action,
            i.id or "-",
            i.seq or "",
            terms,
            i.end_date.isoformat() if i.end_date else "",
            escape(i.reason),
        )
    st.out.print(table)
    c = p.counts()
    st.out.print(
        f"{c['place']} to place, {c['modify']} to modify, {c['cancel']} to cancel,"
        f" {c['renew']} to renew, {c['keep']} kept"
        + (f", {c['wait']} in flight elsewhere" if c["wait"] else ""),
        soft_wrap=True,
    )


def apply(
    ctx: typer.Context,
    file: FileArg,
    prune: PruneOpt = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Outside the entry window, wait for it to open.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and the exact requests; send none.")
    ] = False,
    json_: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Make the live reservations match FILE (journaled; re-running is safe).

    Exit code 1 when some item failed, 3 when the outcome of some is unknown.
    """
    st = state_of(ctx, json=json_, yes=yes)
    spec = _load_spec(st, file)
    done: list[ApplyItem] = []  # what Ctrl-C leaves behind is said from these
    opened: list[datetime] = []
    planned: list[Plan] = []
    with _manager(st) as m:
        if not dry_run:
            st.confirm(m.client.base_url, f"apply {file} to the live reservations")
        # Issue #22 item 12: say what --wait waits for and until when (one line on a pipe,
        # an updating status on a terminal), and on Ctrl-C what was done and what was not.
        try:
            with st.status() as show:

                def on_wait(opens: datetime) -> None:
                    opened.append(opens)
                    show(
                        f"waiting until {_kst(opens)} for the reservation entry window to open"
                        f" (nothing is sent before; Ctrl-C stops)"
                    )

                result = m.apply(
                    spec,
                    prune=prune or (),
                    wait=wait,
                    dry_run=dry_run,
                    progress=done.append,
                    on_wait=on_wait,
                    on_plan=planned.append,
                )
        except KeyboardInterrupt:
            # Outside the status: on a terminal its redraw would erase the summary.
            _interrupted_apply(st, done, opened, planned[-1] if planned else None)
    if st.json:
        emit_json(_apply_json(result))
    else:
        _print_apply(st, result)
    if result.unknown:
        raise CLIError(
            f"{result.unknown} item(s) may or may not have been processed",
            exit_code=EXIT_UNKNOWN,
            hint="run apply again: it settles them from the book without placing twice",
        )
    if result.failed:
        raise CLIError(f"{result.failed} item(s) failed", exit_code=EXIT_API)


def _kst(moment: datetime) -> str:
    from stock_manager.adapters.broker.kis.reservations.models import KST

    return f"{moment.astimezone(KST):%Y-%m-%d %H:%M} KST"


def _interrupted_apply(
    st: State, done: list[ApplyItem], opened: list[datetime], plan: Plan | None
) -> NoReturn:
    """Ctrl-C during ``apply``: print what was done and what was not (each change by name),
    then exit 130."""
    from rich.markup import escape

    def name(item: Any) -> str:
        return f"{item.action} {item.id or item.seq}"

    if plan is None:  # before the plan was made: only reads (and waiting) happened
        before = f" before the window opened ({_kst(opened[-1])})" if opened else ""
        st.out.print(
            f"interrupted{before}: nothing was sent; no change of the file was applied",
            soft_wrap=True,
        )
    for i in done:
        mark = "done" if i.ok else ("unknown" if i.ok is None else "failed")
        st.out.print(f"{mark}: {name(i.item)}: {escape(i.detail)}", soft_wrap=True)
    # Items run one after another: the first one not finished is the one Ctrl-C stopped.
    rest = plan.changes[len(done) :] if plan is not None else ()
    if rest:
        st.out.print(
            f"interrupted: {name(rest[0])}: outcome unknown if its request had left (the"
            " journal has it; apply again settles it from the book)",
            soft_wrap=True,
        )
    for item in rest[1:]:
        st.out.print(f"not started: {name(item)}: nothing was sent", soft_wrap=True)
    if plan is not None and not plan.changes:
        st.out.print("interrupted: the plan had no change to make; nothing was sent")
    raise CLIError(
        f"interrupted: {sum(1 for i in done if i.ok)} change(s) made, the rest not applied",
        exit_code=EXIT_INTERRUPTED,
        hint="run apply again: it settles what was in flight from the book and does the rest",
    )


def _apply_json(r: ApplyResult) -> dict[str, Any]:
    from ._runtime import to_jsonable

    return {
        **_plan_json(r.plan),
        "dry_run": r.dry_run,
        "reconciled": list(r.reconciled),
        "order_requests": r.order_requests,
        "results": [
            {
                "action": i.item.action,
                "id": i.item.id,
                "seq": i.seq,
                "ok": i.ok,
                "detail": i.detail,
                "journal_id": i.journal_id,
            }
            for i in r.items
        ],
        "requests": to_jsonable(list(r.described)),
    }


def _print_apply(st: State, r: ApplyResult) -> None:
    from rich.markup import escape

    for line in r.reconciled:
        st.out.print(f"[cyan]reconciled:[/] {escape(line)}", soft_wrap=True)
    _print_plan(st, r.plan)
    if r.dry_run:
        from ._render import request_panel

        for item in r.described:
            st.out.print(request_panel(item))
        st.out.print("dry run: nothing was sent")
        return
    for i in r.items:
        mark = "[green]✓[/]" if i.ok else ("[yellow]?[/]" if i.ok is None else "[red]✗[/]")
        st.out.print(
            f"{mark} {i.item.action} {i.item.id or i.item.seq}: {escape(i.detail)}", soft_wrap=True
        )
    st.out.print(f"{r.order_requests} order request(s) sent", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the manager's commands to the ``resv`` group."""
    app.command("report")(report)
    app.command("cancel-order")(cancel_order)
    app.command("modify-order")(modify_order)
    app.command("reconcile-orders")(reconcile_orders)
    app.command("plan")(plan)
    app.command("apply")(apply)
