"""One rate budget and one access token per app key, across processes and hosts.

KIS counts requests per app key wherever they come from, so every process that uses a key must
draw from one budget. ``KIS_SHARED_STATE`` chooses where that budget (and the token) lives:

``file`` (the default, nothing to run)
    The budget is one private file (0600) beside the token cache, holding the GCRA "theoretical
    arrival time" as 8 bytes. A reservation takes ``fcntl.flock`` on it, reads, writes and lets
    go: a few microseconds, and the kernel drops the lock of a process that dies holding it.
    Hand-written because :mod:`filelock` (used for the rare token issuance) polls for a busy
    lock every few tens of milliseconds, which would add that much jitter to a 50 ms pacing.

``redis://[:password@]host:port/db`` or ``rediss://...`` (several hosts)
    The budget, the token and the issuance lock live in Redis under
    ``stock-manager:kis:<sha256(base URL, app key)[:24]>:*`` — never the key itself, and never
    the app secret. The Redis must be private: it holds live access tokens.

The modules, by role:

* :mod:`.file_backend`: :class:`FileBudget`, the budget file of one host;
* :mod:`.redis_backend`: :class:`RedisConnection`, :class:`RedisBudget` and
  :class:`RedisTokenStore`, with the host's files as their fallback;
* this module: :func:`open_shared_state`, which chooses and opens the backend of a config.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import constants as C
from ..auth import FileTokenStore, TokenStore, key_digest
from ..rate_limit import Budget
from .file_backend import FileBudget
from .redis_backend import RedisBudget, RedisConnection, RedisTokenStore, redis_display

if TYPE_CHECKING:
    from ..config import KISConfig

__all__ = [
    "FileBudget",
    "RedisBudget",
    "RedisConnection",
    "RedisTokenStore",
    "SharedState",
    "host_id",
    "open_shared_state",
    "redis_display",
]


@dataclass(frozen=True)
class SharedState:
    """The budget and the token store of one app key, plus a description for ``config check``."""

    kind: str  # "file" or "redis"
    description: str
    budget: Budget
    budget_id: Hashable
    tokens: TokenStore
    connection: RedisConnection | None = None


_states: dict[tuple[str, str, str, str], SharedState] = {}
_connections: dict[str, RedisConnection] = {}
_open_lock = threading.Lock()


def host_id(cache_dir: Path) -> str:
    """This host in the Redis host set: host name + token cache folder, hashed.

    The folder is part of it because processes that share a token cache folder share the file
    budget used while Redis is lost.
    """
    seed = f"{socket.gethostname()}\0{Path(cache_dir).expanduser().resolve()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def open_shared_state(config: KISConfig) -> SharedState:
    """The shared state of ``config``'s app key (one object per key and backend per process).

    Raises :class:`KISConfigError` when a Redis URL is configured and Redis does not answer.
    """
    base_url = config.effective_base_url
    url = config.shared_state_url
    cache_dir = Path(config.token_cache_dir).expanduser()
    key = (url or "file", str(cache_dir), base_url, config.kis_app_key)
    with _open_lock:
        state = _states.get(key)
        if state is not None:
            return state
        digest = key_digest(base_url, config.kis_app_key)
        file_budget = FileBudget(cache_dir / f"budget-{digest}.bin")
        file_tokens = FileTokenStore(cache_dir, base_url, config.kis_app_key)
        if url is None:
            state = SharedState(
                kind="file",
                description=f"file (budget {file_budget.path})",
                budget=file_budget,
                budget_id=("file", str(file_budget.path)),
                tokens=file_tokens,
            )
        else:
            conn = _connections.get(url)
            if conn is None:
                conn = RedisConnection(url)
                conn.check()
                _connections[url] = conn
            namespace = f"{C.REDIS_KEY_PREFIX}:{digest}"
            state = SharedState(
                kind="redis",
                description=f"redis {conn.display} (keys {namespace}:*)",
                budget=RedisBudget(conn, namespace, host_id(cache_dir), file_budget),
                budget_id=("redis", url, str(cache_dir)),
                tokens=RedisTokenStore(conn, namespace, file_tokens),
                connection=conn,
            )
        _states[key] = state
        return state
