"""Running the emulator over real sockets: background (tests) and foreground (CLI)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

import uvicorn

from stock_manager.emulator.app import Emulator
from stock_manager.emulator.config import EmulatorConfig, Mode, demo_credentials, split_account
from stock_manager.emulator.protocol import KisCaseHttpToolsProtocol
from stock_manager.emulator.ws import KisWebSocketProtocol

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class ServedEmulator(Emulator):
    """An :class:`Emulator` that is being served on ``base_url``."""

    def __init__(self, config: EmulatorConfig | None, host: str, port: int) -> None:
        super().__init__(config)
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://host:port/tryitout``: the WebSocket of execution notices."""
        return f"ws://{self.host}:{self.port}/tryitout"

    @property
    def hts_id(self) -> str:
        """The primary app key's HTS ID (the ``tr_key`` of its execution notices)."""
        return self.config.hts_id

    @property
    def credentials(self) -> dict[str, str]:
        """``base_url``, ``app_key``, ``app_secret`` and ``account`` of the primary key."""
        cfg = self.config
        return {
            "base_url": self.base_url,
            "app_key": cfg.app_key,
            "app_secret": cfg.app_secret,
            "account": cfg.account,
        }


class _QuickServer(uvicorn.Server):
    """uvicorn.Server whose main loop notices ``should_exit`` within ~10 ms, not 100 ms."""

    async def main_loop(self) -> None:
        counter = 0
        should_exit: bool = await self.on_tick(counter)
        while not should_exit:
            await asyncio.sleep(0.01)
            counter += 1
            # on_tick refreshes the Date header every 10 ticks; keep ~1 s cadence.
            should_exit = self.should_exit or (
                counter % 10 == 0 and await self.on_tick((counter // 10) % 864000)
            )


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _uvicorn_config(emu: Emulator, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        emu.app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        interface="asgi3",
        # httptools, with header names re-cased as KIS sends them (protocol.py).
        http=KisCaseHttpToolsProtocol,
        # WebSocket notices on the same port (ws.py); this subclass also counts pong frames.
        ws=KisWebSocketProtocol,
        ws_per_message_deflate=False,
        ws_ping_interval=None,  # KIS keeps sessions alive with PINGPONG text frames instead
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=1,
        # Clients under test hold keep-alive connections; drop idle ones like KIS does.
        timeout_keep_alive=5,
    )


@contextmanager
def run_emulator(
    config: EmulatorConfig | None = None,
    host: str = DEFAULT_HOST,
    port: int = 0,
    *,
    log_level: str = "error",
) -> Iterator[ServedEmulator]:
    """Serve an emulator on a real socket in a background thread.

    ``port=0`` picks a free ephemeral port. Yields a :class:`ServedEmulator` (``.base_url``,
    ``.state``, ``.faults``, ``.requests``, ``.clock``, ...) and stops the server on exit.
    """
    sock = _bind(host, port)
    emu = ServedEmulator(config, host, sock.getsockname()[1])
    server = _QuickServer(_uvicorn_config(emu, log_level))
    errors: list[BaseException] = []

    def target() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"kis-emulator-{emu.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if errors or not thread.is_alive():
            sock.close()
            raise RuntimeError(f"emulator failed to start: {errors[:1]}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("emulator did not start within 10 s")
        time.sleep(0.001)
    try:
        yield emu
    finally:
        emu.stopping = True
        server.should_exit = True
        _await_exit(thread, server)
        sock.close()
        emu.close()


def _await_exit(thread: threading.Thread, server: uvicorn.Server) -> None:
    """Wait for the server thread: up to ~3 s gracefully, then forced, then at most ~3 s more.

    Polled with short sleeps, not ``thread.join(timeout=...)``: a timed wait on a lock is an
    absolute deadline on the monotonic clock, which clock-faking tools such as libfaketime move
    while the kernel's wait does not, so such a join never timed out under them (the suite's
    shifted-clock run once used it). The thread is a daemon: a server that still lingers does
    not hold the process.
    """
    for step in range(120):
        if not thread.is_alive():
            return
        if step == 60:
            server.force_exit = True  # open connections or tasks past the graceful minute
        time.sleep(0.05)


def banner(emu: ServedEmulator, out: TextIO) -> None:
    """Print how to point a KIS client at the running emulator."""
    cfg = emu.config
    limit = f"{cfg.rate_limit} req/s" if cfg.rate_limit else "off"
    lines = [
        f"KIS emulator ({cfg.mode} mode) listening on {emu.base_url}",
        f"  app key : {cfg.app_key}",
        f"  account : {cfg.account}",
        f"  HTS ID  : {cfg.hts_id} (the tr_key of execution notices; export KIS_HTS_ID)",
        "  app secret (shown once; this is a local demo server, not a real credential):",
        f"    {cfg.app_secret}",
        f"  rate limit: {limit}; tokens live {cfg.token_lifetime_s} s; state: "
        + f"{cfg.state_file or 'in memory'}",
        f"  clock: {emu.clock.now().isoformat(timespec='seconds')}; reservation window: "
        + ("enforced" if cfg.enforce_window else "off (--no-window)"),
        "  market: "
        + ("any well-formed code (--any-symbol)" if cfg.any_symbol else "listed codes only")
        + (f"; cash {cfg.starting_cash:,} won an account" if cfg.starting_cash else ""),
        "Point the client at it with:",
        f"  export KIS_BASE_URL={emu.base_url}",
        f"  export KIS_APP_KEY={cfg.app_key}",
        f"  export KIS_APP_SECRET='{cfg.app_secret}'",
        f"  export KIS_ACCOUNT_NO={cfg.account}",
        f"  export KIS_HTS_ID={cfg.hts_id}",
        f"WebSocket notices: ws://{emu.host}:{emu.port}/tryitout (approval: POST /oauth2/Approval)",
        f"Admin API: {emu.base_url}/_emulator/state, OpenAPI: {emu.base_url}/openapi.json",
    ]
    for k in cfg.keys:
        budget = "new key" if k.new_key else (f"{k.rate_limit} req/s" if k.rate_limit else "off")
        accounts = ", ".join(k.accounts) or cfg.account
        lines.append(f"  also accepts app key {k.app_key} ({k.mode}; {budget}; {accounts})")
    out.write("\n".join(lines) + "\n")
    out.flush()


class ServeOptionError(ValueError):
    """A bad option of ``emulator serve``: ``option`` names it (a usage error, exit 2)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


def check_serve_options(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    app_key: str | None = None,
    app_secret: str | None = None,
    account: str | None = None,
    state_file: str | os.PathLike[str] | None = None,
    rate_limit: int | None = None,
    token_lifetime: int = 86400,
) -> None:
    """Refuse bad serve options before anything is bound or created (one place for both CLIs).

    The account falls back to ``KIS_ACCOUNT_NO`` as :func:`serve` does, so a bad value there
    is refused too (named by its variable).
    """
    if not 0 <= port <= 65535:
        raise ServeOptionError("--port", f"must be 0-65535, not {port}")
    if rate_limit is not None and rate_limit < 0:
        raise ServeOptionError("--rate-limit", f"must be 0 (off) or more, not {rate_limit}")
    if token_lifetime < 60:  # below KIS's minute between issuances every token would lapse first
        raise ServeOptionError("--token-lifetime", f"must be 60 s or more, not {token_lifetime}")
    for option, value in (("--app-key", app_key), ("--app-secret", app_secret)):
        if value is not None and not value.strip():
            raise ServeOptionError(option, "must not be blank")
    for option, value in (("--account", account), ("KIS_ACCOUNT_NO", _env_account(account))):
        if value:
            try:
                split_account(value)
            except ValueError as exc:
                raise ServeOptionError(option, str(exc)) from None
    if state_file is not None:
        path = os.fspath(state_file)
        parent = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path) or not os.path.isdir(parent):
            raise ServeOptionError("--state", f"{path!r} is not a file in an existing directory")
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError) as exc:
        raise ServeOptionError("--host", f"cannot resolve {host!r}: {exc}") from None


def _env_account(account: str | None) -> str | None:
    return None if account else os.environ.get("KIS_ACCOUNT_NO")


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    app_key: str | None = None,
    app_secret: str | None = None,
    account: str | None = None,
    mode: str = "real",
    state_file: str | os.PathLike[str] | None = None,
    rate_limit: int | None = None,
    *,
    log_level: str = "warning",
    out: TextIO | None = None,
    **extra: Any,
) -> None:
    """Run the emulator in the foreground until interrupted (used by the CLI).

    Credentials default to ``KIS_APP_KEY``/``KIS_APP_SECRET``/``KIS_ACCOUNT_NO`` from the
    environment, otherwise a generated demo set. ``rate_limit`` ``None`` = KIS default for
    the mode, ``0`` = off. Extra keyword arguments go to :class:`EmulatorConfig`.
    """
    if mode not in ("real", "paper"):
        raise ValueError(f"mode must be 'real' or 'paper', not {mode!r}")
    demo_key, demo_secret, demo_account = demo_credentials()
    config = EmulatorConfig(
        app_key=app_key or os.environ.get("KIS_APP_KEY") or demo_key,
        app_secret=app_secret or os.environ.get("KIS_APP_SECRET") or demo_secret,
        account=account or os.environ.get("KIS_ACCOUNT_NO") or demo_account,
        mode=cast(Mode, mode),
        state_file=state_file,
        rate_limit_per_s=-1 if rate_limit is None else rate_limit,
        **extra,
    )
    sock = _bind(host, port)
    emu = ServedEmulator(config, host, sock.getsockname()[1])
    banner(emu, out or sys.stdout)
    try:
        uvicorn.Server(_uvicorn_config(emu, log_level)).run(sockets=[sock])
    except KeyboardInterrupt:
        # Ctrl-C is how a foreground emulator is stopped, not an error: uvicorn shuts down
        # gracefully and then re-raises the signal it caught (or it came before uvicorn's
        # handlers were installed). Either way, a normal end: return, so the process exits 0.
        pass
    finally:
        sock.close()
        emu.close()
    print("emulator stopped", file=out or sys.stdout, flush=True)
