"""The client configuration snippets of docs/mcp.md are valid JSON and valid command lines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer._click.exceptions import BadParameter, UsageError
from typer.main import get_command

from stock_manager.cli.app import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"


def json_blocks() -> list[Any]:
    text = DOC.read_text(encoding="utf-8")
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, flags=re.S)]


def parse_args(args: list[str]) -> dict[str, Any]:
    """Parse ``stock-manager ARGS`` with the real click command; return the mcp params."""
    group: Any = get_command(app)  # typer's vendored click group
    i = args.index("mcp")
    root = group.make_context("stock-manager", [*args[:i], "mcp"])
    sub = group.get_command(root, "mcp")
    assert sub is not None
    ctx = sub.make_context("mcp", args[i + 1 :], parent=root)
    return dict(ctx.params)


def test_every_snippet_is_a_valid_server_entry() -> None:
    blocks = json_blocks()
    assert len(blocks) >= 4  # Claude Desktop, Claude Code, Cursor, generic
    seen = 0
    for block in blocks:
        servers = block["mcpServers"]
        assert isinstance(servers, dict) and servers
        for entry in servers.values():
            assert entry["command"] == "stock-manager"
            assert entry.get("type", "stdio") == "stdio"
            assert all(isinstance(a, str) for a in entry["args"])
            assert isinstance(entry.get("env", {}), dict)
            params = parse_args(entry["args"])  # raises on an unknown option or bad value
            if "--allow-live" in entry["args"]:
                assert params["allow_live"] and params["allow_orders"]
            seen += 1
    assert seen >= 4


def test_a_typo_in_a_snippet_would_fail() -> None:
    with pytest.raises(UsageError):
        parse_args(["mcp", "--allow-order"])
    with pytest.raises(BadParameter):
        parse_args(["mcp", "--confirm", "always"])
