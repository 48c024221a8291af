"""Real-time execution notices, measured side by side in one run.

1. Decode throughput: AES-256-CBC + frame parse + count x width check + typed event, per
   frame, for our decoder (26- and 23-field frames) and, when ``pykis`` is importable (the
   ``bench`` extra: ``pip install 'stock-manager[bench]'``), python-kis's decoder
   (``_handle_event``'s steps without its client: split, decrypt, ``KisWebsocketResponse.parse``
   into ``KisDomesticRealtimeOrderExecution``) on the 23-field frames it knows, plus what it
   does with the current 26-field ones.
2. End-to-end latency, emulator fill -> our callback, p50/p99 at a target rate (default
   1,000 notices/s; goal p99 <= 5 ms). The emulator runs in a child process (its own GIL); it
   stamps ``time.monotonic()`` (CLOCK_MONOTONIC: one clock for every process of a host) just
   before each fill, our :class:`NoticeSession` stamps each fill event as it reaches the
   ``async for`` body.
3. Holder -> follower latency over Redis (goal p99 <= 20 ms): this process appends events to
   the Redis Stream as a holder does (:class:`RedisChannel.publish`, the fenced ``XADD``); a
   follower in a child process (:class:`SharedSession`, the same code ``watch`` runs) stamps
   each as it comes out of ``events()``. Needs ``redis-server`` on PATH (skipped otherwise).

    python bench/bench_notices.py [--quick] [--rate 1000] [--notices 3000] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import string
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _redisproc import RedisServer, find_redis_server, free_port

HERE = Path(__file__).resolve()
KEY_ALPHABET = string.ascii_letters + string.digits
DAY = date(2030, 1, 2)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# --- 1. decode throughput -----------------------------------------------------------------
def _frames(n: int, *, old: bool) -> tuple[str, str, list[str]]:
    from stock_manager.emulator.ws import NOTICE_COLUMNS, OLD_NOTICE_COLUMNS, encrypt

    key = "".join(secrets.choice(KEY_ALPHABET) for _ in range(32))
    iv = "".join(secrets.choice(KEY_ALPHABET) for _ in range(16))
    cols = OLD_NOTICE_COLUMNS if old else NOTICE_COLUMNS
    frames = []
    for i in range(n):
        values = {c: "" for c in cols}
        values.update(
            CUST_ID="emuhts01",
            ACNT_NO="5012345601",
            ODER_NO=f"{i:010d}",
            SELN_BYOV_CLS="02",
            RCTF_CLS="0",
            ODER_KIND="00",
            ODER_COND="0",
            STCK_SHRN_ISCD="005930",
            CNTG_QTY="0000000001",
            CNTG_UNPR="000070000",
            STCK_CNTG_HOUR="090000",
            RFUS_YN="0",
            CNTG_YN="2",
            ACPT_YN="2",
            BRNC_NO="06010",
            ODER_QTY="000000010",
            ACNT_NAME="홍길동",
            CNTG_ISNM40="삼성전자",
            CNTG_ISNM="삼성전자",
            ODER_PRC="000070000",
        )
        plain = "^".join(values[c] for c in cols).encode()
        frames.append(f"1|H0STCNI0|001|{encrypt(key, iv, plain)}")
    return key, iv, frames


def _ours(key: str, iv: str, frames: list[str]) -> tuple[float, int]:
    from stock_manager.notices.crypto import FrameKey, decrypt
    from stock_manager.notices.events import execution_event
    from stock_manager.notices.frames import DataFrame, parse, split_records

    fk = FrameKey(key, iv)
    ok = 0
    t0 = time.perf_counter()
    for text in frames:
        msg = parse(text)
        assert isinstance(msg, DataFrame)
        for rec in split_records(msg.tr_id, msg.count, decrypt(fk, msg.payload)):
            ev = execution_event(msg.tr_id, rec, len(rec))
            ok += ev.qty == 1
    return len(frames) / (time.perf_counter() - t0), ok


def _pykis(key: str, iv: str, frames: list[str]) -> tuple[float, int, str]:
    import base64

    from pykis.api.websocket.order_execution import KisDomesticRealtimeOrderExecution
    from pykis.client.messaging import KisWebsocketEncryptionKey
    from pykis.responses.websocket import KisWebsocketResponse

    keychain = KisWebsocketEncryptionKey(key=key.encode(), iv=iv.encode())
    ok, error = 0, ""
    t0 = time.perf_counter()
    for message in frames:
        _enc, _tr, count, body = message.split("|", 3)
        body = keychain.decrypt(base64.b64decode(body)).decode("utf-8")
        try:
            for resp in KisWebsocketResponse.parse(
                body, count=int(count), response_type=KisDomesticRealtimeOrderExecution
            ):
                ok += resp.executed_quantity == 1
        except ValueError as exc:
            error = str(exc)
    return len(frames) / (time.perf_counter() - t0), ok, error


def bench_decode(n: int) -> dict[str, Any]:
    out: dict[str, Any] = {"frames": n}
    k26, iv26, f26 = _frames(n, old=False)
    k23, iv23, f23 = _frames(n, old=True)
    _ours(k26, iv26, f26[: n // 10])  # warm-up
    out["ours_26"], ok26 = _ours(k26, iv26, f26)
    out["ours_23"], ok23 = _ours(k23, iv23, f23)
    out["ours_ok"] = ok26 + ok23
    try:
        import pykis  # noqa: F401
    except ImportError:
        out["pykis"] = "not importable: pip install 'stock-manager[bench]'"
        return out
    _pykis(k23, iv23, f23[: n // 10])
    out["pykis_23"], out["pykis_23_ok"], _ = _pykis(k23, iv23, f23)
    _rate, out["pykis_26_ok"], out["pykis_26_error"] = _pykis(k26, iv26, f26)
    return out


# --- 2. end-to-end: emulator fill -> callback ---------------------------------------------
def _emu_child() -> None:
    """Child: an emulator with open orders; on ``go N RATE`` fills at RATE, then prints stamps."""
    from stock_manager.emulator import EmulatorConfig, run_emulator
    from stock_manager.emulator.state import Order

    config = EmulatorConfig.demo(
        rate_limit_per_s=None, token_issue_interval_s=0, window=False, ws_ping_interval_s=60
    )
    with run_emulator(config) as emu:
        st, odnos = emu.state, []
        with st.lock:
            for _ in range(10):
                odno = st.next_odno()
                st.save_order(
                    Order(odno=odno, account=emu.config.account, pdno="005930", qty=10**6,
                          unpr=70000, sll_buy="02", ord_dvsn="00", ord_tmd="090000",
                          psbl_qty=10**6, ord_dt=emu.clock.now().strftime("%Y%m%d"))
                )  # fmt: skip
                odnos.append(odno)
        c = emu.config
        print(json.dumps({"base_url": emu.base_url, "app_key": c.app_key,
                          "app_secret": c.app_secret, "account": c.account,
                          "hts_id": c.hts_id}), flush=True)  # fmt: skip
        _go, n, rate = sys.stdin.readline().split()
        stamps: list[tuple[str, float]] = []
        t0 = time.monotonic()
        for i in range(int(n)):
            target = t0 + i / float(rate)
            while (now := time.monotonic()) < target:
                time.sleep(min(0.0005, target - now))
            odno = odnos[i % len(odnos)]
            stamps.append((odno, time.monotonic()))
            emu.fill_order(odno, 1, 70000)
        print(json.dumps(stamps), flush=True)
        sys.stdin.readline()  # until the parent is done


async def _e2e(n: int, rate: float, tmp: Path) -> dict[str, Any]:
    from stock_manager.adapters.broker.kis import KISConfig
    from stock_manager.notices import ExecutionEvent, NoticeSession, SubscriptionEvent

    child = subprocess.Popen(
        [sys.executable, str(HERE), "--emu-child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        info = json.loads(child.stdout.readline())
        cfg = KISConfig(
            kis_app_key=info["app_key"],
            kis_app_secret=info["app_secret"],
            kis_account_no=info["account"],
            base_url=info["base_url"],
            hts_id=info["hts_id"],
            token_cache_dir=tmp / "tokens",
            journal=False,
        )
        session = NoticeSession(cfg, idle_timeout_s=120)
        await session.subscribe_notices()
        got: dict[str, list[float]] = {}
        count = 0
        async for ev in session.events():
            if isinstance(ev, SubscriptionEvent) and ev.active and count == 0:
                child.stdin.write(f"go {n} {rate}\n")
                child.stdin.flush()
            elif isinstance(ev, ExecutionEvent) and ev.kind == "filled":
                got.setdefault(ev.order_no, []).append(time.monotonic())
                count += ev.qty
                if count >= n:
                    break
        await session.close()
        stamps = json.loads(await asyncio.to_thread(child.stdout.readline))
        child.stdin.write("quit\n")
        child.stdin.flush()
    finally:
        with contextlib.suppress(OSError):
            child.stdin.close()
        child.wait(15)
    sent: dict[str, list[float]] = {}
    for odno, at in stamps:
        sent.setdefault(odno, []).append(at)
    lat = [
        (r - s) * 1000 for odno in sent for s, r in zip(sent[odno], got.get(odno, []), strict=False)
    ]
    span = stamps[-1][1] - stamps[0][1] if len(stamps) > 1 else float("nan")
    return {
        "sent": len(stamps),
        "received": sum(len(v) for v in got.values()),
        "rate": (len(stamps) - 1) / span if span else float("nan"),
        "p50_ms": statistics.median(lat) if lat else float("nan"),
        "p99_ms": _pct(lat, 99),
        "max_ms": max(lat) if lat else float("nan"),
    }


# --- 3. holder -> follower over Redis -------------------------------------------------------
def _follower_child(url: str, n: int) -> None:
    from stock_manager.adapters.broker.kis.shared_state import RedisConnection
    from stock_manager.notices import ExecutionEvent
    from stock_manager.notices.events import Role
    from stock_manager.notices.shared import RedisChannel, SharedSession

    def no_session(_ledger: Any) -> Any:
        raise RuntimeError("the bench's follower must not take the session")

    async def run() -> list[float]:
        channel = RedisChannel(RedisConnection(url), "bench:notices", DAY)
        shared = SharedSession(channel, no_session)
        lat: list[float] = []
        async for ev in shared.events():
            if isinstance(ev, Role):
                print("ready", flush=True)
            elif isinstance(ev, ExecutionEvent):
                lat.append((time.monotonic_ns() - int(ev.fields["t"])) / 1e6)
                if len(lat) >= n:
                    break
        return lat

    print(json.dumps(asyncio.run(run())), flush=True)


def _redis_server() -> RedisServer | None:
    exe = find_redis_server()
    if exe is None:
        return None
    server = RedisServer(exe, free_port())
    server.start(timeout=10)
    return server


def bench_follower(n: int, rate: float) -> dict[str, Any]:
    from stock_manager.adapters.broker.kis.shared_state import RedisConnection
    from stock_manager.notices import ExecutionEvent
    from stock_manager.notices.shared import RedisChannel

    server = _redis_server()
    if server is None:
        return {"skipped": "redis-server not found"}
    url = server.url
    try:
        child = subprocess.Popen(
            [sys.executable, str(HERE), "--follower-child", url, str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        # A long lease: the bench holder does not renew while it publishes.
        holder = RedisChannel(RedisConnection(url), "bench:notices", DAY, ttl_s=600)
        assert holder.try_acquire()
        assert child.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        for i in range(n):
            target = t0 + i / rate
            while (now := time.monotonic()) < target:
                time.sleep(min(0.0005, target - now))
            ev = ExecutionEvent(
                kind="filled", order_no=f"{i:010d}", original_order_no="", symbol="005930",
                side="buy", qty=1, price=70000, order_qty=1, time="090000",
                fields={"t": str(time.monotonic_ns())},
            )  # fmt: skip
            holder.publish(ev.to_json())
        lat = json.loads(child.stdout.readline())
        child.wait(15)
        holder.close()
    finally:
        server.kill()
    return {
        "sent": n,
        "received": len(lat),
        "p50_ms": statistics.median(lat) if lat else float("nan"),
        "p99_ms": _pct(lat, 99),
        "max_ms": max(lat) if lat else float("nan"),
    }


# --- main -----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run for CI smoke tests")
    parser.add_argument("--rate", type=float, default=1000.0, help="notices per second")
    parser.add_argument("--notices", type=int, default=3000)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--json", dest="json_path", default="", help="also write figures here")
    parser.add_argument("--emu-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--follower-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.emu_child:
        _emu_child()
        return
    if args.follower_child:
        _follower_child(args.follower_child[0], int(args.follower_child[1]))
        return
    n = 300 if args.quick else args.notices
    frames = 2000 if args.quick else args.frames
    import tempfile

    figures: dict[str, Any] = {"quick": args.quick, "rate_target": args.rate}
    figures["decode"] = d = bench_decode(frames)
    with tempfile.TemporaryDirectory() as tmp:
        figures["e2e"] = e = asyncio.run(_e2e(n, args.rate, Path(tmp)))
    figures["follower"] = f = bench_follower(n, args.rate)

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs;"
        f" {'quick' if args.quick else 'full'} run"
    )
    print(f"\n1. decode (AES + parse + typed event), {d['frames']} single-record frames each")
    print(f"   {'decoder':<34} {'frames/s':>10}  result")
    print(f"   {'stock_manager, 26 fields':<34} {d['ours_26']:>10,.0f}  all typed")
    print(f"   {'stock_manager, 23 fields':<34} {d['ours_23']:>10,.0f}  all typed")
    if "pykis_23" in d:
        print(f"   {'python-kis, 23 fields':<34} {d['pykis_23']:>10,.0f}  {d['pykis_23_ok']} typed")
        print(
            f"   {'python-kis, 26 fields':<34} {'-':>10}  {d['pykis_26_ok']} typed;"
            f" error: {d['pykis_26_error'] or 'none'}"
        )
    else:
        print(f"   python-kis: skipped ({d['pykis']})")
    print(f"\n2. emulator fill -> callback, target {args.rate:,.0f}/s (goal p99 <= 5 ms)")
    print(
        f"   sent {e['sent']}, received {e['received']}, achieved {e['rate']:,.0f}/s;"
        f" p50 {e['p50_ms']:.2f} ms, p99 {e['p99_ms']:.2f} ms, max {e['max_ms']:.2f} ms"
    )
    print(f"\n3. holder -> follower over Redis, target {args.rate:,.0f}/s (goal p99 <= 20 ms)")
    if "skipped" in f:
        print(f"   skipped: {f['skipped']}")
    else:
        print(
            f"   sent {f['sent']}, received {f['received']};"
            f" p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, max {f['max_ms']:.2f} ms"
        )
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
