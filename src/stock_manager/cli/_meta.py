"""Help texts and the command table, kept free of imports.

:class:`stock_manager.cli.app.LazyGroup` reads the table: which module holds a command
(imported only when that command runs) and its one-line help (listed by the top-level
``--help`` without importing any command module). Each command module takes its help from
here too, so the two cannot drift apart (``tests/cli/test_static.py`` checks that as well).
"""

from __future__ import annotations

PROG = "stock-manager"

APP_HELP = (
    "Reservation orders (주식예약주문) on the Korea Investment & Securities OpenAPI.\n\n"
    "Try it without credentials: stock-manager demo"
)

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 API/runtime error, 2 usage or bad input (nothing was sent), "
    "3 outcome unknown (run: stock-manager resv reconcile), "
    "4 resv report: something was rejected or not processed."
)

#: (option as shown, help) of the global options, in display order.
GLOBAL_OPTIONS: tuple[tuple[str, str], ...] = (
    ("--emulator URL", "Send every request to this emulator/base URL (env: KIS_BASE_URL)."),
    (
        "--profile NAME",
        "Read settings from [NAME] of $XDG_CONFIG_HOME/stock-manager/config.toml"
        " (env: STOCK_MANAGER_PROFILE).",
    ),
    ("--json", "Machine-readable JSON on stdout (nothing else goes to stdout)."),
    ("--debug", "Show tracebacks and debug logs instead of one-line errors."),
    ("--yes, -y", "Do not ask for confirmation before changing orders on a KIS host."),
    ("--version, -V", "Show the version and exit."),
    ("--help, -h", "Show this message and exit."),
)

HELP_EMULATOR = GLOBAL_OPTIONS[0][1]
HELP_PROFILE = GLOBAL_OPTIONS[1][1]
HELP_JSON = GLOBAL_OPTIONS[2][1]
HELP_DEBUG = GLOBAL_OPTIONS[3][1]
HELP_YES = GLOBAL_OPTIONS[4][1]
HELP_VERSION = GLOBAL_OPTIONS[5][1]

#: (command, one-line help) of the top-level commands, in display order.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("demo", "Walk the whole reservation lifecycle against a local emulator (no credentials)."),
    (
        "resv",
        "Place, list, show, modify and cancel reservation orders; reconcile;"
        " report, plan and apply standing reservations.",
    ),
    ("watch", "Watch the day's orders and fills live (WebSocket notices; REST is the truth)."),
    ("calendar", "KRX open/closed days, reservation windows and their source (KIS/cache/bundled)."),
    ("journal", "Show the order journal (every order-changing request and its outcome)."),
    ("token", "Show or revoke the cached access token."),
    ("tr-id", "Look up the TR_ID of an API ID in the static catalog (needs no config)."),
    ("api", "List, show and call any of the 276 KIS REST APIs (catalog + generic client)."),
    ("config", "Check the settings and show them masked."),
    ("emulator", "Run the local KIS emulator."),
    (
        "mcp",
        "Serve AI agents over MCP: read tools; orders only as preview -> confirm -> execute.",
    ),
)

COMMAND_HELP = dict(COMMANDS)

#: command -> its module under ``stock_manager.cli`` (which defines ``app``, a typer app).
MODULES: dict[str, str] = {
    "demo": "demo",
    "resv": "resv",
    "watch": "watch",
    "calendar": "calendar",
    "journal": "journal",
    "token": "token",
    "tr-id": "tr_id",
    "api": "api",
    "config": "config",
    "emulator": "emulator",
    "mcp": "mcp_server",
}


def version_line() -> str:
    """``stock-manager X.Y.Z`` (the installed distribution's version, else the package's)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("stock-manager")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from stock_manager import __version__ as number
    return f"{PROG} {number}"
