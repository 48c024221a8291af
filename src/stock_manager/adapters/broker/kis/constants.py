"""Every default of the KIS client in one place: hosts, limits, timeouts, back-off bounds.

Facts come from ``shared/kis-spec.md``; where the spec is uncertain the value errs on the
conservative side (fewer requests, shorter waits before telling the caller).
"""

from __future__ import annotations

from typing import Final

# --- hosts (spec 2.1) -------------------------------------------------------------------------
REAL_BASE_URL: Final = "https://openapi.koreainvestment.com:9443"
PAPER_BASE_URL: Final = "https://openapivts.koreainvestment.com:29443"

# --- paths ------------------------------------------------------------------------------------
TOKEN_PATH: Final = "/oauth2/tokenP"
REVOKE_PATH: Final = "/oauth2/revokeP"
HASHKEY_PATH: Final = "/uapi/hashkey"

# --- rate limits (spec 3.1): per app key ------------------------------------------------------
REAL_REQUESTS_PER_SECOND: Final = 20.0
PAPER_REQUESTS_PER_SECOND: Final = 2.0
# Added to the 1/rate spacing of requests. KIS counts arrivals, and arrivals jitter: at exactly
# 50 ms spacing, requests i and i+20 are exactly 1 s apart, so any jitter puts 21 in some
# sliding second. 1 ms per request (20 ms per second of traffic) absorbs that for 2% of speed.
RATE_LIMIT_MARGIN_S: Final = 0.001
# A key issued since 2026-04-03 gets 3 requests/s for its first 3 days (KIS notice 2026-03-20,
# as quoted publicly; research/user-needs.md section 6). `config check` says how to set it.
NEW_KEY_REQUESTS_PER_SECOND: Final = 3.0
NEW_KEY_LIMITED_DAYS: Final = 3

# --- adaptive limit: sustained EGW00201 lowers the rate -------------------------------------
# "Sustained" = within one window, at least this many refusals AND this share of the requests.
# A jitter-induced refusal now and then (well under 5 %) must not cost throughput.
RATE_ADAPT_WINDOW_S: Final = 10.0
RATE_ADAPT_MIN_REFUSALS: Final = 5
RATE_ADAPT_MIN_SHARE: Final = 0.05
RATE_ADAPT_MIN_SECONDS: Final = 3  # ... spread over this many different seconds
RATE_ADAPT_FACTOR: Final = 0.7  # each sustained episode multiplies the rate by this
RATE_ADAPT_MIN_RATE: Final = 1.0  # never below this many requests/s

# --- shared state: one budget and one token per app key across processes and hosts ----------
# Booked slots further ahead than this in a budget file are treated as garbage (a clock step).
SHARED_BUDGET_MAX_AHEAD_S: Final = 600.0
# Redis: short timeouts, because a dead server must not stall the requests of a bot for long.
REDIS_CONNECT_TIMEOUT_S: Final = 1.0
REDIS_SOCKET_TIMEOUT_S: Final = 1.0
# While Redis is lost: how often one caller tries it again.
REDIS_PROBE_INTERVAL_S: Final = 1.0
# A host counts as a user of the budget this long after its last request (sets the fallback
# share: the rate divided by the number of hosts seen).
REDIS_HOST_TTL_S: Final = 30.0
# Share of its fair part (rate / hosts) a host uses on its own while Redis is lost.
REDIS_FALLBACK_SHARE: Final = 0.9
# After Redis is back: keep honouring the local budget too for at least this long, so hosts
# that have not noticed yet and slots booked locally are not overrun.
REDIS_RETURN_GRACE_S: Final = 3.0
# Token issuance lock in Redis: expires by itself if its holder dies.
REDIS_ISSUE_LOCK_TTL_S: Final = 30.0
REDIS_LOCK_POLL_S: Final = 0.02
# Keys live under "<prefix>:<sha256 of base URL + app key>:..." (never the key itself).
REDIS_KEY_PREFIX: Final = "stock-manager:kis"
# Temp files of a token cache writer that died mid-write are removed after this long.
TOKEN_TMP_STALE_S: Final = 60.0
# Second check, right before each send: never more than floor(rate) *actual* sends in any
# 1 s + this. Threads wake up late from their paced sleep (measured on a loaded 2-core machine:
# p99 50-80 ms), and a late request i crowds request i+rate into KIS's window; the pacing cannot
# see that, the send log does. Costs nothing when sends are on time (20 x 51 ms > 1.015 s).
RATE_WINDOW_MARGIN_S: Final = 0.015
# The send log is kept for rates up to this; above it the window check is skipped.
RATE_WINDOW_MAX_COUNT: Final = 64
# Token issuance: one per minute per app key (EGW00133 otherwise).
TOKEN_ISSUE_MIN_INTERVAL_S: Final = 60.0
# How long a caller may be made to wait for the 1/min token window before we fail instead.
TOKEN_ISSUE_MAX_WAIT_S: Final = 65.0
# Refresh a cached token this long before ``access_token_token_expired``.
TOKEN_REFRESH_MARGIN_S: Final = 300.0
# Used when the token response has neither a parseable expiry nor ``expires_in``.
TOKEN_DEFAULT_LIFETIME_S: Final = 86_400.0
# A server expiry further than this from ``now + expires_in`` is reported (once) as clock skew.
TOKEN_EXPIRY_SKEW_REPORT_S: Final = 120.0
# A measured difference between our clock and KIS's (HTTP Date) beyond this is logged once.
CLOCK_SKEW_WARN_S: Final = 30.0

# --- timeouts (seconds) -----------------------------------------------------------------------
CONNECT_TIMEOUT_S: Final = 5.0
READ_TIMEOUT_S: Final = 10.0
WRITE_TIMEOUT_S: Final = 10.0
POOL_TIMEOUT_S: Final = 5.0

# --- retry / back-off -------------------------------------------------------------------------
MAX_ATTEMPTS: Final = 5  # total tries of one logical request, first one included
BACKOFF_BASE_S: Final = 0.1  # first delay; doubled each further attempt
BACKOFF_MAX_S: Final = 2.0  # cap on a single delay
BACKOFF_TOTAL_S: Final = 10.0  # give up when the next delay would exceed this in total

# --- paging -----------------------------------------------------------------------------------
RESERVATION_PAGE_SIZE: Final = 20  # rows per CTSC0004R page (spec 1.4)
MAX_PAGES: Final = 500  # 10,000 rows: far above the 1,000 period-reservation cap

# --- reservations (spec 1.5) -----------------------------------------------------------------
RESERVATION_MAX_PERIOD_DAYS: Final = 30  # a period reservation ends within 30 calendar days
RESERVATION_WINDOW_OPEN: Final = (15, 40)  # KST, reservations accepted from ...
RESERVATION_WINDOW_CLOSE: Final = (7, 30)  # ... until the next morning
RESERVATION_BLACKOUT: Final = ((23, 40), (0, 10))  # server initialisation
# "Find this reservation" queries look this far back and ahead (reservations live ~31 days).
RESERVATION_LOOKBACK_DAYS: Final = 40
RESERVATION_LOOKAHEAD_DAYS: Final = 40
# Tolerance when reconcile matches a place to a reservation: only reservations KIS received
# after (last send, moved onto KIS's clock by the skew measured from its Date header, - this)
# are candidates; with no measurement, no time comparison is made at all (see reconcile). 30 s
# absorbs KIS's whole-second receipt times and the measurement's width. A wider slack
# lets an identical reservation placed just before ours be taken for ours.
RECONCILE_CLOCK_SLACK_S: Final = 30.0
# How long after the read timeout of the last send an order may still take effect at KIS (a
# request can sit in KIS's queue after we stopped waiting). Until then reconcile never answers
# "not applied", only "still unknown, ask again at ...".
RECONCILE_SETTLE_S: Final = 30.0
# ``resv reconcile --wait``: longest single sleep between two checks.
RECONCILE_POLL_MAX_S: Final = 10.0
# Manager (plan/apply): a place that is not in the book yet is only judged "never arrived" once
# this long has passed since it was sent (the list may lag the order desk).
MANAGER_PLACE_SETTLE_S: Final = 60.0
BULK_CANCEL_CONCURRENCY: Final = 4  # enough to keep 20/s busy at ~200 ms latency

# --- headers ----------------------------------------------------------------------------------
CONTENT_TYPE: Final = "application/json; charset=utf-8"
USER_AGENT: Final = "stock-manager/0.1 (+python-httpx)"
DEFAULT_CUSTTYPE: Final = "P"

# --- time -------------------------------------------------------------------------------------
KST_UTC_OFFSET_HOURS: Final = 9
