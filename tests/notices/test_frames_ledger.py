"""Frame parsing (count × width), decryption and the fill ledger, without sockets."""

from __future__ import annotations

import pytest

from stock_manager.emulator.ws import NOTICE_COLUMNS, OLD_NOTICE_COLUMNS, encrypt
from stock_manager.notices.crypto import DecryptError, FrameKey, decrypt
from stock_manager.notices.events import ExecutionEvent, execution_event
from stock_manager.notices.frames import DataFrame, WidthError, parse, split_records
from stock_manager.notices.ledger import FillLedger


def record(columns: tuple[str, ...], **values: str) -> list[str]:
    base = {c: "0" for c in columns}
    base.update(values)
    return [base[c] for c in columns]


def test_26_and_23_fields_and_multi_record() -> None:
    new = record(NOTICE_COLUMNS, ODER_NO="0000000007", CNTG_YN="2", ODER_PRC="000070000")
    old = record(OLD_NOTICE_COLUMNS, ODER_NO="0000000008", CNTG_YN="2", ODER_PRC="000071000")
    assert len(new) == 26 and len(old) == 23
    two = split_records("H0STCNI0", 2, "^".join(new + new))
    assert [r["ODER_NO"] for r in two] == ["0000000007"] * 2
    [one] = split_records("H0STCNI9", 1, "^".join(old))
    assert one["ODER_PRC"] == "000071000" and "CNTG_ISNM" in one
    assert execution_event("H0STCNI0", one, len(one)).kind == "filled"


def test_unexpected_width_is_an_error_naming_it() -> None:
    with pytest.raises(WidthError, match="width 25") as info:
        split_records("H0STCNI0", 1, "^".join(["0"] * 25))
    assert info.value.width == 25 and info.value.known == (26, 23)
    with pytest.raises(WidthError, match="26 fields for 2 record"):  # one record came
        split_records("H0STCNI0", 2, "^".join(["0"] * 26))


def test_frame_header_and_price_frame() -> None:
    frame = parse("0|H0STCNT0|002|" + "^".join(["1"] * 92))
    assert frame == DataFrame(False, "H0STCNT0", 2, "^".join(["1"] * 92))
    assert len(split_records("H0STCNT0", 2, frame.payload)) == 2


def test_decrypt_roundtrip_and_failure() -> None:
    key = FrameKey("k" * 32, "i" * 16)
    assert decrypt(key, encrypt(key.key, key.iv, "삼성전자^1".encode())) == "삼성전자^1"
    with pytest.raises(DecryptError):
        decrypt(FrameKey("x" * 32, "i" * 16), encrypt(key.key, key.iv, b"abc"))
    assert "k" * 32 not in repr(key)


def fill(odno: str, qty: int, price: int = 100, order_qty: int = 10) -> ExecutionEvent:
    return ExecutionEvent("filled", odno, "", "005930", "buy", qty, price, order_qty, "090000")


def row(odno: str, qty: int, amount: int) -> dict[str, str]:
    return {"odno": odno, "tot_ccld_qty": str(qty), "tot_ccld_amt": str(amount), "ord_qty": "10"}


def test_ledger_rest_then_late_ws_duplicate_is_absorbed() -> None:
    now = [0.0]
    ledger = FillLedger(lambda: now[0], window_s=2.0)
    [gap] = ledger.rest_rows([row("1", 3, 300)])
    assert (gap.qty, gap.price, gap.source) == (3, 100, "rest")
    assert ledger.ws_fill(fill("1", 3)) is None  # the same fill, still in flight
    assert ledger.rest_rows([row("1", 3, 300)]) == []
    now[0] = 5.0
    kept = ledger.ws_fill(fill("1", 2))  # after the window: a new fill
    assert kept is not None and kept.qty == 2
    assert ledger.delivered("1") == 5


def test_ledger_never_exceeds_order_quantity_and_rest_fills_gaps() -> None:
    ledger = FillLedger(lambda: 0.0)
    assert ledger.ws_fill(fill("2", 6)) is not None
    partial = ledger.ws_fill(fill("2", 6))  # only 4 remain on a 10-share order
    assert partial is not None and partial.qty == 4
    assert ledger.ws_fill(fill("2", 1)) is None
    [late] = ledger.rest_rows([row("3", 4, 400)])
    assert late.qty == 4
