"""A throw-away ``redis-server`` on 127.0.0.1: the one definition the benches and the tests use.

The benches import it as a sibling module (``bench/`` is on ``sys.path`` when a script runs);
``tests/adapters/broker/kis/_redis.py`` loads it by path (a bench is not a package the tests can
import by name). Nothing here is part of the library.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from typing import Any

__all__ = ["RedisServer", "find_redis_server", "free_port", "real_clock_env"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_redis_server() -> str | None:
    """The ``redis-server`` executable on ``PATH`` (or Debian's ``/usr/bin``), else None."""
    exe = shutil.which("redis-server")
    if exe is None and os.path.exists("/usr/bin/redis-server"):
        exe = "/usr/bin/redis-server"
    return exe


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

    def start(self, timeout: float = 15.0) -> None:
        """Start and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=real_clock_env(),
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.02)
        self.kill()
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
