"""``CIDict``, ``ci`` and ``loads_ci``: case-insensitive look-ups, keys kept as sent."""

from __future__ import annotations

import json

import pytest

from stock_manager.adapters.broker.kis.response import CIDict, ci, loads_ci


def test_loads_ci_wraps_every_object() -> None:
    body = loads_ci(
        b'{"rt_cd": "0", "Output": [{"ODNO": "1", "x": {"Y": [1, {"z": 2}]}}], "n": null}'
    )
    assert isinstance(body, CIDict)
    row = body["output"][0]
    assert isinstance(row, CIDict) and row["odno"] == "1" and row["X"]["y"][1]["Z"] == 2
    assert list(body) == ["rt_cd", "Output", "n"]  # keys as sent
    assert body.to_dict() == {
        "rt_cd": "0",
        "Output": [{"ODNO": "1", "x": {"Y": [1, {"z": 2}]}}],
        "n": None,
    }
    assert loads_ci("[1, 2]") == [1, 2]
    with pytest.raises(json.JSONDecodeError):
        loads_ci(b"{not json")


def test_ci_equals_loads_ci() -> None:
    data = {"A": [{"b": 1}, [{"C": "x"}]], "d": {"E": None}}
    wrapped = ci(data)
    assert wrapped.to_dict() == data
    assert wrapped["a"][1][0]["c"] == "x" and wrapped["D"]["e"] is None
    assert ci(wrapped).to_dict() == data  # a Mapping that is not a dict
    assert ci("x") == "x" and ci(3) == 3


def test_lookups_ignore_case() -> None:
    d = CIDict({"ODNO": "1", "msg1": "ok"})
    assert d["odno"] == d["OdNo"] == "1"
    assert d.get("MSG1") == "ok" and d.get("nope", "-") == "-" and d.get("nope") is None
    assert "odno" in d and "ODNO" in d and "nope" not in d
    assert 3 not in d  # type: ignore[comparison-overlap]
    assert dict(d.items()) == {"ODNO": "1", "msg1": "ok"} and len(d) == 2
    with pytest.raises(KeyError):
        d["nope"]
    assert CIDict() == {} and CIDict().get("x") is None
