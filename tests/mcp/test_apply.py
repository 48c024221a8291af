"""preview_apply → execute_apply over stdio: standing reservations through the manager."""

from __future__ import annotations

from pathlib import Path

from stock_manager.emulator import ServedEmulator

from .conftest import Elicitor, mcp_session, order_requests, server_env, write_profile

SPEC = """name = "agent-book"

[[reservation]]
id = "samsung"
symbol = "005930"
side = "buy"
qty = 2
price = 70000

[[reservation]]
id = "hynix"
symbol = "000660"
side = "buy"
qty = 1
price = 100000
"""


def env_at_emulator_time(emu: ServedEmulator, home: Path) -> dict[str, str]:
    # The manager refuses outside the entry window: rehearse at the emulator's time.
    return server_env(emu, home, STOCK_MANAGER_NOW=emu.clock.now().isoformat())


async def test_preview_then_execute_apply(emu: ServedEmulator, home: Path) -> None:
    before = order_requests(emu)
    person = Elicitor()
    env = env_at_emulator_time(emu, home)
    async with mcp_session(emu, home, "--allow-orders", elicitor=person, env=env) as s:
        p = await s.data("preview_apply", {"declarations": SPEC})
        assert [c["action"] for c in p["request"]["changes"]] == ["place", "place"], p
        assert order_requests(emu) == before
        out = await s.data("execute_apply", {"confirmation_token": p["confirmation_token"]})
        assert out["result"] == "sent" and out["order_requests"] == 2, out
        again = await s.data("preview_apply", {"declarations": SPEC})
        assert again["nothing_to_do"] is True and "confirmation_token" not in again
        # a changed declaration previewed, then the book changes: execute refuses
        p2 = await s.data("preview_apply", {"declarations": SPEC.replace("qty = 2", "qty = 3")})
        assert [c["action"] for c in p2["request"]["changes"]] == ["modify"]
        p3 = await s.data("preview_apply", {"declarations": SPEC.replace("qty = 2", "qty = 3")})
        await s.data("execute_apply", {"confirmation_token": p3["confirmation_token"]})
        res = await s.call("execute_apply", {"confirmation_token": p2["confirmation_token"]})
        assert res.structured_content and res.structured_content["reason"] == "changed"
    assert order_requests(emu) == before + 3
    (line, *_) = person.messages
    assert "APPLY agent-book" in line and "005930" in line and "000660" in line


async def test_apply_refusals(emu: ServedEmulator, home: Path) -> None:
    spec_dir = home / "specs"
    spec_dir.mkdir()
    (spec_dir / "book.toml").write_text(SPEC, encoding="utf-8")
    write_profile(home, emu, "a", "orders_per_day = 1")
    before = order_requests(emu)
    env = env_at_emulator_time(emu, home)
    args = ("--profile", "a", "--allow-orders", "--spec-dir", str(spec_dir))
    async with mcp_session(emu, home, *args, elicitor=Elicitor("decline"), env=env) as s:
        config = home / "config" / "stock-manager" / "config.toml"
        for name in (str(config), "../config/stock-manager/config.toml", "/etc/hostname"):
            res = await s.call("preview_apply", {"file": name})
            assert res.structured_content, res
            assert res.structured_content["reason"] == "file_not_allowed", res
            text = " ".join(c.text for c in res.content if c.type == "text")
            assert emu.config.app_secret not in text
        res = await s.call("preview_apply", {"file": "book.toml"})  # two places, limit 1
        assert res.structured_content and res.structured_content["limit"] == "orders_per_day"
        res = await s.call("preview_apply", {"declarations": "[[reservation]]\nid = 1"})
        assert res.structured_content and res.structured_content["error"] == "SpecError"
        res = await s.call("preview_apply", {"declarations": SPEC, "file": "book.toml"})
        assert res.structured_content and res.structured_content["reason"] == "bad_argument"
    assert order_requests(emu) == before
