"""A real ``redis-server`` for tests: started on a free 127.0.0.1 port, stopped afterwards.

Import the fixtures where they are used: ``from ._redis import own_redis_fixture,
redis_server_fixture, redis_session_fixture``.

Without ``redis-server`` on PATH the tests that use it skip, saying how to install it; with
``CI=true`` a missing server is a failure (CI installs it: ``.ci/run``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

INSTALL_HINT = (
    "redis-server is not installed: apt-get install redis-server (Debian/Ubuntu),"
    " brew install redis (macOS), or see https://redis.io/docs/latest/operate/oss_and_stack/install/"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def real_clock_env() -> dict[str, str]:
    """The environment without libfaketime, for starting ``redis-server``.

    redis-server aborts under libfaketime (its allocator calls clock_gettime before libfaketime
    is initialised: "Unexpected recursive calls to clock_gettime()"), so the suite's run with a
    shifted clock (``faketime -f +400d``, issue #18) starts it on the real clock. That is what a
    Redis on another host looks like anyway: the shared state never relies on its clock and
    ours agreeing.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME")}
    preload = [p for p in env.get("LD_PRELOAD", "").split() if "faketime" not in p]
    if preload:
        env["LD_PRELOAD"] = " ".join(preload)
    else:
        env.pop("LD_PRELOAD", None)
    return env


class RedisServer:
    """One ``redis-server`` process without persistence (a restart loses every key)."""

    def __init__(self, exe: str, port: int) -> None:
        self.exe = exe
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=real_clock_env(),
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the state is gone, connections drop."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def client(self) -> Any:
        """A redis-py client (decoded strings)."""
        import redis

        return redis.Redis.from_url(self.url, decode_responses=True)


def _exe() -> str:
    exe = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
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
