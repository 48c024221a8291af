"""The MCP server over stdio, driven by the SDK's own client, against the emulator."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from stock_manager.emulator import ServedEmulator
from stock_manager.mcp import ORDER_TOOLS, READ_TOOLS

from .conftest import Elicitor, mcp_session, order_requests, place_args, server_env


def journal_rows(home: Path) -> list[tuple[str, str]]:
    """(intent, outcome) of every journal entry (read with sqlite3: an independent reader)."""
    path = home / "journal.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT intent, outcome FROM journal")]


async def test_read_only_server_has_no_order_tool(emu: ServedEmulator, home: Path) -> None:
    before = order_requests(emu)
    async with mcp_session(emu, home) as s:
        names = await s.tool_names()
        assert sorted(names) == sorted(READ_TOOLS)
        assert not set(ORDER_TOOLS) & set(names)
        res = await s.call("execute_reservation", {"confirmation_token": "x.y"})
        assert res.is_error
        res = await s.call("preview_reservation", place_args())
        assert res.is_error
        tools = (await s.client.list_tools()).tools
        assert all(t.annotations and t.annotations.read_only_hint for t in tools)
    assert order_requests(emu) == before


async def test_preview_then_accepted_execute_sends_exactly_one(
    emu: ServedEmulator, home: Path
) -> None:
    before = order_requests(emu)
    person = Elicitor("accept")
    async with mcp_session(emu, home, "--allow-orders", elicitor=person) as s:
        preview = await s.data("preview_reservation", place_args(qty=3, price=71000))
        assert set(preview) >= {"confirmation_token", "expires_at", "request", "findings"}
        assert preview["request"]["symbol"] == "005930"
        assert preview["request"]["qty"] == 3
        assert {f["check"] for f in preview["findings"]} >= {"tick", "band"}
        # structured content is mirrored as text
        res = s.results[-1]
        assert res.content[0].type == "text"
        assert '"confirmation_token"' in res.content[0].text
        assert order_requests(emu) == before  # a preview sends no order
        out = await s.data(
            "execute_reservation", {"confirmation_token": preview["confirmation_token"]}
        )
        assert out["result"] == "sent", out
        assert out["seq"]
    assert order_requests(emu) == before + 1
    assert journal_rows(home) == [("place", "ok")]
    # the person saw one line with side, qty, symbol, price, order date and the masked account
    (line,) = person.messages
    order_date = preview["request"]["order_date"]
    for part in ("BUY", "3 x 005930", "71,000 won", f"order date {order_date}"):
        assert part in line, line
    account = emu.config.account
    assert account not in line and account.split("-")[0] not in line
    assert f"{account[:2]}****{account[6:8]}" in line


async def test_declined_or_unticked_elicitation_sends_nothing(
    emu: ServedEmulator, home: Path
) -> None:
    before = order_requests(emu)
    for person in (Elicitor("decline"), Elicitor("cancel"), Elicitor("accept", confirm=False)):
        async with mcp_session(emu, home, "--allow-orders", elicitor=person) as s:
            token = (await s.data("preview_reservation", place_args()))["confirmation_token"]
            res = await s.call("execute_reservation", {"confirmation_token": token})
            assert res.is_error and res.structured_content
            assert res.structured_content["reason"] == "declined"
            # the token is spent: declining once means previewing again
            again = await s.call("execute_reservation", {"confirmation_token": token})
            assert again.structured_content and again.structured_content["reason"] == "token_reused"
        assert len(person.messages) == 1
    assert order_requests(emu) == before
    assert journal_rows(home) == []


async def test_bad_tokens_send_nothing(emu: ServedEmulator, home: Path) -> None:
    """Missing, altered, reused and expired tokens: refused, and only the one valid send."""
    before = order_requests(emu)
    person = Elicitor("accept")
    async with mcp_session(emu, home, "--allow-orders", "--token-ttl", "1", elicitor=person) as s:
        token = (await s.data("preview_reservation", place_args()))["confirmation_token"]
        nonce, _, mac = token.partition(".")
        flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
        cases = {
            "": "token_missing",
            "   ": "token_missing",
            f"{nonce}.{flipped}": "token_mismatch",  # consumes the nonce: spent
            token: "token_reused",
            f"x{nonce}.{mac}": "token_unknown",
        }
        for bad, reason in cases.items():
            res = await s.call("execute_reservation", {"confirmation_token": bad})
            assert res.is_error and res.structured_content, (bad, res)
            assert res.structured_content["reason"] == reason, (bad, res)
            assert res.structured_content["sent"] is False
        res = await s.call("execute_reservation", {})  # no argument at all: the SDK refuses
        assert res.is_error
        # extra arguments ("params different from the previewed ones") are refused
        fresh = (await s.data("preview_reservation", place_args()))["confirmation_token"]
        res = await s.call(
            "execute_reservation", {"confirmation_token": fresh, "qty": 100, "price": 1}
        )
        assert res.structured_content and res.structured_content["reason"] == "unknown_arguments"
        # ...and the token is still good for exactly what was previewed
        ok = await s.data("execute_reservation", {"confirmation_token": fresh})
        assert ok["result"] == "sent", ok
        # expired
        late = (await s.data("preview_reservation", place_args()))["confirmation_token"]
        await asyncio.sleep(1.3)
        res = await s.call("execute_reservation", {"confirmation_token": late})
        assert res.structured_content and res.structured_content["reason"] == "token_expired"
    assert order_requests(emu) == before + 1
    assert journal_rows(home) == [("place", "ok")]
    assert len(person.messages) == 1


async def test_client_without_elicitation(emu: ServedEmulator, home: Path) -> None:
    """No elicitation: refused unless the server was started with --confirm token."""
    before = order_requests(emu)
    async with mcp_session(emu, home, "--allow-orders") as s:
        token = (await s.data("preview_reservation", place_args()))["confirmation_token"]
        res = await s.call("execute_reservation", {"confirmation_token": token})
        assert res.structured_content and res.structured_content["reason"] == "no_elicitation"
    assert order_requests(emu) == before
    async with mcp_session(emu, home, "--allow-orders", "--confirm", "token") as s:
        token = (await s.data("preview_reservation", place_args()))["confirmation_token"]
        out = await s.data("execute_reservation", {"confirmation_token": token})
        assert out["result"] == "sent"
    assert order_requests(emu) == before + 1


async def test_modify_and_cancel_through_preview(emu: ServedEmulator, home: Path) -> None:
    before = order_requests(emu)
    async with mcp_session(emu, home, "--allow-orders", elicitor=Elicitor()) as s:
        token = (await s.data("preview_reservation", place_args(qty=2)))["confirmation_token"]
        seq = (await s.data("execute_reservation", {"confirmation_token": token}))["seq"]
        p = await s.data("preview_reservation", {"action": "modify", "seq": seq, "price": 69000})
        assert p["request"]["after"] == {"qty": 2, "price": "69000"}
        assert {f["check"] for f in p["findings"]} >= {"tick"}  # pre-flight of merged terms
        out = await s.data("execute_reservation", {"confirmation_token": p["confirmation_token"]})
        assert out["result"] == "sent" and out["ok"] is True, out
        listed = await s.data("list_reservations", {"status": "pending"})
        row = next(r for r in listed["reservations"] if r["seq"] == seq)
        assert row["price"] in ("69000", "69000.0") or row["price"].startswith("69000")
        # a cancel previewed before a change elsewhere is refused at execute (changed since)
        c = await s.data("preview_reservation", {"action": "cancel", "seq": seq})
        m = await s.data("preview_reservation", {"action": "modify", "seq": seq, "qty": 1})
        await s.data("execute_reservation", {"confirmation_token": m["confirmation_token"]})
        res = await s.call("execute_reservation", {"confirmation_token": c["confirmation_token"]})
        assert res.structured_content and res.structured_content["reason"] == "changed"
        c = await s.data("preview_reservation", {"action": "cancel", "seq": seq})
        out = await s.data("execute_reservation", {"confirmation_token": c["confirmation_token"]})
        assert out["result"] == "sent" and out["ok"] is True
    assert order_requests(emu) == before + 4  # place, modify, modify, cancel
    assert [i for i, _ in journal_rows(home)] == ["place", "modify", "modify", "cancel"]


async def test_call_api_refuses_orders_and_real_only_in_paper(
    emu: ServedEmulator, home: Path
) -> None:
    before = len(emu.requests)
    async with mcp_session(emu, home) as s:
        for api in ("v1_국내주식-017", "CTSC0008U", "v1_국내주식-018,019", "TTTC0012U"):
            res = await s.call("call_api", {"api_id": api, "params": {"PDNO": "005930"}})
            assert res.structured_content and res.structured_content["reason"] == "order_api", res
        res = await s.call("call_api", {"api_id": "v1_국내주식-020", "params": {"CANO": "1"}})
        assert res.structured_content and res.structured_content["reason"] == "account_argument"
        res = await s.call("call_api", {"api_id": "v1_국내주식-020", "params": {"BOGUS": "1"}})
        assert res.structured_content and res.structured_content["sent"] is False
    async with mcp_session(emu, home, env=server_env(emu, home, KIS_MODE="paper")) as s:
        res = await s.call("call_api", {"api_id": "v1_국내주식-020", "params": {}})
        assert res.structured_content and res.structured_content["reason"] == "real_only_api"
    assert len(emu.requests) == before  # every refusal was local: zero requests


async def test_call_api_pages_with_a_row_cap(emu: ServedEmulator, home: Path) -> None:
    from tests.cli.conftest import place_directly

    env = server_env(emu, home)
    place_directly(emu, env, "000660", "buy", [(1, 100000 + i * 100) for i in range(25)])
    params = {
        "RSVN_ORD_ORD_DT": "20200101",
        "RSVN_ORD_END_DT": "20991231",
        "RSVN_ORD_SEQ": "",
        "TMNL_MDIA_KIND_CD": "00",
        "PRCS_DVSN_CD": "0",
        "CNCL_YN": "Y",
        "PDNO": "000660",
        "SLL_BUY_DVSN_CD": "00",
    }
    async with mcp_session(emu, home) as s:
        full = await s.data("call_api", {"api_id": "v1_국내주식-020", "params": params})
        assert full["pages"] >= 2 and len(full["output"]["output"]) >= 25, full["pages"]
        capped = await s.data(
            "call_api", {"api_id": "v1_국내주식-020", "params": params, "max_rows": 5}
        )
        assert capped["pages"] == 1 and len(capped["output"]["output"]) == 5
        assert capped["truncated"] is True
        listed = await s.data("list_reservations", {"symbol": "000660", "max_rows": 7})
        assert listed["count"] == 7 and listed["truncated"] is True


async def test_live_host_needs_allow_live(emu: ServedEmulator, home: Path) -> None:
    """A real KIS host (no --emulator, real mode) is refused at start, before any request."""
    import subprocess
    import sys

    env = server_env(emu, home)
    proc = subprocess.run(
        [sys.executable, "-m", "stock_manager.cli", "mcp"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc
    assert "--allow-live" in proc.stderr
    assert proc.stdout == ""
