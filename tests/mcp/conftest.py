"""Fixtures of the MCP server tests: the real server over stdio, the SDK's own client.

``mcp_session(...)`` spawns ``python -m stock_manager.cli mcp ...`` (the console script's code
path) with a clean environment whose ``KIS_*`` settings point at the test emulator (real
sockets), and connects :class:`mcp.ClientSession` to it over stdio. The server's stderr goes to
a file the test can read (the secrets test scans it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client, types

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from stock_manager.emulator.krx_calendar import start_inside_window

PLACE_TR = "CTSC0008U"
CHANGE_TRS = ("CTSC0009U", "CTSC0013U")


@pytest.fixture(scope="session")
def emu() -> Iterator[ServedEmulator]:
    """One emulator for the MCP tests: real mode, no rate limit, clock inside the window."""
    config = EmulatorConfig.demo(
        seed=2121,
        rate_limit_per_s=None,
        token_issue_interval_s=0,
        start_at=start_inside_window(),
    )
    with run_emulator(config) as served:
        yield served


def order_requests(emu: ServedEmulator) -> int:
    """Order-changing requests the emulator has received (place, modify, cancel)."""
    return sum(emu.requests.count(tr_id=tr) for tr in (PLACE_TR, *CHANGE_TRS))


def server_env(emu: ServedEmulator, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: only this emulator's credentials; journal, tokens in ``home``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "STOCK_MANAGER_", "XDG_"))
    }
    cfg = emu.config
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_STATE_HOME=str(home / "state"),
        KIS_APP_KEY=cfg.app_key,
        KIS_APP_SECRET=cfg.app_secret,
        KIS_ACCOUNT_NO=cfg.account,
        KIS_TOKEN_CACHE_DIR=str(home / "tokens"),
        KIS_JOURNAL_PATH=str(home / "journal.sqlite3"),
        PYTHONIOENCODING="utf-8",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


@dataclass
class Elicitor:
    """The person behind the client: answers elicitations with ``action`` (and records them)."""

    action: str = "accept"
    confirm: bool = True
    messages: list[str] = field(default_factory=list)

    async def __call__(self, context: Any, params: Any) -> types.ElicitResult:
        self.messages.append(params.message)
        if self.action == "accept":
            return types.ElicitResult(action="accept", content={"confirm": self.confirm})
        return types.ElicitResult(action=self.action)


@dataclass
class Session:
    """A connected client plus what the test wants to inspect afterwards."""

    client: ClientSession
    elicitor: Elicitor | None
    results: list[types.CallToolResult]

    async def call(self, name: str, args: dict[str, Any] | None = None) -> types.CallToolResult:
        """Call a tool; every result is kept (the secrets test scans them)."""
        res = await self.client.call_tool(name, args or {})
        self.results.append(res)
        return res

    async def data(self, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a tool and return its structured content (asserting it has one)."""
        res = await self.call(name, args)
        assert res.structured_content is not None, res
        data: dict[str, Any] = res.structured_content
        return data

    async def tool_names(self) -> list[str]:
        return [t.name for t in (await self.client.list_tools()).tools]


@asynccontextmanager
async def mcp_session(
    emu: ServedEmulator,
    home: Path,
    *args: str,
    elicitor: Elicitor | None = None,
    env: dict[str, str] | None = None,
    global_args: Sequence[str] = (),
    emulator: bool = True,
) -> AsyncIterator[Session]:
    """Spawn the server (``stock-manager [global_args] mcp --emulator URL ARGS``) and connect."""
    cmd = ["-m", "stock_manager.cli", *global_args, "mcp"]
    if emulator:
        cmd += ["--emulator", emu.base_url]
    params = StdioServerParameters(
        command=sys.executable, args=[*cmd, *args], env=env or server_env(emu, home)
    )
    errlog = (home / "server-stderr.log").open("a", encoding="utf-8")
    try:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, elicitation_callback=elicitor) as client,
        ):
            await client.initialize()
            yield Session(client, elicitor, [])
    finally:
        errlog.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh home (journal, token cache, config) for one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def write_profile(home: Path, emu: ServedEmulator, name: str, mcp_table: str) -> None:
    """``[name]`` with the emulator's credentials and ``[name.mcp]`` = ``mcp_table``."""
    cfg = emu.config
    path = home / "config" / "stock-manager" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[{name}]\napp_key = "{cfg.app_key}"\napp_secret = "{cfg.app_secret}"\n'
        f'account_no = "{cfg.account}"\ntoken_cache_dir = "{home / "tokens"}"\n'
        f'journal_path = "{home / "journal.sqlite3"}"\n\n[{name}.mcp]\n{mcp_table}\n',
        encoding="utf-8",
    )


def place_args(**overrides: Any) -> dict[str, Any]:
    """A valid place preview (limit buy of 1 x 005930 at 70,000)."""
    args: dict[str, Any] = {
        "action": "place",
        "symbol": "005930",
        "qty": 1,
        "price": 70000,
        "side": "buy",
    }
    args.update(overrides)
    return args
