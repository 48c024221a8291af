"""``stock-manager demo``: the whole reservation lifecycle against an embedded emulator.

The emulator runs in this process on a real socket (127.0.0.1, ephemeral port) with generated
demo credentials; the token cache and the order journal live in a temporary directory that is
deleted afterwards, so the user's real settings, token and journal are never read or touched,
and nothing leaves 127.0.0.1. Every step goes through the same library calls the ``resv``
commands use. Works the same on a terminal and in CI (no TTY): rich simply stops animating.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from . import _meta
from ._runtime import State, emit_json, state_of
from ._typer import Typer

__all__ = ["app", "demo"]

app = Typer()

# (symbol, side, qty, price, order type, end date in days from today or None)
_ORDERS: tuple[tuple[str, str, int, Decimal | None, str, int | None], ...] = (
    ("005930", "buy", 10, Decimal(70000), "limit", None),  # 삼성전자
    ("000660", "buy", 5, Decimal(180000), "limit", None),  # SK하이닉스
    ("035420", "sell", 3, Decimal(210000), "limit", 7),  # NAVER, a period reservation
)
_NEW_PRICE = Decimal(69500)
#: The live-fill step gives up waiting for a notice after this long (it never takes that).
_LIVE_TIMEOUT_S = 10.0


@app.command("demo", help=_meta.COMMAND_HELP["demo"])
def demo(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="JSON summary on stdout.")] = False,
) -> None:
    """Walk the reservation lifecycle against a local emulator (no credentials, no network)."""
    st = state_of(ctx, json=json_)
    from stock_manager.emulator import EmulatorConfig, run_emulator
    from stock_manager.emulator.krx_calendar import KrxCalendar

    # The emulator enforces KIS's reservation window; start its clock where it next opens
    # (15:45 KST the same day when needed) so the demo works at any hour. "Now" is the
    # invocation's one clock (STOCK_MANAGER_NOW moves it).
    config = EmulatorConfig.demo(start_at=KrxCalendar().inside_window(st.clock()))
    with (
        tempfile.TemporaryDirectory(prefix="stock-manager-demo-") as tmp,
        run_emulator(config, host="127.0.0.1", port=0) as emu,
    ):
        summary = _walk(st, emu, Path(tmp))
    if st.json:
        emit_json(summary)


def _walk(st: State, emu: Any, tmp: Path) -> dict[str, Any]:
    from rich.rule import Rule

    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
    from stock_manager.adapters.broker.kis.reservations import Reservations

    from ._render import (
        bulk_table,
        change_table,
        journal_table,
        reservations_table,
    )

    out = st.out
    step = 0

    def title(text: str) -> None:
        nonlocal step
        step += 1
        out.print(Rule(f"[bold]{step}. {text}", align="left"))

    cfg = emu.config
    # Every setting is explicit, so KIS_* variables and .env of the user cannot leak in.
    config = KISConfig(
        kis_app_key=cfg.app_key,
        kis_app_secret=cfg.app_secret,
        kis_account_no=cfg.account,
        mode="real",
        base_url=emu.base_url,
        token_cache_dir=tmp / "tokens",
        journal=True,
        journal_path=tmp / "journal.sqlite3",
        use_hashkey=False,
    )
    title("Start the KIS emulator")
    out.print(
        f"listening on [bold]{emu.base_url}[/] (in this process; nothing leaves 127.0.0.1)\n"
        f"demo app key {config.masked_app_key}, account {config.masked_account};"
        f" token cache and journal in {tmp}",
        soft_wrap=True,
    )
    client = KISRestClient(config)
    try:
        # The demo's world is its emulator: the library reads the emulator's clock, which
        # started inside the entry window (from the invocation's clock), so no check is needed.
        r = Reservations(client, window_policy="ignore", clock=emu.clock.now)

        title("Issue an access token (POST /oauth2/tokenP)")
        client.issue_token()
        token = client.tokens.token
        assert token is not None
        expires = token.expires_at - token.issued_at
        out.print(
            f"token issued (Bearer ***, valid {expires / 3600:.0f} h);"
            f" tokens issued so far: {client.tokens.issued_count}",
            soft_wrap=True,
        )

        title("Place three reservations (CTSC0008U)")
        seqs: list[str] = []
        today = emu.clock.now().date()
        for symbol, side, qty, price, kind, days in _ORDERS:
            # KIS refuses an end date on a closed day: move it to the next open day.
            end = emu.calendar.open_on_or_after(today + timedelta(days=days)) if days else None
            receipt = r.place_reservation(
                symbol, qty=qty, price=price, side=side, order_type=kind, end_date=end
            )
            seqs.append(receipt.seq)
            until = f" until {end.isoformat()}" if end else ""
            out.print(
                f"[green]✓[/] seq [bold]{receipt.seq}[/]: {side} {qty} x {symbol}"
                f" @ {price:,} ({kind}{until}) — {receipt.msg_cd} {receipt.msg1}",
                soft_wrap=True,
            )

        title("List them (CTSC0004R)")
        out.print(reservations_table(list(r.list_reservations()), title="Pending reservations"))

        title(f"Modify {_ORDERS[0][0]}: price {_ORDERS[0][3]:,} → {_NEW_PRICE:,} (CTSC0013U)")
        changed = r.modify_reservation(seqs[0], price=_NEW_PRICE)
        after = r.get_reservation(changed.seq)
        out.print(change_table(changed.before, after))
        out.print("only the price changed; every other term was re-sent unchanged")

        title(f"Cancel {_ORDERS[1][0]} (CTSC0009U)")
        cancelled = r.cancel_reservation(seqs[1])
        out.print(
            f"[green]✓[/] seq [bold]{cancelled.seq}[/] cancelled — {cancelled.msg_cd}"
            f" {cancelled.msg1}",
            soft_wrap=True,
        )

        title("Bulk-cancel the rest")
        from .resv import _progress

        with _progress(st, out) as on_item:
            bulk = r.cancel_reservations(progress=on_item)
        out.print(bulk_table(bulk))

        title("Final state (cancelled included)")
        final = list(r.list_reservations(include_cancelled=True))
        out.print(reservations_table(final, title="All reservations"))

        title("The order journal")
        journal = client.journal
        entries = journal.entries() if journal else []
        out.print(journal_table(entries[::-1]))

        title("A fill arrives live over the WebSocket (execution notice H0STCNI0)")
        live = _live_fill(out, r, emu, config)

        served = len(emu.requests)
        journaled = len(journal.entries()) if journal else 0  # the live step placed one more
        out.print(
            f"\n[bold green]done[/]: {served} requests served by the emulator,"
            f" {client.tokens.issued_count} token issued, {journaled} journal entries;"
            " nothing was sent anywhere else.",
            soft_wrap=True,
        )
        return {
            "base_url": emu.base_url,
            "placed": seqs,
            "modified": {"before": changed.before, "after": after},
            "cancelled": cancelled.seq,
            "bulk_cancel": {"items": bulk.items, "succeeded": bulk.succeeded},
            "final": final,
            "journal": entries[::-1],
            "requests_served": served,
            "tokens_issued": client.tokens.issued_count,
            "live_fill": live,
        }
    finally:
        if client.journal is not None:
            client.journal.close()
        client.close()


def _live_fill(out: Any, r: Any, emu: Any, config: Any) -> dict[str, Any]:
    """Subscribe to execution notices, let the open turn a reservation into an order, fill
    it, and print each notice as it arrives (what ``stock-manager watch`` shows)."""
    import asyncio
    import time

    from stock_manager.notices import ExecutionEvent, NoticeSession, SubscriptionEvent
    from stock_manager.notices.watch import notice_text

    receipt = r.place_reservation("005930", qty=10, price=_NEW_PRICE, side="buy")
    session = NoticeSession(config.model_copy(update={"hts_id": emu.hts_id}))
    seen: list[dict[str, Any]] = []

    async def watch() -> None:
        await session.subscribe_notices()
        started = time.monotonic()
        async for ev in session.events():
            if isinstance(ev, SubscriptionEvent) and ev.active:
                out.print(f"subscribed ({ev.msg_cd} {ev.message}); now the market opens:")
                # The open: the reservation becomes an ordinary order (acceptance notice).
                await asyncio.to_thread(emu.process_day, {receipt.seq: "unfilled"})
            elif isinstance(ev, ExecutionEvent):
                ms = (time.monotonic() - started) * 1000
                out.print(f"[green]●[/] {notice_text(ev)}  [dim](+{ms:.0f} ms)[/]")
                seen.append({"kind": ev.kind, "order_no": ev.order_no, "qty": ev.qty})
                if ev.kind == "accepted":
                    # The exchange fills the order (the emulator's admin fill).
                    await asyncio.to_thread(emu.fill_order, ev.order_no, ev.order_qty, ev.price)
                elif ev.kind == "filled":
                    return

    async def main() -> None:
        try:
            await asyncio.wait_for(watch(), _LIVE_TIMEOUT_S)
        except TimeoutError:
            out.print(f"[yellow]no fill notice within {_LIVE_TIMEOUT_S:g} s[/]")
        finally:
            await session.close()

    asyncio.run(main())
    out.print(
        "the same stream, with REST reconciliation and one session per app key across"
        " processes: [bold]stock-manager watch[/] (docs/notices.md)",
        soft_wrap=True,
    )
    return {"seq": receipt.seq, "notices": seen}
