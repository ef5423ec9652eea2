"""``galileo report``: PnL, landing and latency figures from the ledger (and a run summary)."""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from galileo.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    Subparsers,
    add_config_argument,
    load_or_report,
)

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration_s(text: str) -> float:
    """``90s``, ``15m``, ``1h``, ``2d``, ``1.5h`` → seconds (ValueError otherwise)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 1h or 2d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_since_ms(text: str) -> int:
    """ISO 8601 (``2026-11-22T10:00``, ``…Z``, ``…+02:00``; no zone = UTC) → epoch ms."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date/time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def register(subparsers: Subparsers) -> None:
    report = subparsers.add_parser(
        "report",
        help="PnL, success rates, tip/fee spend and stage latency from the ledger",
        description="Summarise the ledger (<state_dir>/ledger.sqlite3): realised and expected "
        "PnL, tip and fee spend, attempts by status, success rate per lander and endpoint, "
        "and stage latency percentiles from a run summary (--summary, else "
        "metrics.summary_json when that file exists). See docs/ledger.md.",
    )
    add_config_argument(report)
    report.add_argument("--json", action="store_true", help="machine-readable output")
    report.add_argument("--ledger", metavar="PATH", help="ledger file (default: from config)")
    period = report.add_mutually_exclusive_group()
    period.add_argument("--since", metavar="ISO", help="only attempts created at/after this")
    period.add_argument("--last", metavar="DURATION", help="only the last 90s / 15m / 1h / 2d")
    period.add_argument(
        "--run", metavar="RUN_ID", help="only the attempts of this run (run_id in its summary)"
    )
    report.add_argument(
        "--summary", metavar="PATH", help="run summary JSON (galileo run --summary-json)"
    )
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from galileo.ledger import (
        LedgerError,
        build_report,
        default_ledger_path,
        format_report,
        open_readonly,
    )

    since_ms: int | None = None
    try:
        if args.since:
            since_ms = parse_since_ms(args.since)
        elif args.last:
            since_ms = int((time.time() - parse_duration_s(args.last)) * 1000)
    except ValueError as exc:
        print(f"galileo report: {exc}", file=sys.stderr)
        return EXIT_USAGE

    ledger_path: Path
    summary_path: Path | None = Path(args.summary) if args.summary else None
    if args.ledger and args.summary:
        ledger_path = Path(args.ledger)  # no configuration needed
    else:
        config = load_or_report(args.config)
        if config is None:
            return EXIT_USAGE
        ledger_path = Path(args.ledger) if args.ledger else default_ledger_path(config.state_dir)
        if summary_path is None and config.metrics.summary_json:
            candidate = Path(config.metrics.summary_json)
            summary_path = candidate if candidate.is_file() else None

    summary = None
    if summary_path is not None:
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"galileo report: cannot read summary {summary_path}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    try:
        conn = open_readonly(ledger_path)
    except (OSError, sqlite3.Error, LedgerError) as exc:
        print(f"galileo report: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        report = build_report(conn, since_ms=since_ms, summary=summary, run_id=args.run)
    except (ValueError, sqlite3.Error) as exc:
        print(f"galileo report: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        conn.close()
    if args.json:
        print(json.dumps({"ledger": str(ledger_path), **report.to_json()}, indent=2))
    else:
        print(f"ledger: {ledger_path}")
        print(format_report(report))
    return EXIT_OK
