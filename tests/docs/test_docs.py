"""The documentation (README.md and docs/) is run, not just read.

Conventions the pages follow (docs/index.md states them for writers):

* A ```` ```python ```` block runs. Blocks of one page run in order in one namespace, in this
  process, against a fresh emulator whose ``KIS_*`` variables are set as ``stock-manager
  emulator serve`` prints them; the process's clock is moved to 16:00 KST on an open day
  (2026-12-01, inside KIS's reservation window) and keeps running, so the examples behave the
  same at any real hour and date. A block that cannot run says why in an HTML comment on the
  line before its fence: ``<!-- not run: REASON -->``; it must still compile.
* A ```` ```console ```` block is a terminal session: each ``$ stock-manager ...`` command
  (``\\``-continued lines joined) runs through the installed console script against that
  emulator, with ``STOCK_MANAGER_NOW`` at the emulator's clock and ``COLUMNS=100``. The lines
  shown under a command must appear in its output, in order; ``...`` or ``…`` in a shown line
  stands for anything. ``# exit N`` after a command is its expected exit code (default 0).
* ```` ```bash ```` blocks are synopses (``[options]``, placeholders): not run.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine

from stock_manager.emulator import EmulatorConfig, ServedEmulator, run_emulator

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
KST = timezone(timedelta(hours=9))
#: A Tuesday, an open KRX day; 16:00 is inside the reservation window (15:40 → 07:30).
AT = datetime(2026, 12, 1, 16, 0, tzinfo=KST)
#: Run elsewhere: the kis_emulator example is a pytest module (tests/emulator/test_pytest_plugin).
RUN_ELSEWHERE = {"kis-emulator-example"}

_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_MARKER = re.compile(r"<!--\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marker: str  # the HTML comment on the line before the fence, "" when none

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        return not (self.marker.startswith("not run") or self.marker in RUN_ELSEWHERE)


def blocks(page: Path, lang: str | None = None) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.match(before.strip())
        found.append(
            Block(
                page,
                text.count("\n", 0, m.start()) + 1,
                m.group(1),
                m.group(2),
                marker.group(1) if marker else "",
            )
        )
    return [b for b in found if lang is None or b.lang == lang]


def _ids(pages: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in pages]


PY_PAGES = [p for p in PAGES if any(b.runs for b in blocks(p, "python"))]
CLI_PAGES = [p for p in PAGES if any(b.runs for b in blocks(p, "console"))]


# --- the emulator the examples run against ---------------------------------------------------
@pytest.fixture
def docs_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedEmulator]:
    """A fresh emulator at 16:00 KST on an open day, its KIS_* variables set, files in tmp."""
    for name in list(os.environ):
        if name.startswith(("KIS_", "STOCK_MANAGER_")):
            monkeypatch.delenv(name)
    with (
        time_machine.travel(AT, tick=True),
        run_emulator(EmulatorConfig.demo(seed=19)) as emu,
    ):
        c = emu.credentials
        env = {
            "KIS_BASE_URL": c["base_url"],
            "KIS_APP_KEY": c["app_key"],
            "KIS_APP_SECRET": c["app_secret"],
            "KIS_ACCOUNT_NO": c["account"],
            "KIS_HTS_ID": emu.hts_id,
            # never the user's token cache, journal or config
            "KIS_TOKEN_CACHE_DIR": str(tmp_path / "tokens"),
            "KIS_JOURNAL_PATH": str(tmp_path / "journal.sqlite3"),
            "HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path / ".config"),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)  # no stray .env is read
        yield emu


# --- every page ------------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_no_merge_markers_and_blocks_are_well_formed(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for n, line in enumerate(text.splitlines(), 1):
        assert not re.match(r"(<{7}|={7}|>{7})( |$)", line), f"merge marker at {page.name}:{n}"
    assert text.count("```") % 2 == 0, f"{page.name}: an unclosed code fence"
    for b in blocks(page):
        if b.marker.startswith("not run"):
            assert re.match(r"not run: \S", b.marker), f"{b.where}: say why it is not run"
        if b.lang == "python":  # even a block that is not run must be Python
            compile(b.text, b.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_readme_is_a_front_page() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert "python3 dev.py demo" in text and "python3 dev.py test" in text
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).exists(), link
    langs = [b.lang for b in blocks(ROOT / "README.md") if b.runs]
    assert langs.count("python") >= 2 and "console" in langs  # library, emulator; CLI


def test_every_docs_page_is_in_the_site() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in DOCS.rglob("*.md"):
        assert str(page.relative_to(DOCS)) in nav, f"{page} is not in mkdocs.yml's nav"


# --- Python examples -------------------------------------------------------------------------
@pytest.mark.parametrize("page", PY_PAGES, ids=_ids(PY_PAGES))
def test_python_examples_run(page: Path, docs_env: ServedEmulator) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for b in blocks(page, "python"):
        if b.runs:
            exec(compile(b.text, b.where, "exec"), namespace)


# --- command-line examples -------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    where: str
    argv: list[str]
    exit_code: int
    shown: list[str]


def commands(b: Block) -> list[Command]:
    out: list[Command] = []
    lines = b.text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.startswith("$ "):
            assert not line.strip(), f"{b.where}: output before the first command: {line}"
            continue
        cmd = line[2:]
        while cmd.endswith("\\") and i < len(lines):
            cmd = cmd[:-1] + " " + lines[i].strip()
            i += 1
        shown = []
        while i < len(lines) and not lines[i].startswith("$ "):
            if lines[i].strip():
                shown.append(lines[i])
            i += 1
        m = re.search(r"#\s*exit\s+(\d+)\s*$", cmd)
        argv = shlex.split(cmd, comments=True)
        assert argv[0] == "stock-manager", f"{b.where}: only stock-manager commands run here"
        out.append(Command(b.where, argv, int(m.group(1)) if m else 0, shown))
    return out


def _normal(line: str) -> str:
    return " ".join(line.split())


def _pattern(line: str) -> re.Pattern[str]:
    parts = re.split(r"\s*(?:\.\.\.|…)\s*", _normal(line))
    return re.compile(".*".join(re.escape(p) for p in parts))


def assert_shown(cmd: Command, output: str) -> None:
    """Every shown line matches a line of the output, in order."""
    got = [_normal(x) for x in output.splitlines()]
    at = 0
    for line in cmd.shown:
        pattern = _pattern(line)
        while at < len(got) and not pattern.fullmatch(got[at]):
            at += 1
        assert at < len(got), (
            f"{cmd.where}: `{shlex.join(cmd.argv)}` did not print (in this order)\n"
            f"  {line}\nIt printed:\n{output}"
        )
        at += 1


def script() -> str:
    exe = Path(sys.executable).with_name("stock-manager")
    assert exe.exists(), f"the console script is not installed beside {sys.executable}"
    return str(exe)


@pytest.mark.parametrize("page", CLI_PAGES, ids=_ids(CLI_PAGES))
def test_cli_examples_run(page: Path, docs_env: ServedEmulator) -> None:
    exe = script()
    for b in blocks(page, "console"):
        if not b.runs:
            continue
        for cmd in commands(b):
            env = {
                **os.environ,
                "STOCK_MANAGER_NOW": docs_env.clock.now().isoformat(),
                "COLUMNS": "100",
                "NO_COLOR": "1",
                "TERM": "dumb",
            }
            proc = subprocess.run(
                [exe, *cmd.argv[1:]],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            output = proc.stdout + proc.stderr
            assert proc.returncode == cmd.exit_code, (
                f"{cmd.where}: `{shlex.join(cmd.argv)}` exited {proc.returncode}, "
                f"the page says {cmd.exit_code}:\n{output}"
            )
            assert "Traceback" not in output, output
            assert_shown(cmd, output)


def test_the_output_matcher_can_fail() -> None:
    cmd = Command("x", ["stock-manager"], 0, ["account 12****78-01", "b … d"])
    assert_shown(cmd, "account 12****78-01\nb c d\n")
    with pytest.raises(AssertionError):
        assert_shown(cmd, "account 1234****-01\nb c d\n")
    with pytest.raises(AssertionError):  # order matters
        assert_shown(cmd, "b c d\naccount 12****78-01\n")


# --- the emulator's admin routes -------------------------------------------------------------
ADMIN_PAGE = DOCS / "emulator-admin.md"
EMU_SRC = ROOT / "src" / "stock_manager" / "emulator"


def documented_routes() -> set[tuple[str, str]]:
    text = ADMIN_PAGE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (GET|POST|DELETE|WebSocket) \| (`[^|]+`) \|", text, re.M)
    return {(method, path) for method, cell in rows for path in re.findall(r"`([^`]+)`", cell)}


def _strings(nodes: list[ast.expr]) -> set[str]:
    return {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _compared_with_path(source: Path) -> set[str]:
    """String constants the router compares ``path`` with (``==`` and ``in``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Name)
            and node.left.id == "path"
        ):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.Eq):
                    found |= _strings([right])
                if isinstance(op, ast.In) and isinstance(right, ast.Tuple):
                    found |= _strings(right.elts)
    return found


def test_admin_routes_table_matches_the_router() -> None:
    routed = {"/_emulator" + p for p in _compared_with_path(EMU_SRC / "admin.py")}
    routed |= {"/_emulator" + p for p in _compared_with_path(EMU_SRC / "market.py")}
    app_paths = _compared_with_path(EMU_SRC / "app.py")
    assert "/openapi.json" in app_paths  # served by the admin handler too
    routed.add("/openapi.json")
    http_documented = {p for m, p in documented_routes() if m != "WebSocket"}
    http_documented.discard("/oauth2/Approval")  # the WebSocket side's REST half (ws.py)
    assert http_documented == routed
    ws_documented = {p for m, p in documented_routes() if m == "WebSocket"}
    assert ws_documented == {"/", "/tryitout", "/tryitout/<TR>"}
    assert {"/", "/tryitout"} <= app_paths
    assert 'path.startswith("/tryitout/")' in (EMU_SRC / "app.py").read_text()
    ws_src = (EMU_SRC / "ws.py").read_text()
    assert 'APPROVAL_PATH = "/oauth2/Approval"' in ws_src
    assert ("POST", "/oauth2/Approval") in documented_routes()


def test_every_documented_route_answers() -> None:
    """Each documented method + path is routed (a 400 for an empty body is fine, 404 is not)."""
    with run_emulator(EmulatorConfig.demo(seed=19)) as emu, httpx.Client() as http:
        for method, path in sorted(documented_routes()):
            if method == "WebSocket":
                continue
            r = http.request(method, emu.base_url + path, json={})
            assert r.status_code != 404, (method, path, r.text)
            assert r.status_code < 500, (method, path, r.text)


def test_the_route_check_can_fail() -> None:
    with run_emulator(EmulatorConfig.demo(seed=19)) as emu:
        r = httpx.post(emu.base_url + "/_emulator/market/holiday", json={})
    assert r.status_code == 404  # the route an old README documented
    assert ("POST", "/_emulator/market/holiday") not in documented_routes()


def test_every_setting_is_documented() -> None:
    from stock_manager.adapters.broker.kis.config import KISConfig

    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for field in KISConfig.model_fields:
        env = "KIS_" + field.upper().removeprefix("KIS_")
        assert f"`{env}`" in page, f"{env} ({field}) is not in docs/configuration.md"


def _load_dev() -> Any:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_strict_docs_build_of_lint_fails_on_a_broken_link(tmp_path: Path) -> None:
    """`python3 dev.py lint` runs exactly this build; a warning must fail it."""
    build = _load_dev().MKDOCS_BUILD
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", tree / "mkdocs.yml")
    shutil.copytree(DOCS, tree / "docs")
    (tree / "src").symlink_to(ROOT / "src")
    page = tree / "docs" / "kis-notes.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [x](nope.md).\n", encoding="utf-8")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, *build, "--site-dir", str(tmp_path / "site")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "nope.md" in proc.stderr
