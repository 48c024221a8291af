"""``stock-manager watch``: the day's orders and fills as they happen (KIS WebSocket notices).

On a terminal a live table of the orders, with each notice printed above it; on a pipe (or
with ``--json``) one JSON object per line, the event as :meth:`Event.to_json` writes it
(account masked). ``--notify URL`` posts each fill and rejection (Slack-style ``text``).
Ctrl-C (or SIGTERM) ends it with a summary and exit code 0.

Every process watching one app key shares one WebSocket session (KIS allows one per key):
one holds it, the others follow its events (:mod:`stock_manager.notices.shared`, backend
chosen by ``KIS_SHARED_STATE``). REST is the truth: after every (re)connect the holder
reconciles with 주식일별주문체결조회; fills learnt that way say ``"source": "rest"``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import _meta
from ._errors import CLIError
from ._runtime import State, state_of
from ._typer import Typer

if TYPE_CHECKING:
    from rich.table import Table

    from stock_manager.adapters.broker.kis import KISConfig
    from stock_manager.notices.events import Event
    from stock_manager.notices.watch import WatchBook

__all__ = ["app", "watch"]

app = Typer()

#: Seconds to let the webhook finish and the session close after Ctrl-C.
_STOP_GRACE_S = 5.0


@app.command("watch", help=_meta.COMMAND_HELP["watch"])
def watch(
    ctx: typer.Context,
    symbol: Annotated[
        list[str] | None,
        typer.Option(
            "--symbol",
            "-s",
            metavar="CODE",
            help="Only notices of this stock code (repeatable).",
            show_default=False,
        ),
    ] = None,
    notify_url: Annotated[
        str | None,
        typer.Option(
            "--notify",
            metavar="URL",
            help="POST each fill and rejection (JSON with a 'text' field) to this webhook.",
            show_default=False,
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
) -> None:
    """Watch the day's orders and fills live (WebSocket notices; REST is the truth).

    JSON lines when stdout is not a terminal. Ctrl-C prints a summary and exits 0.
    """
    st = state_of(ctx, json=json_)
    from stock_manager.notices.watch import WatchBook, krx_symbol

    try:
        symbols = frozenset(krx_symbol(s) for s in symbol or ())
    except ValueError as exc:
        raise CLIError(f"--symbol: {exc}") from None
    if notify_url is not None and not notify_url.startswith(("http://", "https://")):
        raise CLIError(f"--notify: {notify_url!r} is not an http(s) URL")
    config = st.config(need_account=True)
    if not config.hts_id:
        raise CLIError(
            "watch needs your HTS ID: execution notices are keyed by it",
            hint="export KIS_HTS_ID=<your HTS login ID> (or hts_id in the profile)",
        )
    lines = st.json or not sys.stdout.isatty()
    book = WatchBook(symbols=symbols)
    asyncio.run(_watch(st, config, book, lines=lines, notify_url=notify_url))


async def _watch(
    st: State, config: KISConfig, book: WatchBook, *, lines: bool, notify_url: str | None
) -> None:
    from stock_manager.adapters.broker.kis.client import AsyncKISRestClient
    from stock_manager.notices.ledger import FillLedger
    from stock_manager.notices.reconcile import daily_ccld_fetch
    from stock_manager.notices.session import NoticeSession
    from stock_manager.notices.shared import SharedSession, open_channel
    from stock_manager.notices.watch import Webhook

    clock = st.clock
    rest = AsyncKISRestClient(config)
    fetch = daily_ccld_fetch(rest, clock.today)

    def make_session(ledger: FillLedger) -> NoticeSession:
        return NoticeSession(config, fetch=fetch, ledger=ledger)

    shared = SharedSession(open_channel(config, clock.today()), make_session)
    hook = Webhook(notify_url, book) if notify_url else None
    view = _View(st, book, lines=lines)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def consume() -> None:
        async for ev in shared.events():
            if not book.wants(ev):
                continue
            book.add(ev)
            view.show(ev)
            if hook is not None:
                hook.offer(ev)

    task = asyncio.create_task(consume())
    stopper = asyncio.create_task(stop.wait())
    try:
        with view:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            await shared.close()
            try:
                await asyncio.wait_for(task, _STOP_GRACE_S)
            except TimeoutError:
                task.cancel()
            if hook is not None:
                await hook.drain(_STOP_GRACE_S)
    finally:
        stopper.cancel()
        await rest.aclose()
    for problem in dict.fromkeys(hook.problems if hook else []):
        st.warn(problem)
    view.summary()
    failure = task.exception() if task.done() and not task.cancelled() else None
    if failure is not None:
        raise failure  # the stream itself failed (e.g. KIS does not know the app key)


class _View:
    """JSON lines, or a live table on a terminal."""

    def __init__(self, st: State, book: WatchBook, *, lines: bool) -> None:
        self.st, self.book, self.lines = st, book, lines
        self._live: Any = None

    def __enter__(self) -> _View:
        if not self.lines:
            from rich.live import Live

            self._live = Live(self._table(), console=self.st.out, auto_refresh=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def show(self, ev: Event) -> None:
        if self.lines:
            sys.stdout.write(json.dumps(ev.to_json(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        line = _line(ev)
        if line and self._live is not None:
            self._live.console.print(line, soft_wrap=True, highlight=False, markup=False)
            self._live.update(self._table(), refresh=True)

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(
            title="today's orders (stock-manager watch; Ctrl-C to stop)", title_justify="left"
        )
        for col in ("order", "symbol", "side", "qty", "price", "filled", "avg", "state", "time"):
            right = col in ("qty", "price", "filled", "avg")
            table.add_column(col, justify="right" if right else "left")
        for r in self.book.orders.values():
            table.add_row(
                r.order_no,
                f"{r.symbol} {r.name}".strip(),
                r.side,
                f"{r.order_qty:,}",
                f"{r.price:,}" if r.price else "-",
                f"{r.filled:,}",
                f"{r.avg_price:,}" if r.filled else "-",
                r.state,
                r.time,
            )
        return table

    def summary(self) -> None:
        if self.lines:
            sys.stdout.write(json.dumps(self.book.summary(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        self.st.err.print(f"summary: {self.book.summary_text()}", soft_wrap=True, markup=False)


def _line(ev: Event) -> str:
    from stock_manager.notices.events import (
        Connected,
        Disconnected,
        ErrorEvent,
        ExecutionEvent,
        Reconciled,
        Role,
    )
    from stock_manager.notices.watch import notice_text

    if isinstance(ev, ExecutionEvent):
        return notice_text(ev)
    if isinstance(ev, Role):
        what = "holds the WebSocket session" if ev.role == "holder" else "follows the holder"
        return f"this process {what} ({ev.detail})"
    if isinstance(ev, Connected):
        return f"connected (#{ev.attempt})"
    if isinstance(ev, Disconnected):
        return f"disconnected: {ev.reason}; retrying in {ev.retry_in:.1f} s"
    if isinstance(ev, Reconciled):
        return f"reconciled with REST: {ev.orders} orders, {ev.filled_in} fills filled in"
    if isinstance(ev, ErrorEvent):
        return f"error {ev.code}: {ev.message}"
    return ""
