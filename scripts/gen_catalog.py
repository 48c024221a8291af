#!/usr/bin/env python3
"""Generate the client's API catalog from the KIS portal spec export.

    python3 scripts/gen_catalog.py [--source ../shared/kis-openapi/catalog.json] [--check]

Input: the facts file ``kis-openapi/catalog.json`` (every API of the portal's spec sheet, plus
what the newest official samples use; its README lists the notation quirks and the conflicts).
Output: ``src/stock_manager/adapters/broker/kis/catalog.json`` (the index: ids, TR_IDs, paths)
and ``catalog_fields.json`` (fields and response blocks, read only when needed, so that
``stock-manager tr-id`` parses 60 KB instead of 600 KB) -- compact package data holding
only what a client needs -- ids, names, category, method, path, TR_IDs per action (real and
paper), request fields with required/length/allowed codes, response blocks and paging keys.
Prose (descriptions, overviews, examples) is dropped. ``--check`` compares instead of writing
(exit 1 when the committed file is stale); ``tests/adapters/broker/kis/test_catalog.py`` does
the same whenever ``../shared`` is present.

Decisions, each applied in one place below:

* TR_ID cells are parsed with :func:`stock_manager.adapters.broker.kis.tr_ids.parse_tr_ids`
  (labels like ``(매도)``/``(예약취소)``/``(구)`` become actions). Cells that notation cannot
  express are in :data:`TR_OVERRIDES`, each with its reason.
* Sheet vs. sample: the newer source (the samples) wins -- its TR_ID is the *default* --
  unless the facts README marks the row as a probable sample bug (⚠), then the sheet wins.
  TR_IDs only the sheet lists (``(구)`` night TRs, TTTC2210R) stay reachable by action name.
* Lengths: the sheet has copy-paste errors (``PDNO`` length 5, ``FID_INPUT_ISCD`` length 2,
  ``CTX_AREA_FK200`` length 2 ...). A length is raised -- never lowered -- to the longest value
  the sheet's own example sends, and to the usual length of that field name when the name
  occurs at least :data:`USUAL_MIN` times in the catalog. Every raised length keeps the sheet
  value next to it (``api show`` prints both).
* :data:`NOT_REQUIRED` lists fields the sheet marks required that callers may leave out.
* Numbered runs written with an ellipsis (``SRS_CD_01``, ``SRS_CD_02…``, ``SRS_CD_32`` in
  해외선물/해외옵션 상품기본정보) are expanded to every number; only the first is required
  (the request sends ``QRY_CNT`` of them, as the sheet's own example does).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from stock_manager.adapters.broker.kis.tr_ids import parse_tr_ids  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "kis-openapi" / "catalog.json"
OUTPUT = ROOT / "src" / "stock_manager" / "adapters" / "broker" / "kis" / "catalog.json"
FIELDS_NAME = "catalog_fields.json"
FORMAT = 1
USUAL_MIN = 3

# Markets as the header descriptions of 해외주식 주문 / 정정취소주문 name them.
_MARKETS = {"미국": "us", "일본": "jp", "상해": "sh", "홍콩": "hk", "심천": "sz", "베트남": "vn"}

#: api key -> (real, paper, reason). ``None`` paper = real-only.
TR_OVERRIDES: dict[str, tuple[dict[str, str], dict[str, str] | None, str]] = {
    "v1_국내주식-033": (
        {"": "TTTC2201R", "krx": "TTTC2201R", "sor": "TTTC2210R"},
        None,
        "TTTC2201R(기존 KRX만 가능), TTTC2210R (KRX,NXT/SOR): the sample (newer) uses only"
        " TTTC2201R, so it is the default; the sheet's TTTC2210R is action 'sor'",
    ),
    "v1_국내선물-001": (
        {"day": "TTTO1101U", "night": "STTN1101U", "night_old": "JTCE1001U"},
        {"day": "VTTO1101U"},
        "(주간) / (야간) (구) (신): night is the new (신) TR; the old one is 'night_old';"
        " paper trading has no night session",
    ),
    "v1_국내선물-002": (
        {"day": "TTTO1103U", "night": "STTN1103U", "night_old": "JTCE1002U"},
        {"day": "VTTO1103U"},
        "as 선물옵션 주문; the sample's night TR TTTN1103U is a probable typo (facts README ⚠),"
        " the sheet's STTN1103U is used",
    ),
    "v1_해외주식-004": (
        {"": "TTTT3017U"},
        {"": "VTTT3017U"},
        "(미국 예약주문 취소접수) only: Asian markets are not offered (아시아국가 미제공)",
    ),
}
#: TR_IDs of the header description, for the per-market overseas order APIs.
HEADER_TR_APIS = {"v1_해외주식-001": ("buy", "sell"), "v1_해외주식-003": ()}
#: Sheet-vs-sample TR conflicts the facts README marks as probable sample bugs (⚠): sheet wins.
SAMPLE_BUGS = {"v1_국내선물-002", "v1_해외주식-001", "해외선물-040"}
#: (api key, field) the sheet marks required that a caller may omit, with the reason.
NOT_REQUIRED: dict[tuple[str, str], str] = {}
#: Request fields the client fills itself when a caller leaves them out (continuation keys).
_CTX = re.compile(r"^CTX_AREA_[FN]K\d*$", re.IGNORECASE)
_BLOCK = re.compile(r"^(output\d*|outblock\d*)$", re.IGNORECASE)
_CODE_LINE = re.compile(r"^\s*['\"]?([A-Za-z0-9]{1,8})['\"]?\s*[:：]\s*(\S.*?)\s*$")
_TAG = re.compile(r"^\s*\[([^\]]+)\]")
_TAG_ACTIONS = {"정정": ["modify"], "취소": ["cancel"], "정정/취소": None, "취소/정정": None}


def _sample_trs(api: dict[str, Any], env: str = "real") -> list[str]:
    """TR_IDs the official sample sends in ``env`` (``real``/``paper``)."""
    sample = api.get("official_sample") or {}
    return [t["tr_id"] for t in sample.get("tr_ids") or [] if t.get("env") in (env, "any")]


def _header_trs(api: dict[str, Any], sides: tuple[str, ...]) -> tuple[dict[str, str], ...]:
    """Per-market TR_IDs listed in the ``tr_id`` header description ([실전투자]/[모의투자])."""
    desc = next(h["description"] for h in api["request_headers"] if h["name"] == "tr_id")
    tables: dict[str, dict[str, str]] = {"real": {}, "paper": {}}
    env = "real"
    for line in desc.splitlines():
        if "모의투자" in line:
            env = "paper"
        m = re.match(r"\s*([A-Z0-9]{9})\s*:\s*(\S+)\s*(.*)$", line)
        if not m:
            continue
        market = _MARKETS[m.group(2)]
        side = next((s for s in sides if {"buy": "매수", "sell": "매도"}[s] in m.group(3)), "")
        tables[env][f"{market}_{side}" if side else market] = m.group(1)
    return tables["real"], tables["paper"]


def _tr_tables(api: dict[str, Any]) -> tuple[dict[str, str], dict[str, str] | None, str]:
    key = api["key"]
    if key in TR_OVERRIDES:
        return TR_OVERRIDES[key]
    if key in HEADER_TR_APIS:
        by_market = _header_trs(api, HEADER_TR_APIS[key])
        return by_market[0], by_market[1], "per-market TR_IDs from the tr_id header description"
    raw_real, raw_paper = api["tr_id_real"].strip(), api["tr_id_paper"].strip()
    if not raw_real:
        return {}, {}, ""  # OAuth / hashkey: no tr_id header
    real: dict[str, str] = parse_tr_ids(raw_real) or {}
    paper: dict[str, str] | None = parse_tr_ids(raw_paper) if raw_paper else None
    note = ""
    sample = _sample_trs(api)
    if len(real) == 1 and "" in real and sample and key not in SAMPLE_BUGS:
        # A single-TR API whose newest sample uses another TR (실시간-053/-067, where the
        # sample also agrees with the path): the newer source wins.
        newer = sorted(set(sample) - set(real.values()))
        if len(newer) == 1:
            note = f"sheet {real['']} replaced by the sample's {newer[0]}"
            real = {"": newer[0]}
    single_paper = paper is not None and len(paper) == 1 and "" in paper
    if single_paper and sample and key not in SAMPLE_BUGS:
        assert paper is not None
        # The sheet's paper TR is never chosen by the sample (실시간-012): the newer source wins.
        if paper[""] not in _sample_trs(api, "paper") and set(sample) == set(real.values()):
            note = f"paper {paper['']} replaced by the sample's {real['']}"
            paper = {"": real[""]}
    return real, paper, note


def _allowed(description: str) -> dict[str, str] | None:
    codes: dict[str, str] = {}
    for line in description.splitlines():
        m = _CODE_LINE.match(line)
        if m and m.group(1) not in codes:
            codes[m.group(1)] = m.group(2)
    return codes if len(codes) >= 2 else None


def _example_lengths(api: dict[str, Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for m in re.finditer(r'"([A-Za-z0-9_]+)"\s*:\s*"([^"]*)"', api.get("example_request") or ""):
        name = m.group(1).upper()
        found[name] = max(found.get(name, 0), len(m.group(2)))
    return found


def _usual_lengths(apis: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for api in apis:
        for f in api["request_query"] + api["request_body"]:
            if isinstance(f["length"], int):
                counts[f["name"].upper()][f["length"]] += 1
    usual = {}
    for name, c in counts.items():
        length, n = max(c.items(), key=lambda kv: (kv[1], kv[0]))
        if n >= USUAL_MIN:
            usual[name] = length
    return usual


_RUN = re.compile(r"^(.*?)(\d+)(?:…|\.\.\.)$")


def _expand_runs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``X_02…`` followed by ``X_32`` → ``X_02`` .. ``X_32``, all optional."""
    out: list[dict[str, Any]] = []
    for i, f in enumerate(rows):
        m = _RUN.match(f["name"].strip())
        nxt = rows[i + 1]["name"].strip() if i + 1 < len(rows) else ""
        if not m or not nxt.startswith(m.group(1)) or not nxt[len(m.group(1)) :].isdigit():
            out.append(f)
            continue
        width, last = len(m.group(2)), int(nxt[len(m.group(1)) :])
        for n in range(int(m.group(2)), last):
            out.append({**f, "name": f"{m.group(1)}{n:0{width}d}", "required": False})
        rows[i + 1] = {**rows[i + 1], "required": False}
    return out


def _request(api: dict[str, Any], actions: set[str], usual: dict[str, int]) -> list[list[Any]]:
    examples = _example_lengths(api)
    fields: list[list[Any]] = []
    seen: set[str] = set()
    for f in _expand_runs(list(api["request_query"] + api["request_body"])):
        name = f["name"].strip()
        if name.upper() in seen:
            continue
        seen.add(name.upper())
        sheet_len = f["length"] if isinstance(f["length"], int) else None
        length = sheet_len
        if length is not None:
            length = max(length, examples.get(name.upper(), 0))
            if usual.get(name.upper(), 0) > length:
                length = usual[name.upper()]
        required = bool(f["required"]) and (api["key"], name) not in NOT_REQUIRED
        scope = None
        tag = _TAG.match(f["description"] or "")
        if tag and tag.group(1) in _TAG_ACTIONS and {"cancel", "modify"} <= actions:
            scope = _TAG_ACTIONS[tag.group(1)]
        fields.append(
            [
                name,
                f["korean"].strip(),
                1 if required else 0,
                length,
                _allowed(f["description"] or ""),
                scope,
                sheet_len if sheet_len != length else None,
            ]
        )
    return fields


def _response(api: dict[str, Any]) -> list[list[Any]]:
    blocks: dict[str, list[Any]] = {"": ["object", []]}
    for f in api["response_body"]:
        name = f["name"].strip()
        if f["parent"] is None and _BLOCK.match(name) and f["type"] in ("object", "array"):
            blocks.setdefault(name, [f["type"], []])
            continue
        if f["parent"] is None and "object array" in f["type"] and _BLOCK.match(name):
            blocks.setdefault(name, ["array", []])
            continue
        block = blocks.setdefault(f["parent"] or "", ["object", []])
        if all(existing[0] != name for existing in block[1]):
            block[1].append([name, f["korean"].strip()])
    return [[name, kind, fields] for name, (kind, fields) in blocks.items()]


def _kind(api: dict[str, Any], real: dict[str, str], transport: str) -> str:
    if transport == "WS":
        return "stream"
    if not real:
        return "auth"
    if api["method"] == "POST" and any(t.endswith("U") for t in real.values()):
        return "order"
    return "inquiry"


def _paging(api: dict[str, Any]) -> dict[str, Any] | None:
    if not api["paged"]:
        return None
    names = [f["name"].upper() for f in api["request_query"] + api["request_body"]]
    fk = next((n for n in names if re.match(r"CTX_AREA_FK\d*$", n)), None)
    nk = next((n for n in names if re.match(r"CTX_AREA_NK\d*$", n)), None)
    return {"ctx": [fk, nk] if fk and nk else [], "tr_cont": "tr_cont" in api["paged_by"]}


def build(source: Path) -> dict[str, Any]:
    """The catalog as the package stores it."""
    raw = source.read_bytes()
    apis = json.loads(raw)
    usual = _usual_lengths([a for a in apis if a["transport_effective"] == "REST"])
    out = []
    for api in apis:
        transport = "REST" if api["transport_effective"] == "REST" else "WS"
        real, paper, note = _tr_tables(api)
        listed = set(api["tr_ids_in_sheet"])
        got = set(real.values()) | set((paper or {}).values())
        if transport == "REST" and not listed <= got:
            raise SystemExit(f"{api['key']}: TR_IDs {sorted(listed - got)} of the sheet lost")
        if not api["paper_supported"]:
            paper = None
        actions = {a for a in real if a}
        out.append(
            {
                "id": api["key"],
                "name": api["name"],
                "category": api["category"],
                "transport": transport,
                "method": api["method"],
                "path": api["path"],
                "kind": _kind(api, real, transport),
                "real": real,
                "paper": paper,
                "tr_note": note,
                "paging": _paging(api) if transport == "REST" else None,
                "request": _request(api, actions, usual),
                "response": _response(api),
            }
        )
    return {
        "format": FORMAT,
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "fields": ["name", "korean", "required", "length", "allowed", "actions", "sheet_length"],
        "apis": out,
    }


def _dump(head: dict[str, Any], key: str, rows: list[Any]) -> str:
    lines = [json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + f',"{key}":[']
    body = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows]
    return "\n".join([*lines, ",\n".join(body), "]}"]) + "\n"


def render(data: dict[str, Any]) -> tuple[str, str]:
    """Compact, stable text of the index and of the fields file (one API per line)."""
    head = {k: v for k, v in data.items() if k != "apis"}
    index = [{k: v for k, v in a.items() if k not in ("request", "response")} for a in data["apis"]]
    fields = [[a["id"], a["request"], a["response"]] for a in data["apis"]]
    fields_head = {"format": head["format"], "source_sha256": head["source_sha256"]}
    return _dump(head, "apis", index), _dump(fields_head, "apis", fields)


def main() -> int:
    """Write (or ``--check``) the package catalog."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    texts = render(build(args.source))
    paths = (args.output, args.output.with_name(FIELDS_NAME))
    if args.check:
        for path, text in zip(paths, texts, strict=True):
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                print(f"{path} is stale: run python3 scripts/gen_catalog.py", file=sys.stderr)
                return 1
        print(f"{args.output} and {FIELDS_NAME} are up to date")
        return 0
    for path, text in zip(paths, texts, strict=True):
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
