"""Paging as the spec examples show it (codes, keys) and at O(page) cost."""

from __future__ import annotations

from typing import Any

from stock_manager.emulator import ServedEmulator
from stock_manager.emulator.state import Reservation
from tests.emulator.helpers import Kis


def test_codes_and_key_shapes(emu: ServedEmulator, kis: Kis) -> None:
    empty = kis.query(CNCL_YN="Y").json()
    assert (empty["rt_cd"], empty["msg_cd"]) == ("0", "KIOK0560")
    assert empty["msg1"].rstrip() == "조회할 내용이 없습니다"
    assert empty["output"] == []
    emu.limiter.limit = 0
    seqs = [kis.place_ok() for _ in range(25)]
    first = kis.query(CNCL_YN="Y", RSVN_ORD_ORD_DT="20261124")
    data = first.json()
    assert (first.headers["tr_cont"], data["msg_cd"]) == ("F", "KIOK0500")
    assert data["msg1"].rstrip() == "조회가 계속됩니다..다음버튼을 Click 하십시오."
    # Shaped like the spec example "20220520!^null!^0!^Y!^!^" / " !^ !^".
    assert data["ctx_area_fk200"].rstrip() == "20261124!^null!^0!^Y!^!^"
    assert data["ctx_area_nk200"].rstrip() == f"{seqs[19]}!^20261125!^"
    last = kis.query(
        tr_cont="N",
        CNCL_YN="Y",
        RSVN_ORD_ORD_DT="20261124",
        CTX_AREA_FK200=data["ctx_area_fk200"],
        CTX_AREA_NK200=data["ctx_area_nk200"],
    )
    tail = last.json()
    assert (last.headers["tr_cont"], tail["msg_cd"]) == ("D", "KIOK0460")
    assert tail["msg1"].rstrip() == "조회 되었습니다. (마지막 자료)"
    assert tail["ctx_area_nk200"] == " !^ !^".ljust(200)
    assert [row["rsvn_ord_seq"] for row in tail["output"]] == seqs[20:]


class CountingDict(dict[int, Reservation]):
    """Counts reservation lookups, to show a page touches O(page) rows."""

    lookups = 0

    def __getitem__(self, key: int) -> Reservation:
        CountingDict.lookups += 1
        return super().__getitem__(key)

    def values(self) -> Any:  # a full scan would show up here
        raise AssertionError("a list page scanned every reservation")


def test_pages_cost_o_page(emu: ServedEmulator, kis: Kis) -> None:
    emu.limiter.limit = 0
    for _ in range(30):
        kis.place_ok()
    # Add 3,000 more straight into the state (as many placements would), then count.
    template = emu.state.reservations[max(emu.state.reservations)]
    with emu.state.lock:
        for _ in range(3000):
            seq = emu.state.next_seq()
            emu.state.save_reservation(Reservation(**{**template.doc(), "seq": seq}))
    emu.state.reservations = CountingDict(emu.state.reservations)
    CountingDict.lookups = 0
    data = kis.query(CNCL_YN="Y").json()
    assert len(data["output"]) == 20
    assert CountingDict.lookups <= 21
    middle_nk = f"{sorted(emu.state.seqs_by_account[emu.config.account])[1500]}!^x!^"
    CountingDict.lookups = 0
    page = kis.query(
        tr_cont="N",
        CNCL_YN="Y",
        CTX_AREA_FK200=data["ctx_area_fk200"],
        CTX_AREA_NK200=middle_nk,
    ).json()
    assert len(page["output"]) == 20
    assert CountingDict.lookups <= 21
    # Placing, modifying and cancelling do not scan either.
    CountingDict.lookups = 0
    new_seq = kis.place_ok(RSVN_ORD_END_DT="20261204")
    assert kis.modify(new_seq, ORD_UNPR="69000", RSVN_ORD_END_DT="20261204").json()["rt_cd"] == "0"
    assert kis.cancel(new_seq).json()["rt_cd"] == "0"
    assert CountingDict.lookups <= 2
