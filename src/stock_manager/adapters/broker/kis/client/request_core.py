"""The request core of both KIS clients: every decision about a request, and no I/O.

:class:`RequestCore` resolves the TR_ID, refuses what the paper mode cannot do, builds headers,
paces requests through the rate limiter, gets tokens, classifies what came back, decides whether
to retry and journals order requests, all written once as flows (see
:mod:`stock_manager.adapters.broker.kis._flow`). :class:`PreparedCall` is a request resolved and
checked locally. The clients (:mod:`.sync_client`, :mod:`.async_client`) own the httpx client and
drive these flows.

The retry rule of the house (``shared/design.md``):

=====================================================  ===================  ====================
outcome                                                GET (inquiry)        order POST
=====================================================  ===================  ====================
connect error, connect/pool timeout (never left)       back-off, retry      back-off, retry
HTTP 500 + EGW00201 (refused before processing)        back-off, retry      back-off, retry
EGW00121/122/123 (token invalid/missing/expired)       new token, retry 1x  new token, retry 1x
read timeout, reset after send, unknown 5xx, garbled   back-off, retry      OrderOutcomeUnknown
2xx, EGW00001/00002/00301/00302 ...
``rt_cd != "0"`` from the business layer, other 4xx    typed error          typed error
=====================================================  ===================  ====================
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import httpx

from stock_manager.masking import SECRET_FILTER, mask_headers, mask_request

from .. import constants as C
from .._flow import (
    Call,
    Flow,
    Send,
    SendResult,
    Sleep,
)
from ..auth import TokenManager
from ..config import KISConfig
from ..errors import (
    NOT_EMULATED,
    RATE_LIMIT_CODES,
    TOKEN_CODES,
    UNCERTAIN_CODES,
    KISAPIError,
    KISAuthError,
    KISBusinessError,
    KISError,
    KISGatewayError,
    KISNotSentError,
    KISRateLimitError,
    KISServerError,
    KISTransportError,
    KISValidationError,
    OrderOutcomeUnknownError,
    PaperTradingNotSupportedError,
    TRIDResolutionError,
    canonical_code,
)
from ..rate_limit import RateLimiter, shared_limiter
from ..response import CIDict, KISResponse, loads_ci
from ..shared_state import open_shared_state
from ..skew import ClockSkew
from ..tr_ids import ApiSpec, TRCatalog

if TYPE_CHECKING:
    # Imported where a journal is opened or written: listing with the journal off never
    # loads it (issue #14).
    from stock_manager.journal import OrderJournal

__all__ = ["PreparedCall", "RequestCore"]

log = logging.getLogger("stock_manager.kis")

_AUTH_CODES = frozenset(
    {"EGW00003", "EGW00004", "EGW00102", "EGW00103", "EGW00104", "EGW00105", "EGW00205"}
    | {"EGW00206", "EGW00207", "EGW00303", "EGW00304", "EGW02004", "EGW02007"}
)
# Exceptions raised before a single byte of the request could have been processed.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_LOCAL_ERRORS = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)


# The journal's intent for single-TR order APIs (multi-TR ones use their action): the names
# reconcile understands, so a raw make_request() order is as reconcilable as a typed one.
_DEFAULT_INTENTS = {"v1_국내주식-017": "place"}


class _Kind(Enum):
    OK = "ok"
    TOKEN = "token"
    RETRY = "retry"
    FAIL = "fail"


class _Decision(NamedTuple):  # not a dataclass: a seventh of the start-up cost (issue #14)
    kind: _Kind
    response: KISResponse | None = None
    error: KISError | None = None


@dataclass(frozen=True)
class PreparedCall:
    """A request resolved and validated locally, not yet sent (also what ``--dry-run`` shows)."""

    method: str
    path: str
    tr_id: str
    params: dict[str, str]
    spec: ApiSpec | None
    is_order: bool
    intent: str
    tr_cont: str = ""
    extra_headers: dict[str, str] = field(default_factory=dict)
    #: Recorded on the journal entry of an order (who asked; see JournalEntry.label).
    label: str = ""

    def __repr__(self) -> str:
        # params carry CANO and extra headers may carry credentials: show them masked.
        return (
            f"PreparedCall(method={self.method!r}, path={self.path!r}, tr_id={self.tr_id!r},"
            f" params={mask_request(self.params)!r}, is_order={self.is_order!r},"
            f" intent={self.intent!r}, tr_cont={self.tr_cont!r},"
            f" extra_headers={mask_headers(self.extra_headers.items())!r})"
        )

    __str__ = __repr__

    @property
    def api_name(self) -> str:
        """The API's Korean name, or its path when the catalog does not know it."""
        return self.spec.name if self.spec else self.path


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, Enum):
        return _to_str(value.value)
    if isinstance(value, int | str):
        return str(value)
    raise KISValidationError(f"unsupported parameter value {value!r} ({type(value).__name__})")


def _check_callable(spec: ApiSpec, verb: str) -> None:
    """Refuse what ``make_request`` cannot send: websocket streams, OAuth, a wrong method."""
    if spec.transport != "REST":
        raise KISValidationError(
            f"{spec.name} ({spec.api_id}) is a WebSocket stream ({spec.path}), not a REST API"
        )
    if spec.kind == "auth":
        raise KISValidationError(
            f"{spec.name} ({spec.api_id}) is called by the client itself"
            " (issue_token/revoke_token; hashkey with KIS_USE_HASHKEY=true)"
        )
    if spec.method != verb:
        raise KISValidationError(f"{spec.name} ({spec.path}) is a {spec.method} API, not {verb}")


class RequestCore:
    """The request logic both clients share: prepare, build, send under the retry rule, journal.

    Holds no httpx client and performs no I/O: sends, sleeps and blocking calls are yielded as
    flow actions for the client to carry out.
    """

    def __init__(
        self,
        config: KISConfig,
        *,
        catalog: TRCatalog,
        clock: Callable[[], float],
        rng: Callable[[], float],
        limiter: RateLimiter | None,
        tokens: TokenManager | None,
        journal: OrderJournal | None,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.base_url = config.effective_base_url
        self.clock = clock
        self.rng = rng
        # One budget and one token per app key across processes/hosts (KIS_SHARED_STATE).
        shared = open_shared_state(config) if limiter is None or tokens is None else None
        self.limiter = limiter or shared_limiter(
            self.base_url,
            config.kis_app_key,
            config.effective_rate_limit,
            budget=shared.budget if shared else None,
            budget_id=shared.budget_id if shared else None,
        )
        self.tokens = tokens or TokenManager(
            base_url=self.base_url,
            app_key=config.kis_app_key,
            app_secret=config.kis_app_secret,
            cache_dir=config.token_cache_dir,
            clock=clock,
            max_wait=config.token_issue_max_wait,
            store=shared.tokens if shared else None,
        )
        self._journal: OrderJournal | None = journal
        self._journal_opened = journal is not None
        # Guards the lazy opening: the journal is published only once fully built, so no
        # thread can see "opened" while the journal is still None and send unjournaled.
        self._journal_lock = threading.Lock()
        self.send_count = 0
        # Our clock against KIS's, from each answer's Date (reconcile allows for it).
        self.skew = ClockSkew()
        SECRET_FILTER.add(config.kis_app_secret.get_secret_value())
        if config.kis_account_no:
            SECRET_FILTER.add(config.cano)

    def _skew_now(self) -> float:
        """The clock the skew is measured on: the journal's once it is open, else ours.

        Reconcile compares the journal's send times with KIS's receipt times, so the skew it
        allows for must be the journal's clock minus KIS's (one machine clock in production;
        tests may give the journal its own).
        """
        journal = self._journal if self._journal_opened else None
        return journal.now().timestamp() if journal is not None else self.clock()

    # --- journal ------------------------------------------------------------------------------
    @property
    def journal(self) -> OrderJournal | None:
        """The order journal (opened on first use), or ``None`` when switched off."""
        if self._journal_opened:  # fast path; set only after _journal is assigned
            return self._journal
        with self._journal_lock:
            if not self._journal_opened:
                if self.config.journal:
                    from stock_manager.journal import OrderJournal

                    journal = OrderJournal(self.config.effective_journal_path)
                    stale = journal.needs_reconcile()
                    if stale:
                        # A previous run died mid-request, or its outcome is unknown: say so.
                        log.warning(
                            "%d order request(s) in the journal have an unknown outcome"
                            " (ids %s); reconcile them: stock-manager resv reconcile --pending",
                            len(stale),
                            ", ".join(str(e.id) for e in stale[:10]),
                        )
                    self._journal = journal
                    # Samples taken so far were on the client's clock: start again on the
                    # journal's (see _skew_now).
                    self.skew = ClockSkew()
                self._journal_opened = True
        return self._journal

    # --- preparing ----------------------------------------------------------------------------
    def get_tr_id(
        self, api_id: str, *, is_paper_trading: bool | None = None, action: str | None = None
    ) -> str:
        paper = self.config.is_paper if is_paper_trading is None else is_paper_trading
        return self.catalog.get_tr_id(api_id, is_paper_trading=paper, action=action)

    def prepare(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        tr_id: str | None = None,
        action: str | None = None,
        tr_cont: str = "",
        headers: Mapping[str, str] | None = None,
        intent: str | None = None,
        dry_run: bool = False,
        label: str = "",
    ) -> PreparedCall:
        """Resolve and check a request locally. Raises a :class:`KISNotSentError` subclass.

        Against the catalog: websocket/OAuth APIs and a wrong method are refused; so are an
        unknown field, a missing required field and a value longer than its length (errors,
        not warnings: KIS ignores a misspelt key, and an order without it is a different
        order). ``dry_run`` lets ``<placeholder>`` values past the length check.
        """
        verb = method.strip().upper()
        if verb not in {"GET", "POST"}:
            raise KISValidationError(f"KIS REST APIs use GET or POST, not {method!r}")
        path = self._path_of(url)
        spec = self.catalog.by_path(path)
        paper = self.config.is_paper
        if tr_id:
            tr_id = tr_id.strip().upper()
            spec = spec or self.catalog.by_tr_id(tr_id)
            if spec is not None:
                self._check_explicit_tr_id(spec, tr_id, action)
        elif spec is None:
            raise TRIDResolutionError(
                f"no TR_ID is known for {path}; pass tr_id= (or add the API to the catalog)"
            )
        if spec is not None:
            _check_callable(spec, verb)
        if not tr_id:
            assert spec is not None
            tr_id = spec.tr_id(paper=paper, action=action)
        clean = {str(k).upper(): _to_str(v) for k, v in (params or {}).items()}
        resolved_action = spec.action_of(tr_id) if spec else None
        if spec is not None:
            # Unknown field, missing required field, too long: refused before the network.
            clean = spec.check_params(
                {str(k): _to_str(v) for k, v in (params or {}).items()},
                action=action or resolved_action,
                dry_run=dry_run,
            )
        is_order = verb == "POST" and (spec is None or spec.kind == "order")
        return PreparedCall(
            method=verb,
            path=path,
            tr_id=tr_id,
            params=clean,
            spec=spec,
            is_order=is_order,
            intent=intent
            or resolved_action
            or (_DEFAULT_INTENTS.get(spec.api_id, spec.name) if spec else path),
            tr_cont=tr_cont.strip().upper(),
            extra_headers=dict(headers or {}),
            label=label,
        )

    def _check_explicit_tr_id(self, spec: ApiSpec, tr_id: str, action: str | None) -> None:
        """An explicit ``tr_id`` must be one of the API's, agree with ``action`` and the mode."""
        paper = self.config.is_paper
        if spec.action_of(tr_id) is None:
            raise TRIDResolutionError(f"tr_id {tr_id} does not belong to {spec.path}")
        if action is not None and spec.tr_id(paper=paper, action=action) != tr_id:
            raise TRIDResolutionError(
                f"tr_id {tr_id} is not the {action!r} TR_ID of {spec.name}"
                f" ({spec.tr_id(paper=paper, action=action)} is)"
            )
        if not paper and tr_id not in spec.real.values():
            raise TRIDResolutionError(
                f"{tr_id} is a paper-trading TR_ID; real mode uses {', '.join(spec.real.values())}"
            )
        if paper and not spec.paper_supported:
            spec.tr_id(paper=True)  # raises PaperTradingNotSupportedError
        if paper and tr_id not in (spec.paper or {}).values():
            raise PaperTradingNotSupportedError(
                f"{tr_id} is a real-trading TR_ID; paper mode uses"
                f" {', '.join((spec.paper or {}).values())}"
            )

    def _path_of(self, url: str) -> str:
        url = url.strip()
        if url.startswith(("http://", "https://")):
            # Credentials go in the headers: never send them to a host the config did not name.
            parts, base = urlsplit(url), urlsplit(self.base_url)
            if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
                raise KISValidationError(
                    f"{parts.scheme}://{parts.netloc} is not the configured KIS host "
                    f"{self.base_url}; pass a path such as /uapi/..."
                )
            return parts.path or "/"
        if not url.startswith("/"):
            url = "/" + url
        return url

    def headers_for(
        self, call: PreparedCall, token: str, hashkey: str | None = None
    ) -> dict[str, str]:
        """The request headers of ``call`` (unmasked: for sending only)."""
        h = {
            "content-type": C.CONTENT_TYPE,
            "authorization": f"Bearer {token}",
            "appkey": self.config.kis_app_key,
            "appsecret": self.config.kis_app_secret.get_secret_value(),
            "tr_id": call.tr_id,
            "custtype": self.config.custtype,
            "user-agent": C.USER_AGENT,
        }
        if call.tr_cont:
            h["tr_cont"] = call.tr_cont
        if hashkey:
            h["hashkey"] = hashkey
        h.update(call.extra_headers)
        return h

    def build(self, call: PreparedCall, token: str, hashkey: str | None = None) -> httpx.Request:
        url = self.base_url + call.path
        headers = self.headers_for(call, token, hashkey)
        if call.method == "GET":
            return httpx.Request("GET", url, params=call.params, headers=headers)
        return httpx.Request("POST", url, json=call.params, headers=headers)

    def describe(self, call: PreparedCall) -> dict[str, Any]:
        """The exact request ``call`` would send, secrets masked (for ``--dry-run``)."""
        token = self.tokens.token.access_token if self.tokens.token else "<access token>"
        request = self.build(call, token, "<hashkey>" if self._wants_hashkey(call) else None)
        return {
            "method": call.method,
            "url": str(request.url.copy_with(query=None)),
            "tr_id": call.tr_id,
            "api": call.api_name,
            "headers": mask_headers(request.headers.items()),
            "query" if call.method == "GET" else "body": mask_request(call.params),
        }

    def _wants_hashkey(self, call: PreparedCall) -> bool:
        return self.config.use_hashkey and call.method == "POST"

    # --- the flow -----------------------------------------------------------------------------
    def call_flow(self, call: PreparedCall) -> Flow[KISResponse]:
        """Send ``call`` under the retry policy, journaling it when it changes orders.

        Every journal write is a synced SQLite commit that may wait up to the journal's busy
        timeout for another process: each is yielded as a blocking :class:`Call`, so the async
        client makes it in a worker thread and its event loop keeps turning. The order stays:
        intent committed, then before each attempt ``mark_sent`` committed, then the send, then
        the completion.
        """
        if not call.is_order:
            return (yield from self._retry_flow(call))
        # Opening the journal (file, schema, stale-entry check) is I/O too: once, in a thread.
        journal = self._journal if self._journal_opened else (yield Call(self._open_journal, True))
        if journal is None:
            return (yield from self._retry_flow(call))
        from stock_manager.journal import Outcome  # loaded with the journal itself

        # The entry id, set by the recording call itself: a flow closed while that call ran
        # (the async driver lets it finish first) still knows the entry and closes it.
        entry: list[int] = []
        stage = ["prepare"]
        try:
            yield Call(partial(self._record_intent, journal, call, entry), True)
            response = yield from self._retry_flow(call, stage, journal, entry[0])
        except KISError as exc:
            if not entry:  # pragma: no cover - record_intent raises no KISError
                raise
            exc.journal_id = entry[0]
            if isinstance(exc, KISNotSentError) or stage[0] != "send":
                outcome = Outcome.NOT_SENT
            elif isinstance(exc, KISAPIError):
                outcome = Outcome.REJECTED
            else:
                outcome = Outcome.UNKNOWN
            done = partial(
                _complete,
                journal,
                entry[0],
                outcome=outcome,
                msg_cd=exc.msg_cd,
                msg1=exc.msg1,
                rt_cd=exc.rt_cd,
                gt_uid=exc.gt_uid,
                error=str(exc),
            )
            yield Call(done, True)
            raise
        except BaseException as exc:  # cancelled / interrupted: unknown once it was out
            if not entry:  # the intent was never recorded: nothing to close
                raise
            done = partial(
                _complete,
                journal,
                entry[0],
                outcome=Outcome.UNKNOWN if stage[0] == "send" else Outcome.NOT_SENT,
                error=f"interrupted: {type(exc).__name__}",
            )
            if isinstance(exc, GeneratorExit):
                # A closed flow (a cancelled task, Ctrl-C) may not yield again: written in
                # place. Rare, and the entry must not be left pending.
                done()
            else:
                yield Call(done, True)
            raise
        first = response.first()
        yield Call(
            partial(
                _complete,
                journal,
                entry[0],
                outcome=Outcome.OK,
                msg_cd=response.msg_cd,
                msg1=response.msg1,
                rt_cd=response.rt_cd,
                gt_uid=response.gt_uid,
                result=first.to_dict(),
                reference=str(first.get("RSVN_ORD_SEQ", "") or "") or None,
            ),
            True,
        )
        return dataclasses.replace(response, journal_id=entry[0])

    def _open_journal(self) -> OrderJournal | None:
        return self.journal

    def _record_intent(self, journal: OrderJournal, call: PreparedCall, entry: list[int]) -> None:
        """Commit the intent of ``call`` before anything of it leaves; its id goes to ``entry``."""
        entry.append(
            journal.record_intent(
                intent=call.intent,
                tr_id=call.tr_id,
                method=call.method,
                path=call.path,
                request=mask_request(call.params),
                account=self.config.masked_account,
                reference=call.params.get("RSVN_ORD_SEQ", ""),
                label=call.label,
            )
        )

    def _retry_flow(
        self,
        call: PreparedCall,
        stage: list[str] | None = None,
        journal: OrderJournal | None = None,
        entry_id: int = 0,
    ) -> Flow[KISResponse]:
        # ``stage[0]`` tells the journal whether the latest failure happened while the API
        # request itself was out ("send") or before it (token, hashkey, limiter: "prepare").
        stage = stage if stage is not None else ["prepare"]
        attempt = 0
        waited = 0.0
        rejected: str | None = None
        refreshed = False
        while True:
            attempt += 1
            stage[0] = "prepare"
            token = yield from self.tokens.token_flow(rejected=rejected)
            hashkey = (yield from self._hashkey_flow(call)) if self._wants_hashkey(call) else None
            # Yielded, not called: with a Redis budget the async driver runs them in a thread.
            io = self.limiter.blocking_io
            delay = yield Call(self.limiter.reserve, io)
            if delay > 0:
                yield Sleep(delay)
            # Woke late? Others' sends may crowd the window: wait until it has room.
            while (late := (yield Call(self.limiter.admit, io))) > 0:
                yield Sleep(late)
            request = self.build(call, token, hashkey)
            if journal is not None:
                # Committed before the first byte: reconcile's settle window starts here.
                known = self.skew.latest
                skew_s = known.high if known else None
                yield Call(partial(journal.mark_sent, entry_id, skew_s=skew_s), True)
            stage[0] = "send"
            sent_at = self._skew_now()
            result: SendResult = yield Send(request)
            self.send_count += 1
            if result.response is not None:
                self.skew.observe(result.response.headers.get("date"), sent_at, self._skew_now())
            decision = self.classify(call, result)
            self._log(call, result, decision, attempt)
            if decision.kind is _Kind.OK:
                assert decision.response is not None
                return decision.response
            assert decision.error is not None
            if decision.kind is _Kind.TOKEN and not refreshed:
                refreshed, rejected = True, token
                self.tokens.forget()
                continue
            if decision.kind is _Kind.RETRY:
                pause = self.backoff(attempt)
                if attempt < self.config.max_attempts and waited + pause <= C.BACKOFF_TOTAL_S:
                    waited += pause
                    if isinstance(decision.error, KISRateLimitError):
                        # KIS counts per app key: every caller of the key slows down, not only
                        # the one that was told; the limiter then makes this caller wait too.
                        yield Call(partial(self.limiter.penalise, pause), io)
                    else:
                        yield Sleep(pause)
                    continue
            raise decision.error

    def _hashkey_flow(self, call: PreparedCall) -> Flow[str]:
        request = httpx.Request(
            "POST",
            self.base_url + C.HASHKEY_PATH,
            json=call.params,
            headers={
                "content-type": C.CONTENT_TYPE,
                "appkey": self.config.kis_app_key,
                "appsecret": self.config.kis_app_secret.get_secret_value(),
            },
        )
        result: SendResult = yield Send(request)
        try:
            assert result.response is not None
            value = str(result.response.json()["HASH"])
        except (AssertionError, ValueError, KeyError, TypeError):
            raise KISTransportError(
                "could not obtain a hashkey; the order was not sent", path=C.HASHKEY_PATH
            ) from None
        return value

    def backoff(self, attempt: int) -> float:
        """Exponential back-off with 'equal jitter': half fixed, half random."""
        ceiling = min(C.BACKOFF_MAX_S, C.BACKOFF_BASE_S * 2.0 ** (attempt - 1))
        return ceiling / 2 + self.rng() * ceiling / 2

    # --- classification -----------------------------------------------------------------------
    def classify(self, call: PreparedCall, result: SendResult) -> _Decision:
        """Turn what came back into OK / new token / retry / fail, per the house rule."""
        where: dict[str, Any] = {"tr_id": call.tr_id, "method": call.method, "path": call.path}
        name = call.api_name
        if result.error is not None:
            exc = result.error
            text = f"{type(exc).__name__}: {exc}".rstrip(": ")
            if isinstance(exc, _NOT_SENT_ERRORS):
                return _Decision(
                    _Kind.RETRY,
                    error=KISTransportError(f"{name}: could not connect ({text})", **where),
                )
            if isinstance(exc, _LOCAL_ERRORS):
                return _Decision(
                    _Kind.FAIL, error=KISTransportError(f"{name}: not sent ({text})", **where)
                )
            return self._uncertain(call, f"no reply after the request was sent ({text})", where)

        response = result.response
        assert response is not None
        status = response.status_code
        where["http_status"] = status
        where["gt_uid"] = response.headers.get("gt_uid", "")
        try:
            body = loads_ci(response.content)
        except ValueError:
            body = None
        if not isinstance(body, CIDict):
            if 400 <= status < 500:
                return _Decision(
                    _Kind.FAIL,
                    error=KISGatewayError(f"{name}: HTTP {status} with no KIS envelope", **where),
                )
            return self._uncertain(call, f"HTTP {status} with an unreadable body", where)

        if "error_code" in body and "rt_cd" not in body:
            code = canonical_code(str(body.get("error_code")))
            desc = str(body.get("error_description", "")).strip()
            if code in TOKEN_CODES:
                return _Decision(
                    _Kind.TOKEN, error=KISAuthError(f"{name}: {desc}", msg_cd=code, **where)
                )
            return _Decision(
                _Kind.FAIL,
                error=KISAuthError(f"{name} refused: {desc}", msg_cd=code, msg1=desc, **where),
            )

        rt_cd = str(body.get("rt_cd", "")).strip()
        msg_cd = canonical_code(str(body.get("msg_cd", "")))
        msg1 = str(body.get("msg1", body.get("msg", ""))).strip()
        info: dict[str, Any] = {**where, "rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1}
        if msg_cd in TOKEN_CODES:
            return _Decision(_Kind.TOKEN, error=KISAuthError(f"{name}: {msg1}", **info))
        if msg_cd in RATE_LIMIT_CODES:
            return _Decision(
                _Kind.RETRY,
                error=KISRateLimitError(f"{name}: rate limit still exceeded: {msg1}", **info),
            )
        if msg_cd in UNCERTAIN_CODES:
            return self._uncertain(call, f"KIS said {msg_cd} {msg1}", info)
        if rt_cd == "0":
            if not 200 <= status < 300:
                # Contradictory: never report it as a failure an order could be resent after.
                return self._uncertain(call, f"HTTP {status} although rt_cd is 0", info)
            return _Decision(
                _Kind.OK,
                response=KISResponse(
                    http_status=status,
                    tr_id=call.tr_id,
                    body=body,
                    headers=CIDict({k.lower(): v for k, v in response.headers.items()}),
                ),
            )
        if not rt_cd and not msg_cd:
            if 400 <= status < 500:
                return _Decision(
                    _Kind.FAIL, error=KISGatewayError(f"{name}: HTTP {status}", **info)
                )
            return self._uncertain(call, f"HTTP {status} without rt_cd/msg_cd", info)
        if msg_cd.startswith("EGW"):
            cls = KISAuthError if msg_cd in _AUTH_CODES else KISGatewayError
            return _Decision(_Kind.FAIL, error=cls(f"{name} refused: {msg1}", **info))
        if msg_cd == NOT_EMULATED:
            # The local emulator's answer for an API it does not serve: nobody refused anything.
            text = f"{name}: the emulator does not implement this API ({msg1})"
            return _Decision(_Kind.FAIL, error=KISBusinessError(text, **info))
        return _Decision(_Kind.FAIL, error=KISBusinessError(f"{name} refused: {msg1}", **info))

    def _uncertain(self, call: PreparedCall, what: str, info: dict[str, Any]) -> _Decision:
        if call.is_order:
            return _Decision(
                _Kind.FAIL,
                error=OrderOutcomeUnknownError(
                    f"{call.api_name} ({call.tr_id}): {what}. It may have been processed: "
                    "reconcile (list the reservations) before sending it again",
                    cause=what,
                    **info,
                ),
            )
        return _Decision(_Kind.RETRY, error=KISServerError(f"{call.api_name}: {what}", **info))

    def _log(self, call: PreparedCall, result: SendResult, d: _Decision, attempt: int) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        status = result.response.status_code if result.response is not None else "-"
        code = d.response.msg_cd if d.response else (d.error.msg_cd if d.error else "")
        log.debug(
            "%s %s tr_id=%s attempt=%d -> %s %s %s (%.1f ms)",
            call.method,
            call.path,
            call.tr_id,
            attempt,
            status,
            d.kind.value,
            code,
            result.elapsed * 1000,
        )


def _complete(journal: OrderJournal, entry_id: int, **fields: Any) -> None:
    """Complete a journal entry; never let the journal hide the answer KIS gave.

    The entry may already be closed (someone force-reconciled it while the request was out):
    the outcome is then logged and the caller still gets KIS's answer or error.
    """
    try:
        journal.complete(entry_id, **fields)
    except ValueError as exc:
        log.warning(
            "journal entry %d not completed (%s): outcome %s", entry_id, exc, fields.get("outcome")
        )
