"""The KRX business-day calendar: open/closed/unknown days, session times, reservation windows.

Truth comes from KIS 국내휴장일조회 (``국내주식-040``, CTCA0903R, ``opnd_yn``) when a fetcher is
given; its answers are cached on disk (one private file per host, shared by processes behind a
file lock, refreshed at most once a day). Without KIS — offline, paper mode, no credentials —
answers come from the bundled source: ``holidays``' ``XKRX`` market calendar plus the dated
tables of :mod:`stock_manager.calendar.data`. Every answer says where it came from
(``kis`` / ``cache`` / ``bundled``) and "unknown" is never turned into "open".

The reservation entry window, as KIS states it (``shared/kis-spec.md`` §1.5, the 주식예약주문
notes): reservations are accepted **from 15:40 until 07:30 of the next business day** (KST),
except the nightly 23:40-00:10 server initialisation. Read literally, Friday 15:40 → Monday
07:30 is one window and a holiday's daytime lies inside the window around it. So the only
closed stretches are:

* an open day's session stretch, from 90 minutes before its open until 10 minutes after its
  close (07:30-15:40; KIS moves both ends on late-session days — prism-insight #79 got
  KIER3672 "16:40분 이후부터 익영업일 08:30분까지" on the 2025 수능 day, so 08:30-16:40 then);
* 23:40-00:10 every night, the blackout, whatever the day.

Weekends and holidays are inside the window all day (but for the blackout). On a day the
calendar cannot vouch for (unknown), its would-be session stretch is "cannot tell", never
"open" nor "closed"; the rest of that day is inside either way. :func:`entry_window` is the
one definition of this rule; :meth:`KRXCalendar.window` and the manager's small calendars use
it.

A reservation entered in the window is sent on the *order date*: the same day when entered
before that day's morning close on an open day, otherwise the next open day (so one entered
on a Saturday, a Sunday or a holiday is sent on the next open day).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from . import data as D

__all__ = [
    "KST",
    "CalendarDay",
    "KRXCalendar",
    "Source",
    "Status",
    "Window",
    "cache_path_for",
    "entry_window",
]

log = logging.getLogger("stock_manager.calendar")

KST = timezone(timedelta(hours=9))
Status = Literal["open", "closed", "unknown"]
Source = Literal["kis", "cache", "bundled"]
#: Rows of one chk-holiday reply, keys as KIS spells them (bass_dt, opnd_yn, ...).
Fetcher = Callable[[date], list[Mapping[str, Any]]]

BLACKOUT_START = time(23, 40)
BLACKOUT_END = time(0, 10)
EVENING_AFTER_CLOSE = timedelta(minutes=10)  # 15:30 close -> 15:40
MORNING_BEFORE_OPEN = timedelta(minutes=90)  # 09:00 open -> 07:30
#: KIS answers only about 24 days per call; ask until this many days past today are covered
#: (order date up to ~4 days ahead + the 30-day period limit).
KIS_HORIZON_DAYS = 36
KIS_MAX_CALLS = 3  # 3 calls cover ~70 days: more than the horizon even if a reply is short
REFRESH_EVERY = timedelta(days=1)  # KIS asks for about one call a day
RETRY_FAILED_AFTER = timedelta(hours=1)  # do not hammer a failing endpoint from every process
CACHE_VERSION = 1


def now_kst() -> datetime:
    """The current time in Korea."""
    return datetime.now(KST)


def cache_path_for(cache_dir: Path, base_url: str) -> Path:
    """The calendar cache file of ``base_url`` inside ``cache_dir`` (beside the token cache)."""
    digest = hashlib.sha256(base_url.encode()).hexdigest()[:16]
    return Path(cache_dir) / f"krx-calendar-{digest}.json"


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """What is known about one day of the KRX stock market."""

    day: date
    status: Status
    source: Source
    note: str = ""  # holiday name, "weekend", "late session ...", why unknown
    open: time | None = None  # regular session, KST (None when closed or unknown)
    close: time | None = None

    @property
    def is_open(self) -> bool | None:
        """True / False, or None when unknown."""
        return None if self.status == "unknown" else self.status == "open"

    @property
    def late(self) -> bool:
        """Whether the session starts later than 09:00."""
        return self.open is not None and self.open > D.NORMAL_OPEN


@dataclass(frozen=True, slots=True)
class Window:
    """Whether a reservation can be entered at ``now``, and when it would be sent."""

    now: datetime
    inside: bool | None  # None: the calendar cannot tell (unknown days)
    reason: str  # why not / what is uncertain ("" when inside)
    order_date: CalendarDay | None  # the open day a reservation entered now is sent on
    opens_at: datetime | None = None  # start of the current or next window segment
    closes_at: datetime | None = None  # end of the current segment
    sources: tuple[Source, ...] = field(default=())
    #: ``now`` lies in the nightly 23:40-00:10 blackout: KIS refuses every reservation then,
    #: so callers refuse it whatever their outside-window policy (KIER3672 otherwise).
    blackout: bool = False


WindowKind = Literal["inside", "blackout", "session", "unknown"]


@dataclass(frozen=True, slots=True)
class EntryWindow:
    """The bare answer of :func:`entry_window` (no calendar text, no order date)."""

    kind: WindowKind  # inside / blackout / an open day's session stretch / cannot tell
    opens_at: datetime | None  # start of the current or next segment
    closes_at: datetime | None  # end of the current segment (None when outside)

    @property
    def inside(self) -> bool | None:
        """True inside, False in the blackout or the session stretch, None when unknown."""
        return {"inside": True, "unknown": None}.get(self.kind, False)


def entry_window(
    now: datetime, status: Status, morning_close: time, evening_open: time
) -> EntryWindow:
    """KIS's reservation entry window at ``now`` (KST) on a day of ``status`` (module docstring).

    ``morning_close`` / ``evening_open`` are the ends of that day's closed session stretch
    (07:30 / 15:40; 08:30 / 16:40 on a late-session day); they matter only when the day is
    open (or unknown). A closed day — weekend, holiday — is inside but for the blackout.
    """
    now = now.astimezone(KST)
    d, t = now.date(), now.time()

    def at(day: date, tm: time) -> datetime:
        return datetime.combine(day, tm, KST)

    if t >= BLACKOUT_START:
        return EntryWindow("blackout", at(d + timedelta(days=1), BLACKOUT_END), None)
    if t < BLACKOUT_END:
        return EntryWindow("blackout", at(d, BLACKOUT_END), None)
    if status == "closed":
        return EntryWindow("inside", at(d, BLACKOUT_END), at(d, BLACKOUT_START))
    if t < morning_close:
        return EntryWindow("inside", at(d, BLACKOUT_END), at(d, morning_close))
    if t >= evening_open:
        return EntryWindow("inside", at(d, evening_open), at(d, BLACKOUT_START))
    # An open day's session stretch; on an unknown day nobody can tell whether it is one.
    return EntryWindow("session" if status == "open" else "unknown", at(d, evening_open), None)


class KRXCalendar:
    """KRX open days with their sources; see the module docstring.

    ``fetch(bass_dt)`` returns the rows of one chk-holiday call; ``cache_path`` is where KIS's
    answers are kept between processes. Both are optional: without them every answer is
    ``bundled``. ``clock`` gives "now" (inject a frozen one in tests).
    """

    def __init__(
        self,
        *,
        fetch: Fetcher | None = None,
        cache_path: Path | None = None,
        clock: Callable[[], datetime] = now_kst,
        refresh_every: timedelta = REFRESH_EVERY,
    ) -> None:
        self._fetch = fetch
        self._cache_path = Path(cache_path) if cache_path else None
        self._clock = clock
        self._refresh_every = refresh_every
        self._kis: dict[date, bool] = {}
        self._kis_source: Source = "cache"
        self._loaded = False
        self._meta: dict[str, Any] | None = None  # fetched_at / attempted_at, also without a file
        self._next_check: datetime | None = None
        self._bundled: dict[int, dict[date, str]] = {}
        self._memo: dict[date, CalendarDay] = {}
        self._lock = threading.Lock()
        #: How many chk-holiday calls this object made (tests, status output).
        self.fetch_count = 0
        #: Why the last refresh failed ("" when it did not).
        self.last_error = ""

    # --- days ---------------------------------------------------------------------------
    def day(self, d: date) -> CalendarDay:
        """What is known about ``d``."""
        hit = self._memo.get(d)
        if hit is not None:
            return hit
        self._ensure_loaded()
        info = self._compute(d)
        self._memo[d] = info
        return info

    def is_open(self, d: date) -> bool | None:
        """Whether the market is open on ``d`` (None when unknown)."""
        return self.day(d).is_open

    def days(self, start: date, count: int) -> list[CalendarDay]:
        """``count`` consecutive days from ``start``."""
        return [self.day(start + timedelta(days=i)) for i in range(max(0, count))]

    def next_open_day(
        self, after: date, *, inclusive: bool = False, limit: int = 40
    ) -> CalendarDay:
        """The first open day after ``after`` (or on it, ``inclusive``).

        Stops at the first *unknown* day and returns it: an unknown day may be open, so no
        later day can be called "the next open day" with confidence.
        """
        d = after if inclusive else after + timedelta(days=1)
        for _ in range(limit):
            info = self.day(d)
            if info.status != "closed":
                return info
            d += timedelta(days=1)
        return CalendarDay(d, "unknown", "bundled", f"no open day within {limit} days")

    def last_open_day(self, on_or_before: date, *, not_before: date) -> CalendarDay | None:
        """The last open day in ``[not_before, on_or_before]`` (None when there is none).

        Unknown days are skipped (they cannot be promised to be open).
        """
        d = on_or_before
        while d >= not_before:
            info = self.day(d)
            if info.status == "open":
                return info
            d -= timedelta(days=1)
        return None

    def open_days(self, start: date, count: int, *, limit: int = 120) -> list[CalendarDay]:
        """The first ``count`` open days from ``start`` (inclusive); stops at an unknown day."""
        out: list[CalendarDay] = []
        d = start
        for _ in range(limit):
            if len(out) >= count:
                break
            info = self.day(d)
            if info.status == "unknown":
                break
            if info.status == "open":
                out.append(info)
            d += timedelta(days=1)
        return out

    # --- windows ------------------------------------------------------------------------
    def morning_close(self, d: date) -> time:
        """End of the night/morning reservation segment on ``d`` (07:30, 08:30 on late days)."""
        info = self.day(d)
        opens = info.open or D.NORMAL_OPEN
        return _shift(opens, -MORNING_BEFORE_OPEN)

    def evening_open(self, d: date) -> time:
        """Start of the evening reservation segment of open day ``d`` (15:40, 16:40, ...)."""
        info = self.day(d)
        closes = info.close or D.NORMAL_CLOSE
        return _shift(closes, EVENING_AFTER_CLOSE)

    def order_date(self, now: datetime) -> CalendarDay:
        """The open day a reservation entered at ``now`` is sent on.

        The same day when ``now`` is before that day's morning close and the day is not
        closed; otherwise the next open day — for an entry on a Saturday, a Sunday or a
        holiday, the next open day. An unknown day is returned as it is (never as open).
        """
        self._maybe_refresh()
        now = now.astimezone(KST)
        today = self.day(now.date())
        if today.status != "closed" and now.time() < self.morning_close(now.date()):
            return today
        return self.next_open_day(now.date())

    def window(self, now: datetime | None = None) -> Window:
        """Whether a reservation can be entered at ``now`` (default: the clock's now)."""
        now = (now or self._clock()).astimezone(KST)
        d, t = now.date(), now.time()
        today = self.day(d)
        order = self.order_date(now)
        sources = tuple(dict.fromkeys((today.source, order.source)))
        morning_end, evening = self.morning_close(d), self.evening_open(d)
        e = entry_window(now, today.status, morning_end, evening)
        if e.kind == "blackout":
            reason = (
                "23:40-00:10 KST is the reservation blackout (KIS server initialisation);"
                f" reservations are accepted again from {e.opens_at:%Y-%m-%d %H:%M} KST"
            )
        elif e.kind == "session":
            reason = (
                f"reservations are accepted from {_hm(evening)} to {_hm(morning_end)} KST of the"
                f" next business day (session {_hm(today.open)}-{_hm(today.close)} on {d});"
                f" it is now {_hm(t)} KST"
            )
        elif e.kind == "unknown":
            reason = f"the calendar cannot tell whether {d} is open ({today.note})"
        else:
            reason = ""
        return Window(
            now,
            e.inside,
            reason,
            order,
            e.opens_at,
            e.closes_at,
            sources,
            blackout=e.kind == "blackout",
        )

    # --- sources ------------------------------------------------------------------------
    @property
    def kis_days(self) -> int:
        """How many days KIS (fresh or cached) answered for."""
        self._ensure_loaded()
        return len(self._kis)

    def refresh(self, *, force: bool = False) -> bool:
        """Ask KIS again (at most daily unless ``force``); True when new answers arrived."""
        if self._fetch is None:
            return False
        with self._lock:
            return self._refresh_locked(force)

    def io_due(self) -> bool:
        """Whether the next answers would do I/O: read the cache file (first use) or ask KIS
        again (with a fetcher, the hourly look of a long-running process).

        An async caller then runs :meth:`prepare` in a worker thread first, so that no answer
        reads a file or waits on KIS on its event loop.
        """
        if not self._loaded:
            return True
        if self._fetch is None:
            return False
        return self._next_check is None or self._clock() >= self._next_check

    def prepare(self) -> None:
        """Do now the I/O the next answers would otherwise do inside them (see :meth:`io_due`):
        load the cache file, and with a fetcher ask KIS when due. Never raises for KIS: a
        failed refresh falls back as every lookup does."""
        self._ensure_loaded()
        self._maybe_refresh()

    def _maybe_refresh(self) -> None:
        """In a long-running process, look again (at most hourly; KIS itself at most daily)."""
        if self._fetch is None or not self._loaded:
            return
        now = self._clock()
        if self._next_check is not None and now < self._next_check:
            return
        self._next_check = now + RETRY_FAILED_AFTER
        self.refresh()

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._read_cache()
            if self._fetch is not None:
                self._refresh_locked(False)
            self._loaded = True

    def _refresh_locked(self, force: bool) -> bool:
        assert self._fetch is not None
        if self._cache_path is None:
            if not force and not self._due(self._meta):
                return False
            return self._do_fetch(self._meta)
        from filelock import FileLock, Timeout

        self._cache_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = FileLock(str(self._cache_path) + ".lock", timeout=30)
        try:
            with lock:
                meta = self._read_cache()  # another process may have refreshed meanwhile
                if not force and not self._due(meta):
                    return False
                return self._do_fetch(meta)
        except Timeout:
            self.last_error = "calendar cache lock busy"
            return False

    def _due(self, meta: Mapping[str, Any] | None) -> bool:
        now = self._clock()
        if not meta:
            return True
        fetched = _parse_dt(meta.get("fetched_at"))
        attempted = _parse_dt(meta.get("attempted_at"))
        if attempted and (not fetched or attempted > fetched):
            # The last try failed: wait a while rather than ask from every process.
            return now - attempted >= RETRY_FAILED_AFTER
        # At most daily, even when KIS answered fewer days than we asked for (later days fall
        # back to the bundled table until the next refresh).
        return fetched is None or now - fetched >= self._refresh_every

    def _do_fetch(self, meta: Mapping[str, Any] | None) -> bool:
        assert self._fetch is not None
        now = self._clock().astimezone(KST)
        start = now.date()
        needed = start + timedelta(days=KIS_HORIZON_DAYS)
        got: dict[date, bool] = {}
        base = start
        try:
            for _ in range(KIS_MAX_CALLS):
                self.fetch_count += 1
                rows = self._fetch(base)
                parsed = _parse_rows(rows)
                if not parsed:
                    break
                got.update(parsed)
                last = max(parsed)
                if last >= needed:
                    break
                base = last + timedelta(days=1)
        except Exception as exc:  # network, auth, paper mode: fall back, never fail a lookup
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("KRX calendar: KIS chk-holiday failed (%s); using cached/bundled", exc)
            self._write_cache({**(meta or {}), "attempted_at": now.isoformat()}, None)
            return False
        if not got:
            self.last_error = "KIS chk-holiday returned no rows"
            self._write_cache({**(meta or {}), "attempted_at": now.isoformat()}, None)
            return False
        self.last_error = ""
        merged = {**self._kis, **got}
        self._kis = merged
        self._kis_source = "kis"
        self._memo.clear()
        self._write_cache({"fetched_at": now.isoformat(), "attempted_at": now.isoformat()}, merged)
        return True

    def _read_cache(self) -> dict[str, Any] | None:
        if self._cache_path is None:
            return None
        try:
            raw = json.loads(self._cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(raw, dict) or raw.get("version") != CACHE_VERSION:
            return None
        days = raw.get("days") or {}
        parsed = {}
        for key, value in days.items():
            try:
                parsed[datetime.strptime(key, "%Y%m%d").date()] = value == "Y"
            except (TypeError, ValueError):
                continue
        fetched = _parse_dt(raw.get("fetched_at"))
        mine = _parse_dt((self._meta or {}).get("fetched_at"))
        # Take the file unless what this process fetched itself is as new or newer.
        if parsed and not (self._kis_source == "kis" and mine and fetched and mine >= fetched):
            self._kis = parsed
            self._kis_source = "cache"
            self._memo.clear()
        return raw

    def _write_cache(self, meta: Mapping[str, Any], days: Mapping[date, bool] | None) -> None:
        self._meta = {k: v for k, v in meta.items() if k != "days"}
        if self._cache_path is None:
            return
        payload: dict[str, Any] = {"version": CACHE_VERSION, **meta}
        payload.pop("days", None)
        kept = days if days is not None else self._kis
        payload["days"] = {k.strftime("%Y%m%d"): "Y" if v else "N" for k, v in sorted(kept.items())}
        tmp = self._cache_path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            # 0600 from the first byte, replaced atomically: readers never see half a file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh)
            os.replace(tmp, self._cache_path)
        except OSError as exc:
            log.warning("KRX calendar: cannot write %s: %s", self._cache_path, exc)
            tmp.unlink(missing_ok=True)

    # --- computing one day --------------------------------------------------------------
    def _compute(self, d: date) -> CalendarDay:
        late = _LATE.get(d)
        if d in self._kis:
            source: Source = self._kis_source
            if not self._kis[d]:
                note = "weekend" if d.weekday() >= 5 else self._holiday_name(d) or "closed (KIS)"
                return CalendarDay(d, "closed", source, note)
            return self._open_day(d, source, late)
        if d.weekday() >= 5:
            return CalendarDay(d, "closed", "bundled", "weekend")
        if d > D.BUNDLED_REVIEWED_UNTIL:
            return CalendarDay(
                d,
                "unknown",
                "bundled",
                f"past the bundled table (reviewed until {D.BUNDLED_REVIEWED_UNTIL})",
            )
        extra_open = _EXTRA_OPEN.get(d)
        name = _EXTRA_CLOSED.get(d) or (None if extra_open else self._holiday_name(d))
        if name:
            return CalendarDay(d, "closed", "bundled", name)
        return self._open_day(d, "bundled", late)

    def _open_day(self, d: date, source: Source, late: D.LateSession | None) -> CalendarDay:
        if late is not None:
            return CalendarDay(d, "open", source, late.reason, late.open, late.close)
        if self._first_of_year(d):
            return CalendarDay(
                d,
                "open",
                source,
                "first trading day of the year: session opens 10:00",
                D.FIRST_DAY_OPEN,
                D.NORMAL_CLOSE,
            )
        return CalendarDay(d, "open", source, "", D.NORMAL_OPEN, D.NORMAL_CLOSE)

    def _first_of_year(self, d: date) -> bool:
        probe = date(d.year, 1, 1)
        while probe < d:
            if self._is_open_raw(probe):
                return False
            probe += timedelta(days=1)
        return True

    def _is_open_raw(self, d: date) -> bool:
        if d in self._kis:
            return self._kis[d]
        if d.weekday() >= 5:
            return False
        if d in _EXTRA_OPEN:
            return True
        return not (d in _EXTRA_CLOSED or self._holiday_name(d))

    def _holiday_name(self, d: date) -> str | None:
        table = self._bundled.get(d.year)
        if table is None:
            table = self._bundled[d.year] = _library_year(d.year)
        return table.get(d)


# --- helpers ----------------------------------------------------------------------------------
_LATE = {s.day: s for s in D.LATE_SESSIONS}
_EXTRA_CLOSED = {c.day: c.name for c in D.EXTRA_CLOSURES}
_EXTRA_OPEN = {c.day: c.name for c in D.EXTRA_OPEN_DAYS}


@functools.lru_cache(maxsize=64)
def _library_year(year: int) -> dict[date, str]:
    """KRX holidays of ``year`` from the ``holidays`` library (imported here, lazily)."""
    # Imported on first use: ~60-75 ms, paid only by commands that decide a date
    # (see bench/bench_calendar.py).
    import holidays

    cal = holidays.financial_holidays("XKRX", years=year)
    return {d: str(name) for d, name in cal.items()}


def _parse_rows(rows: Iterable[Mapping[str, Any]]) -> dict[date, bool]:
    out: dict[date, bool] = {}
    for row in rows:
        low = {str(k).lower(): v for k, v in row.items()}
        raw = str(low.get("bass_dt", "")).strip()
        flag = str(low.get("opnd_yn", "")).strip().upper()
        if flag not in ("Y", "N"):
            continue  # never guess: bzdy_yn/tr_day_yn differ from opnd_yn (spec §5.1)
        try:
            out[datetime.strptime(raw, "%Y%m%d").date()] = flag == "Y"
        except ValueError:
            continue
    return out


def _parse_dt(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=KST)


def _shift(t: time, delta: timedelta) -> time:
    return (datetime.combine(date(2000, 1, 3), t) + delta).time()


def _hm(t: time | None) -> str:
    return t.strftime("%H:%M") if t else "?"
