"""The emulator in a child process, for benchmarks (so it does not compete for our GIL).

``with EmulatorProcess() as emu:`` starts ``python -m stock_manager.emulator`` on a free port
with its rate limiter off, and gives ``emu.base_url``, ``emu.env()`` (the ``KIS_*`` variables
of a CLI pointed at it) and ``emu.config(tmp)`` (a :class:`KISConfig` with the journal off).
``seed(client, n)`` places ``n`` reservations through the public API, pacing lifted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis import KISConfig, KISRestClient

APP_KEY = "PSEMUbenchKEY00000000000000000000000"
APP_SECRET = "bench-secret-" + "s" * 167
ACCOUNT = "50123456-01"


def child_env(**extra: str) -> dict[str, str]:
    """Environment of a measured child process: like a user's shell.

    ``PYTHONDONTWRITEBYTECODE`` is dropped: an installed package has its bytecode cached (pip
    compiles it), and a start-up figure that recompiles every module of ours each run would
    measure the compiler, not the command.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def evening() -> datetime:
    """17:00 KST today: inside the reservation window, whatever the real time is."""
    from stock_manager.adapters.broker.kis.reservations.models import KST

    return datetime.now(KST).replace(hour=17, minute=0)


class EmulatorProcess:
    """``python -m stock_manager.emulator --no-rate-limit`` on 127.0.0.1, port picked free."""

    def __init__(self) -> None:
        self.base_url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stock_manager.emulator",
                "--port",
                "0",
                "--no-rate-limit",
                "--app-key",
                APP_KEY,
                "--app-secret",
                APP_SECRET,
                "--account",
                ACCOUNT,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            if "listening on " in line:
                self.base_url = line.split("listening on ", 1)[1].strip()
                break
        if not self.base_url:
            raise RuntimeError("the emulator did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)

    def env(self, token_dir: Path) -> dict[str, str]:
        """Environment of a ``stock-manager`` process pointed at this emulator."""
        return child_env(
            KIS_BASE_URL=self.base_url,
            KIS_APP_KEY=APP_KEY,
            KIS_APP_SECRET=APP_SECRET,
            KIS_ACCOUNT_NO=ACCOUNT,
            KIS_TOKEN_CACHE_DIR=str(token_dir),
            KIS_JOURNAL="false",
            KIS_RATE_LIMIT="1000000",
            NO_COLOR="1",
        )

    def config(self, token_dir: Path) -> KISConfig:
        """Client settings for this emulator (journal off)."""
        from stock_manager.adapters.broker.kis import KISConfig

        return KISConfig(
            kis_app_key=APP_KEY,
            kis_app_secret=APP_SECRET,
            kis_account_no=ACCOUNT,
            base_url=self.base_url,
            token_cache_dir=token_dir,
            journal=False,
        )


def seed(client: KISRestClient, n: int, symbol: str = "005930") -> None:
    """Place ``n`` reservations (limit buys of 1-50 shares at 70,000 won)."""
    from stock_manager.adapters.broker.kis.reservations import Reservations

    resv = Reservations(client, clock=evening, window_policy="ignore")
    for i in range(n):
        resv.place_reservation(symbol, 1 + i % 50, 70000 + (i % 7) * 100, side="buy")
