"""``python -m stock_manager.emulator``: run the KIS emulator in the foreground."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from stock_manager.emulator.config import parse_key
from stock_manager.emulator.krx_calendar import parse_days, parse_instant
from stock_manager.emulator.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServeOptionError,
    check_serve_options,
    serve,
)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and call :func:`serve`."""
    p = argparse.ArgumentParser(prog="python -m stock_manager.emulator", description=__doc__)
    p.add_argument("--host", default=DEFAULT_HOST)
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 = pick a free port")
    p.add_argument("--app-key")
    p.add_argument("--app-secret")
    p.add_argument("--account", help="12345678-01")
    p.add_argument("--mode", choices=("real", "paper"), default="real")
    p.add_argument("--state-file", help="SQLite file to persist state across restarts")
    p.add_argument("--rate-limit", type=int, help="requests/second per app key (0 = off)")
    p.add_argument("--no-rate-limit", action="store_true", help="same as --rate-limit 0")
    p.add_argument("--clock", help="start the clock at this instant, e.g. 2026-12-01T16:00+09:00")
    p.add_argument("--no-window", action="store_true", help="accept reservations at any hour")
    p.add_argument("--closed-days", default="", help="extra closed days, comma separated")
    p.add_argument("--late-days", default="", help="extra late-session days, comma separated")
    p.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY:SECRET[:MODE[:ACCOUNTS[:RATE|new]]]",
        help="another app key to accept (repeatable), with its own mode, accounts and budget",
    )
    p.add_argument(
        "--any-symbol",
        action="store_true",
        help="accept orders for any well-formed code, not only listed ones (KIS does not)",
    )
    p.add_argument(
        "--token-lifetime",
        type=int,
        default=86400,
        metavar="SECONDS",
        help="how long issued access tokens live (KIS: 86400; at least 60)",
    )
    p.add_argument("--hts-id", help="HTS ID of the app key (tr_key of execution notices)")
    p.add_argument("--log-level", default="warning")
    args = p.parse_args(argv)
    try:
        start_at = parse_instant(args.clock) if args.clock else None
        closed, late = parse_days(args.closed_days), parse_days(args.late_days)
        keys = tuple(parse_key(k) for k in args.key)
        check_serve_options(
            host=args.host,
            port=args.port,
            app_key=args.app_key,
            app_secret=args.app_secret,
            account=args.account,
            state_file=args.state_file,
            rate_limit=args.rate_limit,
            token_lifetime=args.token_lifetime,
        )
    except ServeOptionError as exc:
        p.error(f"{exc.option}: {exc}")
    except ValueError as exc:
        p.error(str(exc))
    serve(
        host=args.host,
        port=args.port,
        app_key=args.app_key,
        app_secret=args.app_secret,
        account=args.account,
        mode=args.mode,
        state_file=args.state_file,
        rate_limit=0 if args.no_rate_limit else args.rate_limit,
        log_level=args.log_level,
        start_at=start_at,
        closed_days=closed,
        late_days=late,
        enforce_window=not args.no_window,
        keys=keys,
        any_symbol=args.any_symbol,
        token_lifetime_s=args.token_lifetime,
        **({"hts_id": args.hts_id} if args.hts_id else {}),
    )


if __name__ == "__main__":
    main()
