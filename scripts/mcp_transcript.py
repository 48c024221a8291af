#!/usr/bin/env python3
"""Record a short MCP session against a local emulator, as Markdown (for ``docs/mcp.md``).

    .venv/bin/python scripts/mcp_transcript.py > /tmp/transcript.md

Starts the emulator (fresh demo credentials, clock inside the reservation window), spawns
``stock-manager mcp --emulator URL --allow-orders`` exactly as an MCP client would (stdio),
connects the MCP SDK's ``ClientSession`` with an elicitation handler that plays the person
(accepts), and prints every call and its result. Needs the ``mcp`` extra.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client, types

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator
from stock_manager.emulator.krx_calendar import start_inside_window

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("search_apis", {"query": "예약", "limit": 3}),
    ("call_api", {"api_id": "v1_국내주식-017", "params": {"PDNO": "005930"}}),
    (
        "preview_reservation",
        {"action": "place", "symbol": "005930", "qty": 3, "price": 70000, "side": "buy"},
    ),
    ("execute_reservation", {"confirmation_token": "<token from the preview>"}),
    ("execute_reservation", {"confirmation_token": "<the same token again>"}),
    ("list_reservations", {"status": "pending"}),
    ("journal", {"limit": 1}),
]


def _short(data: Any, limit: int = 700) -> str:
    text = json.dumps(data, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + " …"


async def _record(emu: ServedEmulator, home: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "XDG_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        KIS_APP_KEY=emu.config.app_key,
        KIS_APP_SECRET=emu.config.app_secret,
        KIS_ACCOUNT_NO=emu.config.account,
    )
    cmd = ["-m", "stock_manager.cli", "mcp", "--emulator", emu.base_url, "--allow-orders"]
    lines = [f"$ stock-manager mcp --emulator {emu.base_url} --allow-orders", ""]

    async def person(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        lines.append(f"    [elicitation to the person] {params.message}")
        lines.append("    [the person ticks 'confirm' and accepts]")
        return types.ElicitResult(action="accept", content={"confirm": True})

    params = StdioServerParameters(command=sys.executable, args=cmd, env=env)
    with (home / "stderr.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, elicitation_callback=person) as client,
        ):
            await client.initialize()
            tools = [t.name for t in (await client.list_tools()).tools]
            lines.append(f"tools/list -> {', '.join(tools)}")
            token = ""
            for name, args in CALLS:
                if "confirmation_token" in args:
                    args = {"confirmation_token": token}
                lines.append("")
                lines.append(f"tools/call {name} {_short(args, 200)}")
                res = await client.call_tool(name, args)
                data = res.structured_content
                token = (data or {}).get("confirmation_token", token)
                lines.append(f"  -> {'ERROR ' if res.is_error else ''}{_short(data)}")
    return lines


def main() -> None:
    config = EmulatorConfig.demo(
        rate_limit_per_s=None, token_issue_interval_s=0, start_at=start_inside_window()
    )
    with tempfile.TemporaryDirectory() as d, run_emulator(config) as emu:
        lines = asyncio.run(_record(emu, Path(d)))
        order_requests = emu.requests.count(tr_id="CTSC0008U")
    print("\n".join(lines))
    print(f"\n(order requests received by the emulator: {order_requests})")


if __name__ == "__main__":
    main()
