"""Which reservation each notice belongs to (issue #20: ``resv report`` says it)."""

from __future__ import annotations

from typing import Any

from stock_manager.notices.events import ExecutionEvent
from stock_manager.notices.linking import link_notices


def notice(kind: Any, order_no: str, original: str = "", qty: int = 1) -> ExecutionEvent:
    return ExecutionEvent(
        kind=kind,
        order_no=order_no,
        original_order_no=original,
        symbol="005930",
        side="buy",
        qty=qty,
        price=70000,
        order_qty=10,
        time="090001",
    )


def test_notices_follow_the_order_a_reservation_became_and_its_changes() -> None:
    notices = [
        notice("accepted", "0000000101"),
        notice("filled", "101", qty=4),  # KIS may send the number without its zeros
        notice("modified", "0000000150", original="0000000101"),  # 정정 of that order
        notice("filled", "0000000150", qty=6),  # a fill of the changed order
        notice("accepted", "0000000999"),  # an order placed elsewhere (HTS)
    ]
    linked = link_notices({"0000000101": "39607", "0000000202": "39608"}, notices)
    assert [(e.kind, e.order_no) for e in linked.by_seq["39607"]] == [
        ("accepted", "0000000101"),
        ("filled", "101"),
        ("modified", "0000000150"),
        ("filled", "0000000150"),
    ]
    assert "39608" not in linked.by_seq  # no notice for it: nothing invented
    assert [e.order_no for e in linked.unlinked] == ["0000000999"]  # kept, not guessed


def test_no_orders_means_every_notice_is_unlinked() -> None:
    linked = link_notices({}, [notice("filled", "1")])
    assert linked.by_seq == {} and len(linked.unlinked) == 1


def test_a_rejection_names_no_order_and_is_tied_only_to_a_unique_rejected_reservation() -> None:
    rejected = notice("rejected", "0000000000")  # no order was made
    one = link_notices({}, [rejected], {"39610": ("005930", "buy", 10, 70000)})
    assert [e.kind for e in one.by_seq["39610"]] == ["rejected"]
    two_alike = {"39610": ("005930", "buy", 10, 70000), "39611": ("005930", "buy", 10, 70000)}
    assert link_notices({}, [rejected], two_alike).unlinked == [rejected]  # never guessed
    other = link_notices({}, [rejected], {"39612": ("000660", "buy", 10, 70000)})
    assert other.unlinked == [rejected]
