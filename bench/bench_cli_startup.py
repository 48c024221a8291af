"""Start-up time of ``stock-manager`` commands against a bare ``python -c pass``.

Run: ``.venv/bin/python bench/bench_cli_startup.py [--rounds N]``

The commands are run interleaved (one of each per round, in rotating order) so that machine
load drifts hit all of them alike; the report gives medians and the ratio to ``python -c pass``.
Targets (issue #14): every ``--help`` <= 10x; ``resv list`` end to end <= 20x and <= 0.5x the
same listing done by KIS's official sample in a fresh process. This script prints; it asserts
nothing.

Children run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` dropped), as an installed
package does; the warm-up run of each command writes the caches.

Measured:

* ``python -c pass``                    the floor: interpreter start-up (with site-packages)
* ``stock-manager --help``              the top-level help (typer-free fast path)
* ``stock-manager COMMAND --help``      every command's help (pre-rendered, see ``cli/_fast.py``)
* ``stock-manager tr-id v1_국내주식-017``  TR_ID look-up: loads only the API catalog
* ``stock-manager api show v1_국내주식-018,019``  an API's spec: loads only the API catalog
* ``stock-manager resv list``           end to end against the emulator (a child process, rate
  limit off, 20 reservations): config, token from the cache, one page, the table
* ``stock-manager resv list --json``    the same rows without the table (a fitting 20-row table
  is drawn without rich, by ``cli/_table.py``: the two should now cost the same)
* ``import pydantic``, ``import pydantic_settings``, ``import`` of rich as ``cli/_render.py``
  does, and ``import`` of the KIS reservations library (httpx's CLI left
  out, as ``stock-manager`` does): the floor under ``resv list``
* ``stock-manager resv list (typer path)``  the same with ``STOCK_MANAGER_NO_FAST=1``: through
  typer, as before the fast path
* python-kis ``resv list`` equivalent   a fresh process that imports python-kis, builds its
  client (token handed over) and prints the same page — when the ``bench`` extra is installed
* official sample ``chk_order_resv_ccnl.py``  KIS's own example for the same listing (see
  ``_official_sample.py``: copied at run time from ``--official PATH`` or a git mirror, never
  kept here), pointed at the emulator, its token handed over in its own cache file

``tr-id`` and ``api show`` are served without typer, pydantic or httpx; their target is
≤ 5x ``python -c pass``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _emuproc import ACCOUNT, APP_KEY, APP_SECRET, EmulatorProcess, child_env, evening, seed
from _official_sample import prepare as prepare_official
from stock_manager.adapters.broker.kis import KISRestClient
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter
from stock_manager.cli._helptext import HELP

CLI = [sys.executable, "-m", "stock_manager.cli"]
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "stock-manager --help": [*CLI, "--help"],
    "stock-manager resv --help": [*CLI, "resv", "--help"],
    "stock-manager tr-id v1_국내주식-017": [*CLI, "tr-id", "v1_국내주식-017"],
    "stock-manager api show v1_국내주식-018,019": [*CLI, "api", "show", "v1_국내주식-018,019"],
}
# The other commands' help, measured too (every --help has the 10x target).
HELP_COMMANDS = {
    f"stock-manager {path} --help": [*CLI, *path.split(), "--help"]
    for path in sorted(HELP)
    if path != "resv"
}
# What `resv list` cannot do without: the floor under its ratio.
IMPORT_FLOORS = {
    "python -c 'import pydantic'": [sys.executable, "-c", "from pydantic import BaseModel"],
    "python -c 'import pydantic_settings'": [sys.executable, "-c", "import pydantic_settings"],
    "python -c 'import <rich, as _render does>'": [
        sys.executable,
        "-c",
        "import rich.cells, rich.console, rich.markup, rich.panel, rich.table, rich.text",
    ],
    "python -c 'import <KIS reservations library>'": [
        sys.executable,
        "-c",
        "import sys; sys.modules['httpx._main'] = None;"
        " import stock_manager.adapters.broker.kis.reservations",
    ],
}
RESV_LIST = "stock-manager resv list"
RESV_LIST_TYPER = "stock-manager resv list (typer path)"
RESV_LIST_JSON = "stock-manager resv list --json"
PYKIS_LIST = "python-kis resv list equivalent"
OFFICIAL_LIST = "official sample chk_order_resv_ccnl.py"

# One CTSC0004R page with python-kis, printed as rows: what `resv list` does, in its idiom.
_PYKIS_SCRIPT = """
import json, logging, sys
cfg = json.loads(sys.argv[1])
import pykis.kis
from pykis import PyKis
from pykis.utils.rate_limit import RateLimiter
logging.getLogger("pykis").setLevel(logging.WARNING)
pykis.kis.REAL_DOMAIN = cfg["base_url"]
kis = PyKis(id="bench", account=cfg["account"], appkey=cfg["app_key"],
            secretkey=cfg["app_secret"], token=cfg["token_file"], use_websocket=False,
            keep_token=False)
kis._rate_limiters["real"] = RateLimiter(10**9, 1)
page = kis.fetch("/uapi/domestic-stock/v1/trading/order-resv-ccnl", params=cfg["params"],
                 api="CTSC0004R")
for row in page.output:
    print(row.rsvn_ord_seq, row.pdno, row.ord_rsvn_qty, row.ord_rsvn_unpr, row.prcs_rslt)
"""
#: Commands that must stay within 5x ``python -c pass`` (they load only the catalog).
CATALOG_ONLY = ("stock-manager tr-id v1_국내주식-017", "stock-manager api show v1_국내주식-018,019")


def _once(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{argv[:4]} exited {proc.returncode}: {err[-2000:]!r}")
    return wall, _cpu_of_last_child()


_CPU_SEEN = [0.0]


def _cpu_of_last_child() -> float:
    # RUSAGE_CHILDREN accumulates over every waited-for child: the difference is the last one.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    cpu, _CPU_SEEN[0] = total - _CPU_SEEN[0], total
    return cpu


def _pykis_argv(emu: EmulatorProcess, client: KISRestClient, tmp: Path) -> list[str] | None:
    try:
        import pykis  # noqa: F401
    except ImportError:
        return None
    from stock_manager.adapters.broker.kis.reservations import Reservations

    token_file = tmp / "python-kis-token.json"
    token_file.write_text(
        json.dumps(
            {
                "access_token": client.issue_token(),
                "token_type": "Bearer",
                "access_token_token_expired": "2099-12-31 00:00:00",
                "expires_in": 86400,
            }
        )
    )
    params = Reservations(client)._rules.list_params(None, None, None, None, None, "all", False)
    cfg = {
        "base_url": emu.base_url,
        "account": ACCOUNT,
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "token_file": str(token_file),
        "params": params,
    }
    return [sys.executable, "-c", _PYKIS_SCRIPT, json.dumps(cfg)]


def _add_official(
    source: Path | None,
    emu: EmulatorProcess,
    client: KISRestClient,
    tmp: Path,
    commands: dict[str, list[str]],
    envs: dict[str, dict[str, str]],
    cwds: dict[str, Path],
) -> str:
    """Add KIS's official sample (same 20 rows) to ``commands``; say where it came from or
    why it is left out."""
    from stock_manager.adapters.broker.kis.reservations import Reservations

    params = Reservations(client)._rules.list_params(None, None, None, None, None, "all", False)
    prepared = prepare_official(
        source,
        tmp,
        base_url=emu.base_url,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        account=ACCOUNT,
        token=client.issue_token(),
        start=params["RSVN_ORD_ORD_DT"],
        end=params["RSVN_ORD_END_DT"],
    )
    if isinstance(prepared, str):
        return prepared
    argv, cwd, extra, where = prepared
    env = child_env(**extra)
    # Check it lists the same 20 reservations before timing it (a failing sample would time
    # an error path).
    out = subprocess.run(
        [sys.executable, *argv], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    rows = sum(1 for line in out.stdout.splitlines() if " 005930 " in f" {line} ")
    if out.returncode or rows != 20:
        return (
            f"the sample from {where} did not list the 20 rows (exit {out.returncode},"
            f" {rows} rows): {out.stdout[-600:]!r} {out.stderr[-1500:]!r}"
        )
    commands[OFFICIAL_LIST] = [sys.executable, *argv]
    envs[OFFICIAL_LIST] = env
    cwds[OFFICIAL_LIST] = cwd
    return where


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="runs of each command")
    parser.add_argument(
        "--official",
        type=Path,
        help="a checkout (or bare git dir) of koreainvestment/open-trading-api"
        " (default: the session mirror, if present)",
    )
    args = parser.parse_args()
    cwds: dict[str, Path] = {}
    official_note = ""
    # The emulator's clock starts inside the reservation window (17:00 KST), whatever the hour.
    with EmulatorProcess(clock=evening()) as emu, tempfile.TemporaryDirectory() as tmp:
        token_dir = Path(tmp) / "tokens"
        plain_env = child_env(NO_COLOR="1")
        envs: dict[str, dict[str, str]] = {}
        commands = {**COMMANDS, **HELP_COMMANDS, **IMPORT_FLOORS}
        with KISRestClient(emu.config(token_dir), limiter=RateLimiter(1e9, margin=0)) as client:
            seed(client, 20)
            commands[RESV_LIST] = [*CLI, "resv", "list"]
            envs[RESV_LIST] = emu.env(token_dir)
            # The same rows without the table: what drawing the table costs.
            commands[RESV_LIST_JSON] = [*CLI, "resv", "list", "--json"]
            envs[RESV_LIST_JSON] = emu.env(token_dir)
            # The same through typer, as every command ran before the fast paths.
            commands[RESV_LIST_TYPER] = [*CLI, "resv", "list"]
            envs[RESV_LIST_TYPER] = {**emu.env(token_dir), "STOCK_MANAGER_NO_FAST": "1"}
            pykis_argv = _pykis_argv(emu, client, Path(tmp))
            if pykis_argv is not None:
                commands[PYKIS_LIST] = pykis_argv
            official_note = _add_official(
                args.official, emu, client, Path(tmp), commands, envs, cwds
            )
        names = list(commands)
        for name in names:  # warm the file cache and the bytecode cache once
            _once(commands[name], envs.get(name, plain_env), cwds.get(name))
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        _cpu_of_last_child()  # the children so far are not measured
        for i in range(args.rounds):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                wall, used = _once(commands[name], envs.get(name, plain_env), cwds.get(name))
                times[name].append(wall)
                cpu[name].append(used)
    base = statistics.median(times[names[0]])
    cpu_base = statistics.median(cpu[names[0]])
    print(
        f"{args.rounds} interleaved rounds, medians ({sys.executable}); CPU = user + system"
        " time of the process, less disturbed by other load than wall time"
    )
    for name in names:
        med, used = statistics.median(times[name]), statistics.median(cpu[name])
        print(
            f"  {name:<44} {med * 1000:7.1f} ms  {med / base:5.1f}x"
            f"   CPU {used * 1000:6.1f} ms  {used / cpu_base:5.1f}x"
        )

    def ratio(name: str) -> float:
        return statistics.median(times[name]) / base

    helps = [n for n in names if n.endswith("--help")]
    worst = max(helps, key=ratio)
    print(
        f"every --help <= {ratio(worst):.1f}x python -c pass (worst: {worst}; target 10x);"
        f" {RESV_LIST} = {ratio(RESV_LIST):.1f}x (target 20x)"
    )

    def cpu_ratio(a: str, b: str) -> float:
        return statistics.median(cpu[a]) / statistics.median(cpu[b])

    if OFFICIAL_LIST in times:
        print(
            f"{RESV_LIST} / {OFFICIAL_LIST} = {ratio(RESV_LIST) / ratio(OFFICIAL_LIST):.2f}x"
            f" (CPU {cpu_ratio(RESV_LIST, OFFICIAL_LIST):.2f}x; target 0.5x)"
            f" [official sample from {official_note}]"
        )
    else:
        print(f"official sample not measured: {official_note}")
    if PYKIS_LIST in times:
        print(
            f"{RESV_LIST} / {PYKIS_LIST} = {ratio(RESV_LIST) / ratio(PYKIS_LIST):.2f}x"
            f" (CPU {cpu_ratio(RESV_LIST, PYKIS_LIST):.2f}x)"
        )
    else:
        print("python-kis not installed (pip install -e '.[bench]'): no comparison")
    for name in CATALOG_ONLY:
        verdict = "within" if ratio(name) <= 5 else "ABOVE"
        print(f"{name} / python -c pass = {ratio(name):.2f}x ({verdict} the 5x target)")


if __name__ == "__main__":
    main()
