"""The emulator's WebSocket side, spoken to with a bare ``websockets`` client as the official
sample does (no stock_manager.notices code), so every reply code is checked on the wire."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from stock_manager.emulator import ServedEmulator


def approval(emu: ServedEmulator, secret: str | None = None) -> str:
    body = {
        "grant_type": "client_credentials",
        "appkey": emu.config.app_key,
        "secretkey": secret or emu.config.app_secret,
    }
    resp = httpx.post(f"{emu.base_url}/oauth2/Approval", json=body, timeout=5)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["approval_key"])


def request(key: str, tr_id: str, tr_key: str, tr_type: str = "1") -> str:
    header = {"approval_key": key, "custtype": "P", "tr_type": tr_type, "content-type": "utf-8"}
    return json.dumps({"header": header, "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}}})


async def reply(ws: Any) -> dict[str, Any]:
    while True:
        doc = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if doc["header"].get("tr_id") != "PINGPONG":
            return dict(doc)


def test_approval_wants_secretkey(emu: ServedEmulator) -> None:
    body = {"grant_type": "client_credentials", "appkey": emu.config.app_key}
    wrong = httpx.post(
        f"{emu.base_url}/oauth2/Approval", json={**body, "appsecret": emu.config.app_secret}
    )
    assert wrong.status_code == 403
    assert len(approval(emu)) == 36


@pytest.mark.parametrize("path", ["/", "/tryitout", "/tryitout/H0STCNI0"])
async def test_every_reply_code(emu: ServedEmulator, path: str) -> None:
    key = approval(emu)
    url = f"ws://{emu.host}:{emu.port}{path}"
    async with websockets.connect(url, ping_interval=None) as ws:
        await ws.send(request("not-a-key", "H0STCNI0", emu.hts_id))
        assert (await reply(ws))["body"]["msg_cd"] == "OPSP0011"
        await ws.send(request(key, "H0STCNI0", "someoneelse"))
        assert (await reply(ws))["body"]["msg_cd"] == "OPSP8992"  # HTS ID of another user
        await ws.send(request(key, "H0STCNI9", emu.hts_id))
        assert (await reply(ws))["body"]["msg_cd"] == "OPSP8991"  # paper TR on the real server
        await ws.send(request(key, "H0STCNI0", emu.hts_id, tr_type="0"))
        assert (await reply(ws))["body"]["msg_cd"] == "OPSP8997"
        await ws.send(request(key, "H0STCNI0", emu.hts_id))
        ok = await reply(ws)
        assert ok["header"]["encrypt"] == "Y"  # the official sample decrypts on this
        assert ok["body"]["msg_cd"] == "OPSP0000" and ok["body"]["rt_cd"] == "0"
        assert len(ok["body"]["output"]["key"]) == 32 and len(ok["body"]["output"]["iv"]) == 16
        await ws.send(request(key, "H0STCNI0", emu.hts_id))
        assert (await reply(ws))["body"]["msg_cd"] == "OPSP0002"
        for i in range(40):
            await ws.send(request(key, "H0STCNT0", f"{i:06d}"))
            assert (await reply(ws))["body"]["msg_cd"] == "OPSP0000"
        await ws.send(request(key, "H0STCNT0", "999999"))
        over = await reply(ws)
        assert over["body"]["msg_cd"] == "OPSP0008"  # the 42nd registration
        await ws.send(request(key, "H0STCNT0", "000000", tr_type="2"))
        assert (await reply(ws))["body"]["msg_cd"] == "OPSP0001"
        await ws.send(request(key, "H0STCNT0", "000000", tr_type="2"))
        assert (await reply(ws))["body"]["msg_cd"] == "OPSP0003"
        # a second session on the same app key
        async with websockets.connect(url, ping_interval=None) as other:
            await other.send(request(key, "H0STCNT0", "005930"))
            busy = await reply(other)
            assert busy["body"]["msg_cd"] == "OPSP8996" and busy["body"]["rt_cd"] == "9"
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(other.recv(), 5)
    assert emu.notices.max_concurrent[emu.config.app_key] == 1
    # ...but the emulator saw two sessions try the key at once, and refused one.
    assert emu.notices.max_sessions[emu.config.app_key] == 2
    assert emu.notices.refused_in_use[emu.config.app_key] == 1


async def test_pong_control_frame_is_accepted(emu: ServedEmulator) -> None:
    """The official sample answers PINGPONG with a pong control frame."""
    key = approval(emu)
    async with websockets.connect(emu.ws_url, ping_interval=None) as ws:
        await ws.send(request(key, "H0STCNI0", emu.hts_id))
        await reply(ws)
        for _ in range(2):
            while True:
                doc = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if doc["header"]["tr_id"] == "PINGPONG":
                    await ws.pong(json.dumps(doc).encode())
                    break
        for _ in range(100):
            if emu.notices.pong_frames >= 2:
                break
            await asyncio.sleep(0.02)
    assert emu.notices.pong_frames >= 2


@pytest.mark.kis_emulator(hts_id="myhts9")
def test_hts_id_is_configurable(emu: ServedEmulator) -> None:
    assert emu.hts_id == "myhts9"
    assert emu.notices.hts_id(emu.config.app_key) == "myhts9"
