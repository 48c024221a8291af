"""How far this machine's clock is from KIS's, measured from the HTTP ``Date`` of its answers.

A verdict that compares one of our times with one of KIS's (reconcile: "was this reservation
received after we sent the order?") must not rest on the two clocks agreeing. Every answer
carries ``Date`` (RFC 7231, whole seconds, the server's clock); the request left at ``sent`` and
the answer arrived at ``received`` on our clock, so the server stamped it somewhere in between:

    offset = our clock − KIS's clock  ∈  [sent − (date + 1),  received − date]

(the ``+ 1`` is the truncated second). :class:`ClockSkew` keeps the latest such interval and a
sequence number, so a caller can ask for a measurement taken *after* a point (reconcile asks for
one from its own listing). No ``Date`` → no measurement, and callers must then answer as if the
skew were unbounded.

Hand-written because it is a dozen lines over the standard library's ``parsedate_to_datetime``;
NTP-style filtering (several samples, the narrowest interval) is not needed for a bound that is
compared against a 30-second tolerance.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from . import constants as C

__all__ = ["ClockSkew", "SkewSample", "describe_offset", "report_once"]

log = logging.getLogger("stock_manager.kis.skew")


@dataclass(frozen=True)
class SkewSample:
    """``low`` ≤ (our clock − KIS's clock) ≤ ``high``, in seconds, measured at ``at`` (ours)."""

    low: float
    high: float
    at: float
    seq: int

    @property
    def estimate(self) -> float:
        """The middle of the interval: our clock is this many seconds ahead of KIS's."""
        return (self.low + self.high) / 2

    def describe(self) -> str:
        """``"this machine's clock is 4h00m05s ahead of KIS's"`` (or behind)."""
        return describe_offset(self.estimate, "measured from its Date header")


def describe_offset(offset: float, source: str) -> str:
    """``offset`` (our clock − KIS's, s) in words, with where it was seen."""
    word = "ahead of" if offset > 0 else "behind"
    total = round(abs(offset))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    span = f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"
    return f"this machine's clock is {span} {word} KIS's ({source})"


_reported = threading.Event()


def report_once(offset: float, source: str) -> None:
    """Log the skew as a warning, once per process, whoever sees it first.

    The token's expiry (:mod:`.auth`) and the ``Date`` of an answer both show it; a user is
    told once, not once per way of seeing it.
    """
    if _reported.is_set():
        return
    _reported.set()
    log.warning(
        "clock skew: %s; times are compared with it allowed for", describe_offset(offset, source)
    )


class ClockSkew:
    """The latest skew measurement of one client (thread-safe; shared by its tasks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: SkewSample | None = None
        self._seq = 0

    def mark(self) -> int:
        """A point to ask :meth:`since` about: measurements taken after it."""
        with self._lock:
            return self._seq

    def observe(self, date_header: str | None, sent: float, received: float) -> None:
        """Record the interval given by one answer's ``Date`` (ignored when absent or odd)."""
        if not date_header:
            return
        try:
            server = parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        if received < sent:  # a clock that stepped back mid-request: no honest bound
            return
        with self._lock:
            self._seq += 1
            sample = SkewSample(sent - (server + 1.0), received - server, received, self._seq)
            self._latest = sample
        if abs(sample.estimate) > C.CLOCK_SKEW_WARN_S:
            report_once(sample.estimate, "measured from its Date header")

    @property
    def latest(self) -> SkewSample | None:
        """The newest measurement, if any."""
        return self._latest

    def since(self, mark: int) -> SkewSample | None:
        """The newest measurement taken after :meth:`mark` returned ``mark``, if any."""
        sample = self._latest
        return sample if sample is not None and sample.seq > mark else None
