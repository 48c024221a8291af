"""Shared plumbing of the commands: global options, consoles, settings, confirmation.

Settings precedence (highest first): ``--emulator URL``; the ``--profile`` section of
``$XDG_CONFIG_HOME/stock-manager/config.toml`` (an explicit choice on the command line, so it
beats the environment); ``KIS_*`` environment variables; ``.env`` (the last two are read by
:class:`~stock_manager.adapters.broker.kis.KISConfig` itself).

Nothing here talks HTTP; the KIS library is imported lazily, inside the functions.

**One clock.** Every command reads the time through :attr:`State.clock` (built once per
invocation by :func:`clock_from_env`): the machine's clock, or — with ``STOCK_MANAGER_NOW``
(an ISO date-time with offset, e.g. ``2026-12-06T20:00+09:00``) — a clock that *starts* at that
instant when the command starts and keeps running (monotonic elapsed time is added), as the
emulator's ``--clock`` does. It is for rehearsing against an emulator whose clock was moved,
and it is refused against a KIS host. The order journal keeps the machine's clock: it measures
how long ago a request left (settle windows across processes), not what day it is.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stock_manager._hosts import is_kis_host
from stock_manager._jsonable import to_jsonable

from ._errors import EXIT_API, EXIT_USAGE, CLIError

if TYPE_CHECKING:
    from rich.console import Console

    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient

__all__ = [
    "NOW_ENV",
    "Clock",
    "State",
    "clock_from_env",
    "config_file",
    "configure_logging",
    "emit_json",
    "emit_json_stream",
    "is_kis_host",
    "load_profile",
    "parse_date",
    "profile_table",
    "show_dry_run",
    "show_sharing_warnings",
    "state_of",
    "to_jsonable",
]

# Keys a profile may set, and the KISConfig field each one feeds.
PROFILE_KEYS: dict[str, str] = {
    "app_key": "kis_app_key",
    "app_secret": "kis_app_secret",
    "account_no": "kis_account_no",
    "mode": "mode",
    "base_url": "base_url",
    "custtype": "custtype",
    "token_cache_dir": "token_cache_dir",
    "journal_path": "journal_path",
    "journal": "journal",
    "rate_limit": "rate_limit",
    "use_hashkey": "use_hashkey",
    # "file" or a redis:// URL, as KIS_SHARED_STATE; a password in it is masked wherever shown
    "shared_state": "shared_state",
    # the HTS ID real-time execution notices are keyed by (stock-manager watch), as KIS_HTS_ID
    "hts_id": "hts_id",
}


#: The instant the CLI's clock starts from (emulators only): ISO date-time with an offset.
NOW_ENV = "STOCK_MANAGER_NOW"
_KST = timezone(timedelta(hours=9), "KST")  # here, not imported: this module stays light


class Clock:
    """The one clock of a CLI invocation: ``clock()`` is "now" (aware, KST).

    Without ``start`` it is the machine's clock. With ``start`` it reads ``start`` plus the
    time elapsed on ``monotonic`` since the clock was made (``t0``, default: now) — it starts at
    the override and keeps running, like the emulator's ``--clock``.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        t0: float | None = None,
    ) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("the start of a clock needs a timezone")
        self.start = start
        self._monotonic = monotonic
        self._t0 = monotonic() if t0 is None else t0

    @property
    def overridden(self) -> bool:
        """Whether the clock was moved (``STOCK_MANAGER_NOW``)."""
        return self.start is not None

    def __call__(self) -> datetime:
        if self.start is None:
            return datetime.now(_KST)
        return (self.start + timedelta(seconds=self._monotonic() - self._t0)).astimezone(_KST)

    def today(self) -> date:
        """Today's date in Korea on this clock."""
        return self().date()

    def __repr__(self) -> str:
        return f"Clock(start={self.start.isoformat() if self.start else None})"


def clock_from_env(
    environ: Any = None, *, monotonic: Callable[[], float] = time.monotonic, t0: float | None = None
) -> Clock:
    """The clock ``STOCK_MANAGER_NOW`` asks for (the machine's when unset); bad text: exit 2."""
    raw = (os.environ if environ is None else environ).get(NOW_ENV, "").strip()
    if not raw:
        return Clock(monotonic=monotonic, t0=t0)
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise CLIError(f"{NOW_ENV}: {raw!r} is not an ISO date-time") from None
    if at.tzinfo is None:
        raise CLIError(f"{NOW_ENV} needs an offset, e.g. 2026-12-06T20:00+09:00")
    return Clock(at, monotonic=monotonic, t0=t0)


# Sub-tables a profile may hold besides its KISConfig keys: [NAME.mcp] (see profile_table).
PROFILE_TABLES = ("mcp",)


def profile_table(name: str, table: str, path: Path | None = None) -> Any:
    """The ``[name.table]`` sub-table of a profile (``None`` when absent); the profile itself
    must exist (a :class:`CLIError` otherwise, as for :func:`load_profile`)."""
    import tomllib

    load_profile(name, path)  # the same errors for a missing file/profile or a bad key
    with (path or config_file()).open("rb") as fh:
        return tomllib.load(fh)[name].get(table)


def config_file() -> Path:
    """``$XDG_CONFIG_HOME/stock-manager/config.toml`` (``~/.config/...`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "stock-manager" / "config.toml"


def load_profile(name: str, path: Path | None = None) -> dict[str, Any]:
    """The KISConfig keyword arguments of profile ``name``; :class:`CLIError` (exit 2) if bad."""
    import tomllib

    path = path or config_file()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise CLIError(
            f"profile {name!r} requested but {path} does not exist",
            hint=f"create it with a [{name}] section (app_key, app_secret, account_no, ...)",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"{path} is not valid TOML: {exc}") from None
    section = data.get(name)
    if not isinstance(section, dict):
        known = ", ".join(k for k, v in data.items() if isinstance(v, dict)) or "none"
        raise CLIError(f"no profile [{name}] in {path} (profiles: {known})")
    # [NAME.mcp] holds the MCP server's limits (stock_manager.mcp.limits), not KISConfig keys.
    section = {k: v for k, v in section.items() if k not in PROFILE_TABLES}
    unknown = sorted(set(section) - set(PROFILE_KEYS))
    if unknown:
        raise CLIError(
            f"unknown key(s) {', '.join(unknown)} in [{name}] of {path}",
            hint="allowed: " + ", ".join(PROFILE_KEYS),
        )
    return {PROFILE_KEYS[k]: v for k, v in section.items()}


def profile_wording(message: str, profile: str, path: Path | None = None) -> str:
    """A config error of the library, reworded for settings that come from ``profile``.

    The library names a field by its variable (``kis_account_no (KIS_ACCOUNT_NO): ...``). A key
    the profile sets is named as ``account_no in [work] of FILE``; a key it does not set as
    ``account_no (set it in [work] of FILE, or KIS_ACCOUNT_NO)``.
    """
    path = path or config_file()
    try:
        section = load_profile(profile, path)
    except CLIError:
        section = {}
    by_field = {field: key for key, field in PROFILE_KEYS.items()}

    def reword(match: re.Match[str]) -> str:
        field, env = match.group(1), match.group(2)
        key = by_field.get(field, field)
        if field in section:
            return f"{key} in [{profile}] of {path}"
        return f"{key} (set it in [{profile}] of {path}, or {env})"

    text = re.sub(r"\b([a-z_]+) \((KIS_[A-Z_]+)\)", reword, message)
    if text == message and "KIS_ACCOUNT_NO is not set" in message:
        text = message.replace(
            "KIS_ACCOUNT_NO is not set",
            f"account_no is not set in [{profile}] of {path} (nor KIS_ACCOUNT_NO)",
        )
    return text


def parse_date(value: str | None, option: str) -> date | None:
    """``YYYY-MM-DD`` (or ``YYYYMMDD``) → date; a bad value is a usage error (exit 2)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CLIError(f"{option}: {value!r} is not a date; use YYYY-MM-DD (e.g. 2026-07-15)")


def emit_json(obj: Any) -> None:
    """Write ``obj`` as JSON to stdout — the only thing a ``--json`` command prints there."""
    sys.stdout.write(json.dumps(to_jsonable(obj), ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def show_dry_run(st: State, described: Iterable[Any]) -> None:
    """Show the requests a ``--dry-run`` would have sent (already masked); nothing was sent."""
    if st.json:
        emit_json({"dry_run": True, "requests": described})
        return
    from ._render import request_panel

    for item in described:
        st.out.print(request_panel(item))


def emit_json_stream(items: Iterable[Any]) -> int:
    """Write ``items`` as one JSON array to stdout, an item at a time; return how many.

    The text is exactly what :func:`emit_json` prints for ``list(items)``, but memory stays flat
    however long the listing is. ``[`` is written only once the first item has arrived, so an
    error on the first page leaves stdout empty (as with :func:`emit_json`).
    """
    write = sys.stdout.write
    count = 0
    for item in items:
        text = json.dumps(to_jsonable(item), ensure_ascii=False, indent=2)
        write(("[\n  " if count == 0 else ",\n  ") + text.replace("\n", "\n  "))
        count += 1
    write("\n]\n" if count else "[]\n")
    sys.stdout.flush()
    return count


def configure_logging(debug: bool) -> None:
    """Debug logs on stderr with ``--debug``; otherwise keep the library's warnings quiet.

    The library logs warnings (e.g. "outside the reservation window") that the commands
    already show in their own words; :func:`show_sharing_warnings` shows those no command does.
    Called by the global options' callback (``app._global``).
    """
    import logging

    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    else:
        logging.getLogger("stock_manager").addHandler(logging.NullHandler())
        logging.getLogger("stock_manager").propagate = False
        show_sharing_warnings()


# Library warnings no command shows in its own words: waiting out KIS's token minute, a token
# cache path that cannot be used, Redis lost or back, the rate lowered after EGW00201 (#9), our
# clock found off from KIS's (#18).
_SHOWN_LOGGERS = (
    "stock_manager.kis.auth",
    "stock_manager.kis.skew",
    "stock_manager.kis.shared_state",
    "stock_manager.kis.rate_limit",
)


def show_sharing_warnings() -> None:
    """Print those loggers' warnings on stderr as ``warning: ...`` (secrets scrubbed)."""
    import logging

    def scrub(record: logging.LogRecord) -> bool:
        # Imported on the first warning only: start-up stays as fast as it was.
        from stock_manager.masking import SECRET_FILTER

        return SECRET_FILTER.filter(record)

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    handler.addFilter(scrub)
    # A rehearsal (STOCK_MANAGER_NOW, emulators only) moved the emulator's clock on purpose:
    # the skew measured then is that move, not a fault of this machine's clock. Reconcile still
    # allows for it; only the warning is not shown.
    rehearsal = bool(os.environ.get(NOW_ENV, "").strip())
    for name in _SHOWN_LOGGERS:
        if rehearsal and name == "stock_manager.kis.skew":
            continue
        logger = logging.getLogger(name)
        if not any(getattr(h, "_stock_manager_cli", False) for h in logger.handlers):
            handler._stock_manager_cli = True  # type: ignore[attr-defined]
            logger.addHandler(handler)


#: Width of the console when the stream is not a terminal and COLUMNS is unset (off a terminal
#: rich assumes 80 columns; tables read better a little wider in CI logs).
PIPE_WIDTH = 120


def _make_console(*, stderr: bool) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    no_color = bool(os.environ.get("NO_COLOR"))
    width = None if tty or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(
        file=stream,
        stderr=stderr,
        no_color=no_color,
        highlight=False,
        width=width,
        soft_wrap=False,
    )


@dataclass
class State:
    """Global options of one invocation, plus the objects built from them on demand."""

    emulator: str | None = None
    profile: str | None = None
    json: bool = False
    debug: bool = False
    yes: bool = False
    _out: Console | None = field(default=None, repr=False)
    _err: Console | None = field(default=None, repr=False)
    _clock: Clock | None = field(default=None, repr=False)
    # When this invocation started: the moved clock runs from here (see :attr:`clock`).
    _t0: float = field(default_factory=time.monotonic, repr=False)

    # --- time ---------------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        """The invocation's one clock (``STOCK_MANAGER_NOW``, else the machine's).

        Every command, the library objects it builds included, reads the time through it.
        """
        if self._clock is None:
            self._clock = clock_from_env(t0=self._t0)
        return self._clock

    def check_clock(self, base_url: str) -> None:
        """Refuse a moved clock against a KIS host (it is for emulators only)."""
        if os.environ.get(NOW_ENV, "").strip() and is_kis_host(base_url):
            raise CLIError(f"{NOW_ENV} is for emulators only; unset it to talk to KIS")

    # --- output -------------------------------------------------------------------------
    @property
    def out(self) -> Console:
        """Console for human output. With ``--json`` it writes to stderr, keeping stdout clean."""
        if self._out is None:
            self._out = _make_console(stderr=self.json)
        return self._out

    @property
    def out_built(self) -> bool:
        """Whether :attr:`out` exists (then listings print through it, not to stdout directly)."""
        return self._out is not None

    @property
    def err(self) -> Console:
        """Console for warnings and progress (stderr)."""
        if self._err is None:
            self._err = _make_console(stderr=True)
        return self._err

    def warn(self, message: str) -> None:
        """One warning line on stderr."""
        from rich.markup import escape

        self.err.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)

    @contextmanager
    def status(self, prefix: str = "") -> Iterator[Callable[[str], None]]:
        """One updating status line on stderr for a long wait; yields ``show(text)``.

        On a terminal it is a rich status (a spinner and the text, rewritten in place and gone
        when the wait ends). Elsewhere (a pipe, a log file) nothing can be rewritten, so a line
        ``PREFIX: TEXT`` is printed only when the text differs from the last one shown: a log
        gets each change once, not the same line every poll.
        """
        from rich.markup import escape

        console = self.err
        live: Any = None
        spinner: Any = None
        last: list[str | None] = [None]

        def show(text: str) -> None:
            nonlocal live, spinner
            if console.is_terminal:
                # rich's Live + Spinner (what console.status() wraps), drawn at once on start
                # and on every change: console.status() leaves every frame to its refresh
                # thread, so a new text showed only at the thread's next tick.
                if live is None:
                    from rich.live import Live
                    from rich.spinner import Spinner

                    spinner = Spinner("dots", text=escape(text), style="status.spinner")
                    live = Live(spinner, console=console, transient=True, refresh_per_second=12.5)
                    live.start(refresh=True)
                elif text != last[0]:
                    spinner.update(text=escape(text))
                    live.refresh()
            elif text != last[0]:
                head = f"[yellow]{prefix}:[/] " if prefix else ""
                console.print(f"{head}{escape(text)}", soft_wrap=True)
            last[0] = text

        try:
            yield show
        finally:
            if live is not None:
                live.stop()

    # --- settings -----------------------------------------------------------------------
    def config_overrides(self) -> dict[str, Any]:
        """KISConfig keyword arguments from ``--profile`` and ``--emulator``."""
        values: dict[str, Any] = {}
        if self.profile:
            values.update(load_profile(self.profile))
        if self.emulator:
            values["base_url"] = self.emulator
        return values

    def config(self, *, need_account: bool = False) -> KISConfig:
        """The validated settings; a missing/invalid one is a :class:`KISConfigError` (exit 2).

        With ``--profile`` a problem is told in the profile's words: its file, its section and
        its key (``account_no``), not the environment variable the library would name.
        """
        from stock_manager.adapters.broker.kis import KISConfig, KISConfigError

        try:
            config = KISConfig(**self.config_overrides())
            if need_account:
                _ = config.cano  # raises KISConfigError naming KIS_ACCOUNT_NO
        except KISConfigError as exc:
            if not self.profile:
                raise
            raise KISConfigError(profile_wording(str(exc), self.profile)) from None
        self.check_clock(config.effective_base_url)
        return config

    @contextmanager
    def client(self, *, need_account: bool = False) -> Iterator[KISRestClient]:
        """A blocking KIS client for the duration of one command."""
        from stock_manager.adapters.broker.kis import KISRestClient

        if self.debug:
            import logging

            logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
        client = KISRestClient(self.config(need_account=need_account))
        try:
            yield client
        finally:
            client.close()

    # --- confirmation -------------------------------------------------------------------
    def confirm(self, base_url: str, what: str, *, yes: bool = False) -> None:
        """Ask before changing orders on a KIS host; refuse in a non-TTY without ``--yes``.

        Against an emulator or any non-KIS host nothing is asked: nothing real can happen.
        """
        if self.yes or yes or not is_kis_host(base_url):
            return
        if not sys.stdin.isatty():
            raise CLIError(
                f"refusing to {what} on the KIS server {base_url} without confirmation",
                exit_code=EXIT_USAGE,
                hint="stdin is not a terminal; pass --yes to confirm, or --dry-run to preview",
            )
        from rich.prompt import Confirm

        if not Confirm.ask(
            f"[bold red]{what}[/] on the KIS server {base_url}?", console=self.err, default=False
        ):
            raise CLIError("not confirmed; nothing was sent", exit_code=EXIT_API)


def state_of(ctx: Any, *, json: bool = False, yes: bool = False) -> State:
    """The :class:`State` of the global callback, with a command's own ``--json``/``--yes``.

    ``--json`` and ``--yes`` are accepted both before the command (global) and after it.
    """
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    state: State = root.obj
    if json and not state.json:
        state.json = True
        state._out = None  # human output moves to stderr
    state.yes = state.yes or yes
    return state
