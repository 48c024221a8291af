"""The [PROFILE.mcp] limits and the kill switch, over stdio against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stock_manager.emulator import ServedEmulator

from .conftest import Elicitor, Session, mcp_session, order_requests, place_args, write_profile

LIMITS = """max_order_value = 1_000_000
orders_per_day = 2
value_per_day = 1_500_000
symbols = ["005930", "000660"]
"""


def refusal(res: Any) -> dict[str, Any]:
    assert res.is_error and res.structured_content, res
    data: dict[str, Any] = res.structured_content
    assert data["refused"] is True and data["sent"] is False
    return data


async def send(s: Session, **args: Any) -> dict[str, Any]:
    token = (await s.data("preview_reservation", place_args(**args)))["confirmation_token"]
    return await s.data("execute_reservation", {"confirmation_token": token})


async def test_each_limit_refuses_and_counts_survive_a_restart(
    emu: ServedEmulator, home: Path
) -> None:
    write_profile(home, emu, "t", LIMITS)
    before = order_requests(emu)
    opts = ("--profile", "t", "--allow-orders")
    async with mcp_session(emu, home, *opts, elicitor=Elicitor()) as s:
        res = await s.call("preview_reservation", place_args(symbol="035720"))
        assert refusal(res)["limit"] == "symbols"
        res = await s.call("preview_reservation", place_args(qty=100, price=70000))
        data = refusal(res)
        assert data["limit"] == "max_order_value" and "max_order_value" in data["message"]
        res = await s.call("preview_reservation", place_args(order_type="market", price=None))
        assert refusal(res)["limit"] == "max_order_value"  # no price: cannot be bounded
        assert (await send(s, qty=10, price=70000))["result"] == "sent"  # 700,000 won
        res = await s.call("preview_reservation", place_args(qty=12, price=70000))  # 840,000
        assert refusal(res)["limit"] == "value_per_day"
        # two previews while one order is journaled: both pass...
        x = await s.data("preview_reservation", place_args(symbol="000660", price=100000))
        y = await s.data("preview_reservation", place_args())
        sent = await s.data("execute_reservation", {"confirmation_token": x["confirmation_token"]})
        assert sent["result"] == "sent"
        # ...but execute counts again: the second is over orders_per_day
        res = await s.call("execute_reservation", {"confirmation_token": y["confirmation_token"]})
        assert refusal(res)["limit"] == "orders_per_day"
    assert order_requests(emu) == before + 2
    # a new server process counts today's orders from the journal
    async with mcp_session(emu, home, *opts, elicitor=Elicitor()) as s:
        res = await s.call("preview_reservation", place_args())
        assert refusal(res)["limit"] == "orders_per_day"
        # cancels are not limited (they lower exposure)
        listed = await s.data("list_reservations", {"status": "pending", "symbol": "000660"})
        seq = listed["reservations"][0]["seq"]
        c = await s.data("preview_reservation", {"action": "cancel", "seq": seq})
        out = await s.data("execute_reservation", {"confirmation_token": c["confirmation_token"]})
        assert out["result"] == "sent"
    assert order_requests(emu) == before + 3


async def test_kill_switch_stops_every_order_tool(emu: ServedEmulator, home: Path) -> None:
    stop = home / "STOP"
    write_profile(home, emu, "k", f'kill_switch = "{stop}"')
    before = order_requests(emu)
    person = Elicitor()
    async with mcp_session(emu, home, "--profile", "k", "--allow-orders", elicitor=person) as s:
        token = (await s.data("preview_reservation", place_args()))["confirmation_token"]
        stop.touch()
        res = await s.call("execute_reservation", {"confirmation_token": token})
        data = refusal(res)
        assert data["limit"] == "kill_switch" and str(stop) in data["message"]
        res = await s.call("preview_reservation", place_args())
        assert refusal(res)["limit"] == "kill_switch"
        res = await s.call("preview_reservation", {"action": "cancel", "seq": "1"})
        assert res.is_error
        # read tools still work
        assert "reservations" in await s.data("list_reservations", {})
        stop.unlink()
        assert (await send(s))["result"] == "sent"
    assert person.messages and len(person.messages) == 1
    assert order_requests(emu) == before + 1


async def test_bad_limits_table_refuses_to_start(emu: ServedEmulator, home: Path) -> None:
    import subprocess
    import sys

    from .conftest import server_env

    write_profile(home, emu, "b", "max_order_value = -5\nspeed = 3")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stock_manager.cli",
            "mcp",
            "--profile",
            "b",
            "--emulator",
            emu.base_url,
        ],
        env=server_env(emu, home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc
    assert "max_order_value" in proc.stderr and "speed" in proc.stderr
