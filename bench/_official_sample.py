"""KIS's official sample for 주식예약주문조회 (v1_국내주식-020), run against our emulator.

The sample lives in https://github.com/koreainvestment/open-trading-api (``examples_llm/``):
``kis_auth.py`` (token, headers, ``requests``) and ``domestic_stock/order_resv_ccnl/``
(``order_resv_ccnl.py``, the API function; ``chk_order_resv_ccnl.py``, its runnable check,
which prints the listing as a pandas DataFrame). None of its code is kept in this repository:
:func:`prepare` copies the three files at run time from a checkout (``--official PATH``), or
from a bare git mirror of that repository, into a temporary folder, and writes the
``kis_devlp.yaml`` the sample reads from ``$HOME/KIS/config`` with the emulator's URL and
credentials. Two edits are made to the copy, both data, not code: the fixed example dates of
``chk_order_resv_ccnl.py`` become the date range ``stock-manager resv list`` asks for, so both
list the same 20 rows; and the access token is handed over in the sample's own cache file
(``KIS<yyyymmdd>``, as it would be after its first run), as ``stock-manager`` gets it from its
cache. Needs ``pip install -e '.[bench]'`` (pandas, requests, PyYAML, websockets,
pycryptodome: the sample's imports).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

#: Where the fetch tool of this project's sessions leaves a bare mirror of the repository.
DEFAULT_MIRRORS = (Path("/work/.mirror/koreainvestment+open-trading-api/repo"),)
SAMPLE_DIR = "examples_llm/domestic_stock/order_resv_ccnl"
FILES = ("examples_llm/kis_auth.py", f"{SAMPLE_DIR}/order_resv_ccnl.py")
CHECK = f"{SAMPLE_DIR}/chk_order_resv_ccnl.py"
#: The example range hard-wired in chk_order_resv_ccnl.py's main().
EXAMPLE_DATES = ('rsvn_ord_ord_dt="20220729"', 'rsvn_ord_end_dt="20220810"')
NEEDS = ("pandas", "requests", "yaml", "websockets", "Crypto")


def _reader(source: Path) -> tuple[str, Callable[[str], str]]:
    """(description, function path -> text) for a checkout or a bare git directory."""
    if (source / FILES[0]).is_file():
        return str(source), lambda rel: (source / rel).read_text(encoding="utf-8")
    if (source / "HEAD").is_file() and (source / "objects").is_dir():

        def show(rel: str) -> str:
            return subprocess.run(
                ["git", "--git-dir", str(source), "show", f"HEAD:{rel}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout

        head = subprocess.run(
            ["git", "--git-dir", str(source), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return f"{source} @ {head[:12]}", show
    raise FileNotFoundError(source)


def prepare(
    source: Path | None,
    tmp: Path,
    *,
    base_url: str,
    app_key: str,
    app_secret: str,
    account: str,
    token: str,
    start: str,
    end: str,
) -> tuple[list[str], Path, dict[str, str], str] | str:
    """``(argv, cwd, extra env, description)`` of one run of the sample, or why it cannot run."""
    missing = [m for m in NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        return f"missing {', '.join(missing)} (pip install -e '.[bench]')"
    candidates = [source] if source else [p for p in DEFAULT_MIRRORS if p.exists()]
    if not candidates:
        return "no copy of koreainvestment/open-trading-api (give one with --official PATH)"
    try:
        where, read = _reader(candidates[0])
        texts = {rel: read(rel) for rel in (*FILES, CHECK)}
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        return f"{candidates[0]}: not a copy of open-trading-api with {CHECK} ({exc})"
    check = texts[CHECK]
    if not all(d in check for d in EXAMPLE_DATES):
        return f"{CHECK} changed: its example dates {EXAMPLE_DATES} are gone"
    texts[CHECK] = check.replace(EXAMPLE_DATES[0], f'rsvn_ord_ord_dt="{start}"').replace(
        EXAMPLE_DATES[1], f'rsvn_ord_end_dt="{end}"'
    )
    root = tmp / "open-trading-api"
    for rel, text in texts.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    home = tmp / "official-home"
    config = home / "KIS" / "config"
    config.mkdir(parents=True)
    cano, prod = account.split("-")
    ws = base_url.replace("http", "ws", 1)
    (config / "kis_devlp.yaml").write_text(
        f'my_app: "{app_key}"\nmy_sec: "{app_secret}"\n'
        f'paper_app: "{app_key}"\npaper_sec: "{app_secret}"\nmy_htsid: "bench"\n'
        f'my_acct_stock: "{cano}"\nmy_acct_future: "{cano}"\n'
        f'my_paper_stock: "{cano}"\nmy_paper_future: "{cano}"\nmy_prod: "{prod}"\n'
        f'prod: "{base_url}"\nops: "{ws}"\nvps: "{base_url}"\nvops: "{ws}"\n'
        'my_token: ""\nmy_agent: "stock-manager-bench"\n',
        encoding="utf-8",
    )
    # The sample's token cache (kis_auth.save_token's format), valid until 2099.
    cache = config / f"KIS{datetime.today().strftime('%Y%m%d')}"
    cache.write_text(f"token: {token}\nvalid-date: 2099-12-31 00:00:00\n", encoding="utf-8")
    os.chmod(cache, 0o600)
    argv = ["chk_order_resv_ccnl.py"]
    return argv, root / SAMPLE_DIR, {"HOME": str(home)}, where
