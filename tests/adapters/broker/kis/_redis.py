"""A real ``redis-server`` for tests: started on a free 127.0.0.1 port, stopped afterwards.

Import the fixtures where they are used: ``from ._redis import own_redis_fixture,
redis_server_fixture, redis_session_fixture``.

Without ``redis-server`` on PATH the tests that use it skip, saying how to install it; with
``CI=true`` a missing server is a failure (CI installs it: ``.ci/run``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The one definition of the throw-away server lives beside the benches, which start the same
# server (a bench does not import tests; bench/ is no package, so it goes on the path).
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "bench"))
from _redisproc import RedisServer, find_redis_server, real_clock_env
from _redisproc import free_port as _free_port

__all__ = ["RedisServer", "real_clock_env"]

INSTALL_HINT = (
    "redis-server is not installed: apt-get install redis-server (Debian/Ubuntu),"
    " brew install redis (macOS), or see https://redis.io/docs/latest/operate/oss_and_stack/install/"
)


def _exe() -> str:
    exe = find_redis_server()
    if exe is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but " + INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return exe


@pytest.fixture(scope="session", name="redis_session")
def redis_session_fixture() -> Iterator[RedisServer]:
    """One Redis for the whole session."""
    server = RedisServer(_exe(), _free_port())
    server.start()
    yield server
    server.kill()


@pytest.fixture(name="redis_server")
def redis_server_fixture(redis_session: RedisServer) -> RedisServer:
    """The session's Redis, emptied before the test (restarted first if a test killed it)."""
    if redis_session.proc is None or redis_session.proc.poll() is not None:
        redis_session.start()
    redis_session.client().flushall()
    return redis_session


@pytest.fixture(name="own_redis")
def own_redis_fixture() -> Iterator[RedisServer]:
    """A Redis of the test's own, for tests that kill and restart it."""
    server = RedisServer(_exe(), _free_port())
    server.start()
    yield server
    server.kill()
