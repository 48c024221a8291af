"""Start-up of ``stock-manager`` (typer, one parser) against ``python -c pass`` and KIS's sample.

Run: ``.venv/bin/python bench/bench_cli_startup.py [--rounds N] [--official PATH]``

The commands are run interleaved (one of each per round, in rotating order) so that machine
load drifts hit all of them alike. One table, side by side: each command's median wall time,
its ratio to ``python -c pass`` and to KIS's official sample listing the same reservations,
and the same for CPU time (user + system, less disturbed by other load). No target ratio is
asserted or printed: this script measures.

Children run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` dropped), as an installed
package does; the warm-up run of each command writes the caches.

Measured:

* ``python -c pass``                    the floor: interpreter start-up (with site-packages)
* ``stock-manager --help``              the top-level help: typer's rich help, the command
  list read from the table in ``cli/_meta.py`` (no command module imported)
* ``stock-manager resv --help``         a command's help (the ``resv`` module loaded)
* ``stock-manager resv place --help``   a leaf command's help
* ``stock-manager tr-id v1_국내주식-017``  TR_ID look-up: the ``tr_id`` module and the catalog
* ``import argparse`` / ``click`` / ``typer`` / ``rich.console``: the parser libraries on their
  own, the figures the choice of typer rests on (see docs/benchmarks.md)
* ``import httpx``, with and without httpx's own command line (``cli/main.py`` keeps it out:
  httpx imports it whenever click is installed, and uvicorn brings click): the difference is
  what that saves every command that talks HTTP
* ``stock-manager resv list``           end to end against the emulator (a child process, rate
  limit off, 20 reservations): config, token from the cache, one page, rich's table
* official sample ``chk_order_resv_ccnl.py``  KIS's own example for the same listing (see
  ``_official_sample.py``: copied at run time from ``--official PATH`` or a git mirror, never
  kept here), pointed at the emulator, its token handed over in its own cache file; needs the
  ``bench`` extra (``pip install -e '.[bench]'``)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.cells import cell_len

from _emuproc import ACCOUNT, APP_KEY, APP_SECRET, EmulatorProcess, child_env, evening, seed
from _official_sample import prepare as prepare_official
from stock_manager.adapters.broker.kis import KISRestClient
from stock_manager.adapters.broker.kis.rate_limit import RateLimiter

CLI = [sys.executable, "-m", "stock_manager.cli"]
PASS = "python -c pass"
COMMANDS: dict[str, list[str]] = {
    PASS: [sys.executable, "-c", "pass"],
    "stock-manager --help": [*CLI, "--help"],
    "stock-manager resv --help": [*CLI, "resv", "--help"],
    "stock-manager resv place --help": [*CLI, "resv", "place", "--help"],
    "stock-manager tr-id v1_국내주식-017": [*CLI, "tr-id", "v1_국내주식-017"],
    # The parser libraries on their own: what choosing each would cost any command (issue #19
    # asks the choice to rest on figures; rich draws typer's help and the tables either way).
    "python -c 'import argparse'": [sys.executable, "-c", "import argparse"],
    "python -c 'import click'": [sys.executable, "-c", "import click"],
    "python -c 'import typer'": [sys.executable, "-c", "import typer"],
    "python -c 'import rich.console'": [sys.executable, "-c", "import rich.console"],
    # What cli/main.py's sys.modules["httpx._main"] entry saves every command that talks HTTP.
    "python -c 'import httpx'": [sys.executable, "-c", "import httpx"],
    "python -c 'import httpx' (no httpx CLI)": [
        sys.executable,
        "-c",
        "import sys; sys.modules['httpx._main'] = None; import httpx",
    ],
}
RESV_LIST = "stock-manager resv list"
OFFICIAL_LIST = "official sample chk_order_resv_ccnl.py"


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
        commands = dict(COMMANDS)
        with KISRestClient(emu.config(token_dir), limiter=RateLimiter(1e9, margin=0)) as client:
            seed(client, 20)
            commands[RESV_LIST] = [*CLI, "resv", "list"]
            envs[RESV_LIST] = emu.env(token_dir)
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
    wall_med = {n: statistics.median(times[n]) for n in names}
    cpu_med = {n: statistics.median(cpu[n]) for n in names}
    official = OFFICIAL_LIST in names
    print(
        f"{args.rounds} interleaved rounds, medians ({sys.executable});"
        f" x pass = ratio to {PASS}"
        + (f", x official = ratio to the {OFFICIAL_LIST} listing" if official else "")
    )
    if not official:
        print(f"official sample not measured: {official_note}")

    def padded(text: str, width: int) -> str:  # Hangul takes two terminal cells
        return text + " " * max(0, width - cell_len(text))

    header = f"  {'command':<40} {'wall':>9} {'x pass':>7}"
    header += f" {'x official':>10}" if official else ""
    header += f"   {'CPU':>9} {'x pass':>7}" + (f" {'x official':>10}" if official else "")
    print(header)
    for name in names:
        line = (
            f"  {name:<40} {wall_med[name] * 1000:6.1f} ms {wall_med[name] / wall_med[PASS]:6.1f}x"
        )
        if official:
            line += f" {wall_med[name] / wall_med[OFFICIAL_LIST]:9.2f}x"
        line += f"   {cpu_med[name] * 1000:6.1f} ms {cpu_med[name] / cpu_med[PASS]:6.1f}x"
        if official:
            line += f" {cpu_med[name] / cpu_med[OFFICIAL_LIST]:9.2f}x"
        print(line)
    if official:
        print(f"[official sample from {official_note}]")


if __name__ == "__main__":
    main()
