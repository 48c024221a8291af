"""``tr-id`` and ``api list``/``api show`` without typer, pydantic or httpx.

These commands only read the static API catalog, so :func:`stock_manager.cli.main.main` runs
them through :func:`run_fast` before it imports typer: start-up stays close to a bare
interpreter (``bench/bench_cli_startup.py`` measures it). Anything unusual (``--help``, an
option this small parser does not know, a global option such as ``--emulator``) returns
``None`` and typer handles it, with the same functions doing the work (:mod:`.api`,
:mod:`.admin`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis.tr_ids import ApiSpec

__all__ = ["api_list", "api_show", "run_fast", "tr_id_of"]

EXIT_OK = 0  # ._errors.EXIT_OK; that module (traceback, re) loads only when needed


def tr_id_of(api_id: str, *, paper: bool, action: str | None) -> tuple[ApiSpec, str]:
    """The spec and TR_ID for ``tr-id``; a CLIError names the ``--action`` choices."""
    from stock_manager.adapters.broker.kis.tr_ids import CATALOG

    spec = CATALOG[api_id]
    if spec.actions and not spec.default_action and action is None:
        from ._errors import CLIError

        raise CLIError(
            f"{spec.name} ({spec.api_id}) has one TR_ID per action",
            hint="choose --action " + " or --action ".join(spec.actions),
        )
    return spec, spec.tr_id(paper=paper, action=action)


def _tr_table(table: Any) -> str:
    if table is None:
        return "not supported (모의투자 미지원)"
    if not table:
        return "-"
    return ", ".join(
        f"{t} ({a})" if a else f"{t} (default)" if len(table) > 1 else t for a, t in table.items()
    )


def api_show(spec: ApiSpec) -> str:
    """``api show`` as text: method, path, TR_IDs, fields with required/length/allowed."""
    lines = [
        f"{spec.api_id}  {spec.name}  [{spec.category}]",
        f"  {spec.method} {spec.path}   ({spec.transport}, {spec.kind})",
        f"  TR_ID real : {_tr_table(spec.real)}",
        f"  TR_ID paper: {_tr_table(spec.paper)}",
    ]
    if spec.paging:
        keys = "/".join(spec.paging.ctx_keys) or "no keys"
        rule = "tr_cont F/M → N" if spec.paging.tr_cont else "keys only (no tr_cont)"
        lines.append(f"  paging     : {keys}; {rule}")
    if spec.tr_note:
        lines.append(f"  note       : {spec.tr_note}")
    lines.append("  request fields (* required):")
    width = max((len(f.name) for f in spec.fields), default=4)
    for f in spec.fields:
        length = "" if f.length is None else str(f.length)
        if f.sheet_length is not None:
            length += f" (sheet {f.sheet_length})"
        scope = f" [{'/'.join(f.actions)}]" if f.actions is not None else ""
        lines.append(
            f"    {'*' if f.required else ' '} {f.name.ljust(width)}  {length:<4} "
            f" {f.korean}{scope}"
        )
        if f.allowed:
            codes = ", ".join(f"{k}={v}" for k, v in f.allowed.items())
            lines.append(f"        {' ' * width}allowed: {codes}")
    blocks = [b for b in spec.response if b.fields]
    if blocks:
        lines.append("  response:")
        for b in blocks:
            name = b.name or "(top level)"
            names = ", ".join(n for n, _ in b.fields)
            lines.append(f"    {name} ({b.kind}): {names}")
    return "\n".join(lines) + "\n"


def api_list(specs: Sequence[ApiSpec]) -> str:
    """``api list`` as text: one API per line."""
    if not specs:
        return "no API matches\n"
    width = max(len(s.api_id) for s in specs)
    lines = []
    for s in specs:
        trs = ",".join(dict.fromkeys(s.real.values())) or "-"
        paper = "" if s.paper_supported else "  (real only)"
        verb = s.method if s.transport == "REST" else "WS"
        lines.append(f"{s.api_id.ljust(width)}  {verb:<4} {trs:<22} {s.name}{paper}")
    lines.append(f"{len(specs)} APIs")
    return "\n".join(lines) + "\n"


def _emit_json(obj: Any) -> None:
    import json

    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def run_fast(argv: Sequence[str]) -> int | None:
    """Run ``tr-id``/``api show``/``api list`` if ``argv`` is one of them, else ``None``."""
    args = list(argv)
    as_json = False
    while args and args[0] in ("--json", "--debug"):
        as_json |= args.pop(0) == "--json"
    if args[:1] == ["tr-id"]:
        opts = _parse(args[1:], flags={"--paper", "--json"}, values={"--action"})
    elif args[:2] in (["api", "show"], ["api", "list"]):
        names = {"--category", "--search"} if args[1] == "list" else set()
        opts = _parse(args[2:], flags={"--json"}, values=names)
    else:
        return None
    if opts is None:
        return None
    positional, flags, values = opts
    as_json |= "--json" in flags
    from stock_manager.adapters.broker.kis.tr_ids import CATALOG, list_json, spec_json

    if args[0] == "tr-id":
        if len(positional) != 1:
            return None
        paper = "--paper" in flags
        action = values.get("--action")
        spec, value = tr_id_of(positional[0], paper=paper, action=action)
        if as_json:
            _emit_json(
                {
                    "api_id": spec.api_id,
                    "name": spec.name,
                    "method": spec.method,
                    "path": spec.path,
                    "paper": paper,
                    "action": action,
                    "tr_id": value,
                }
            )
        else:
            # Bare value on stdout so that `$(stock-manager tr-id ...)` works in scripts.
            sys.stdout.write(value + "\n")
        return EXIT_OK
    if args[1] == "show":
        if len(positional) != 1:
            return None
        spec = CATALOG[positional[0]]
        if as_json:
            _emit_json(spec_json(spec))
        else:
            sys.stdout.write(api_show(spec))
        return EXIT_OK
    if positional:
        return None
    found = CATALOG.search(values.get("--search", ""), category=values.get("--category", ""))
    if as_json:
        _emit_json(list_json(found))
    else:
        sys.stdout.write(api_list(found))
    return EXIT_OK


def _parse(
    args: list[str], *, flags: set[str], values: set[str]
) -> tuple[list[str], set[str], dict[str, str]] | None:
    positional: list[str] = []
    seen: set[str] = set()
    given: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a in flags:
            seen.add(a)
        elif a in values and i + 1 < len(args):
            given[a] = args[i + 1]
            i += 1
        elif "=" in a and a.split("=", 1)[0] in values:
            key, value = a.split("=", 1)
            given[key] = value
        elif a.startswith("-"):
            return None  # --help, a typo, anything else: typer answers
        else:
            positional.append(a)
        i += 1
    return positional, seen, given
