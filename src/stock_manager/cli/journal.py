"""``stock-manager journal``: the order journal, newest first (changes nothing).

It needs no credentials: without them the journal is looked for where the settings would put
it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from . import _meta
from ._errors import CLIError
from ._runtime import State, emit_json, state_of
from ._typer import JsonOpt, Typer

__all__ = ["app", "journal"]

app = Typer()


def _journal_path(st: State) -> Path | None:
    """Where the journal is (``None`` when switched off), even without credentials."""
    from stock_manager.adapters.broker.kis import KISConfigError

    try:
        config = st.config()
    except KISConfigError:
        # No credentials needed just to read the journal: use what the settings would say.
        overrides = st.config_overrides()
        if overrides.get("journal_path"):
            return Path(overrides["journal_path"]).expanduser()
        if os.environ.get("KIS_JOURNAL_PATH"):
            return Path(os.environ["KIS_JOURNAL_PATH"]).expanduser()
        from stock_manager.adapters.broker.kis.config import default_state_dir

        return default_state_dir() / "journal.sqlite3"
    return config.effective_journal_path if config.journal else None


@app.command("journal", help=_meta.COMMAND_HELP["journal"])
def journal(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N entries.")] = 20,
    pending: Annotated[
        bool, typer.Option("--pending", help="Only entries to reconcile (pending/unknown).")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Show the order journal, newest first."""
    st = state_of(ctx, json=json_)
    path = _journal_path(st)
    if path is None:
        raise CLIError("the order journal is switched off (KIS_JOURNAL=false)")
    entries: list[Any] = []
    # Do not create an empty journal file just to say that it is empty.
    if path.exists():
        from stock_manager.journal import OrderJournal

        with OrderJournal(path) as jr:
            entries = jr.needs_reconcile()[::-1][:limit] if pending else jr.entries(limit=limit)
    if st.json:
        emit_json(entries)
        return
    from ._render import journal_table

    title = "Entries to reconcile" if pending else "Order journal"
    empty = "nothing pending: no entry needs reconciling" if pending else "the journal is empty"
    st.out.print(journal_table(entries, title=f"{title} ({path})", empty=empty))
    if pending and entries:
        st.out.print("reconcile them with: stock-manager resv reconcile --pending", soft_wrap=True)
