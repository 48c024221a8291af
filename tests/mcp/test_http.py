"""Streamable HTTP: 127.0.0.1 only, bearer token required, same tools and guard rails."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import httpx
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from stock_manager.emulator import ServedEmulator

from .conftest import Elicitor, order_requests, place_args, server_env

TOKEN = "t" * 40


async def _start(
    emu: ServedEmulator, home: Path, env: dict[str, str]
) -> tuple[asyncio.subprocess.Process, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stock_manager.cli",
        "mcp",
        "--emulator",
        emu.base_url,
        "--allow-orders",
        "--transport",
        "http",
        "--port",
        "0",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
        assert line, "".join(lines)
        lines.append(line)
        if line.startswith("listening on "):
            return proc, line.split()[-1], "".join(lines)


async def _stop(proc: asyncio.subprocess.Process) -> str:
    proc.terminate()
    assert proc.stderr is not None
    rest = await asyncio.wait_for(proc.stderr.read(), 30)
    await proc.wait()
    return rest.decode()


async def test_http_needs_the_bearer_token(emu: ServedEmulator, home: Path) -> None:
    before = order_requests(emu)
    env = server_env(emu, home, STOCK_MANAGER_MCP_TOKEN=TOKEN)
    proc, url, _ = await _start(emu, home, env)
    try:
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient() as plain:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                r = await plain.post(url, json=body, headers=headers)
                assert r.status_code == 401, (headers, r.text)
        person = Elicitor()
        auth = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        async with (
            auth,
            streamable_http_client(url, http_client=auth) as (read, write),
            ClientSession(read, write, elicitation_callback=person) as s,
        ):
            await s.initialize()
            names = [t.name for t in (await s.list_tools()).tools]
            assert "execute_reservation" in names
            p = await s.call_tool("preview_reservation", place_args())
            assert p.structured_content
            token = p.structured_content["confirmation_token"]
            out = await s.call_tool("execute_reservation", {"confirmation_token": token})
            assert out.structured_content and out.structured_content["result"] == "sent", out
            assert len(person.messages) == 1
    finally:
        await _stop(proc)
    assert order_requests(emu) == before + 1


async def test_generated_token_is_private_and_not_logged(emu: ServedEmulator, home: Path) -> None:
    env = server_env(emu, home)
    proc, _, head = await _start(emu, home, env)
    log = head + await _stop(proc)
    assert "bearer token: " in log
    path = home / "state" / "stock-manager" / "mcp-http-token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = path.read_text().strip()
    assert len(token) >= 32 and token not in log
