"""Confirmation tokens, limits and the [mcp] profile table, with injected clocks."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stock_manager.mcp.confirmations import ConfirmationError, ConfirmationStore
from stock_manager.mcp.limits import (
    KST,
    LimitRefusal,
    Limits,
    OrderValue,
    Usage,
    check_order,
    day_start,
    usage_today,
)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


T0 = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)
REQ = {"action": "place", "symbol": "005930", "qty": 1, "price": "70000"}


def redeem_reason(store: ConfirmationStore, token: Any, **kw: Any) -> str:
    with pytest.raises(ConfirmationError) as info:
        store.redeem(token, kw.pop("kind", "reservation"), **{"env": "E", "account": "A", **kw})
    return info.value.reason


def test_token_expires_on_the_injected_clock() -> None:
    clock = Clock(T0)
    store = ConfirmationStore(clock=clock, ttl_s=120)
    ok = store.issue("reservation", REQ, env="E", account="A")
    late = store.issue("reservation", REQ, env="E", account="A")
    assert ok.expires_at == T0 + timedelta(seconds=120)
    clock.now = T0 + timedelta(seconds=119.9)
    assert store.redeem(ok.token, "reservation", env="E", account="A").request == REQ
    clock.now = T0 + timedelta(seconds=120)
    assert redeem_reason(store, late.token) == "expired"
    assert redeem_reason(store, late.token) == "reused"  # consumed by the failed attempt


def test_token_is_bound_to_environment_account_tool_and_server() -> None:
    clock = Clock(T0)
    store = ConfirmationStore(clock=clock)
    for kw in ({"env": "other"}, {"account": "12****78-01"}):
        tok = store.issue("reservation", REQ, env="E", account="A").token
        assert redeem_reason(store, tok, **kw) == "mismatch"
    tok = store.issue("apply", REQ, env="E", account="A").token
    assert redeem_reason(store, tok) == "wrong_tool"
    other = ConfirmationStore(clock=clock)  # another server process: another key and store
    tok = other.issue("reservation", REQ, env="E", account="A").token
    assert redeem_reason(store, tok) == "unknown"
    assert redeem_reason(store, None) == "missing"
    assert redeem_reason(store, 42) == "missing"
    tok = store.issue("reservation", REQ, env="E", account="A").token
    nonce, _, mac = tok.partition(".")
    assert redeem_reason(store, f"{nonce}.{mac[::-1]}") == "mismatch"
    assert redeem_reason(store, tok) == "reused"


@dataclass
class Entry:
    created_at: datetime
    intent: str = "place"
    outcome: str = "ok"
    account: str = "12****78-01"
    request: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.request = self.request or {"ORD_QTY": "10", "ORD_UNPR": "1000"}


def test_usage_counts_todays_kst_entries_of_this_account() -> None:
    now = datetime(2031, 3, 5, 0, 30, tzinfo=KST)  # 00:30 KST = 15:30 UTC of the 4th
    assert day_start(now) == datetime(2031, 3, 5, tzinfo=KST)
    entries = [
        Entry(datetime(2031, 3, 4, 15, 1, tzinfo=UTC)),  # 00:01 KST today: counted
        Entry(datetime(2031, 3, 4, 14, 59, tzinfo=UTC)),  # 23:59 KST yesterday
        Entry(now, intent="modify", request={"ORD_QTY": "2", "ORD_UNPR": "500"}),
        Entry(now, intent="cancel"),
        Entry(now, outcome="rejected"),
        Entry(now, outcome="not_sent"),
        Entry(now, outcome="reconciled_not_applied"),
        Entry(now, outcome="unknown"),  # may have happened: counted
        Entry(now, account="99****99-01"),
    ]
    used = usage_today(entries, now, "12****78-01")
    assert (used.day, used.orders, used.value) == ("2031-03-05", 3, Decimal(21000))


def test_each_limit_names_itself(tmp_path: Path) -> None:
    none = Usage("d", 0, Decimal(0))
    limits = Limits(max_order_value=1000, orders_per_day=2, value_per_day=1500, symbols=["005930"])

    def refused(order: OrderValue | None, used: Usage = none) -> str:
        with pytest.raises(LimitRefusal) as info:
            check_order(limits, order, used)
        assert info.value.limit in str(info.value)  # a refusal names the limit
        return info.value.limit

    check_order(limits, OrderValue("005930", 1, Decimal(1000)), none)
    assert refused(OrderValue("000660", 1, Decimal(1))) == "symbols"
    assert refused(OrderValue("005930", 2, Decimal(501))) == "max_order_value"
    assert refused(OrderValue("005930", 1, None)) == "max_order_value"
    assert refused(OrderValue("005930", 1, Decimal(1)), Usage("d", 2, Decimal(0))) == (
        "orders_per_day"
    )
    assert refused(OrderValue("005930", 1, Decimal(600)), Usage("d", 1, Decimal(901))) == (
        "value_per_day"
    )
    check_order(limits, None, Usage("d", 99, Decimal(10**9)))  # a cancel: only the kill switch
    stop = tmp_path / "stop"
    killed = Limits(kill_switch=str(stop))
    check_order(killed, None, none)
    stop.touch()
    with pytest.raises(LimitRefusal) as info:
        check_order(killed, None, none)
    assert info.value.limit == "kill_switch" and "kill_switch" in str(info.value)


def test_limits_table_is_validated() -> None:
    assert Limits.from_table(None, "x") == Limits()
    assert Limits.from_table({"symbols": ["A005930"]}, "x").symbols == ("005930",)
    for bad in ({"max_order_value": 0}, {"symbols": ["12"]}, {"speed": 1}, {"symbols": "x"}):
        with pytest.raises(ValueError, match=r"bad x"):
            Limits.from_table(bad, "x")


def test_profile_may_carry_an_mcp_table(tmp_path: Path) -> None:
    from stock_manager.cli._runtime import load_profile, profile_table

    path = tmp_path / "config.toml"
    path.write_text('[p]\napp_key = "k"\n\n[p.mcp]\norders_per_day = 3\n', encoding="utf-8")
    assert load_profile("p", path) == {"kis_app_key": "k"}
    assert profile_table("p", "mcp", path) == {"orders_per_day": 3}


def _cli(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_missing_extra_is_a_clear_message() -> None:
    proc = _cli(
        "import sys; sys.modules['mcp'] = None\n"
        "from stock_manager.cli.main import main\n"
        "sys.exit(main(['mcp', '--emulator', 'http://127.0.0.1:9']))"
    )
    assert proc.returncode == 2, proc
    assert "pip install 'stock-manager[mcp]'" in proc.stderr
    assert proc.stdout == ""


def test_cli_start_up_does_not_import_the_sdk() -> None:
    proc = _cli(
        "import sys\n"
        "from typer.main import get_command\n"
        "from stock_manager.cli.app import app\n"
        "get_command(app)\n"
        "assert 'mcp' not in sys.modules and 'stock_manager.mcp' not in sys.modules\n"
    )
    assert proc.returncode == 0, proc.stderr


def test_environment_is_decided_at_start() -> None:
    from stock_manager.adapters.broker.kis import KISConfig
    from stock_manager.mcp.runtime import ServerOptions
    from stock_manager.mcp.server import LiveRefusedError, resolve_environment

    creds = {"kis_app_key": "k" * 20, "kis_app_secret": "s" * 40, "kis_account_no": "12345678-01"}
    emu = resolve_environment(KISConfig(**creds, base_url="http://127.0.0.1:9"), ServerOptions())
    assert (emu.kind, emu.account) == ("emulator", "12****78-01")
    paper = resolve_environment(KISConfig(**creds, mode="paper"), ServerOptions())
    assert paper.kind == "paper" and "vts" in paper.base_url
    with pytest.raises(LiveRefusedError, match="--allow-live"):
        resolve_environment(KISConfig(**creds, mode="real"), ServerOptions())
    live = resolve_environment(KISConfig(**creds, mode="real"), ServerOptions(allow_live=True))
    assert live.kind == "live"
    assert len({emu.key, paper.key, live.key}) == 3  # a token is bound to one of them
