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

from galileo._config import RiskConfig
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
    risk: RiskConfig | None = None
    if args.ledger and args.summary:
        ledger_path = Path(args.ledger)  # no configuration needed
    else:
        config = load_or_report(args.config)
        if config is None:
            return EXIT_USAGE
        ledger_path = Path(args.ledger) if args.ledger else default_ledger_path(config.state_dir)
        risk = config.risk
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
        today = build_report(conn, since_ms=_utc_midnight_ms(time.time()))
    except (ValueError, sqlite3.Error) as exc:
        print(f"galileo report: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        conn.close()
    capital = _capital(risk, today.realised_pnl_lamports)
    if args.json:
        doc = {"ledger": str(ledger_path), **report.to_json(), "capital": capital}
        print(json.dumps(doc, indent=2))
    else:
        print(f"ledger: {ledger_path}")
        print(format_report(report))
        print(_format_capital(capital))
    return EXIT_OK


def _utc_midnight_ms(epoch_s: float) -> int:
    return int(epoch_s // 86_400 * 86_400 * 1000)


def _capital(risk: RiskConfig | None, day_pnl: int) -> dict[str, int | None]:
    """The capital guards as configured, with the UTC day's realised PnL from the ledger."""
    return {
        "day_pnl_lamports": day_pnl,
        "daily_loss_limit_lamports": risk.daily_loss_limit_lamports if risk else None,
        "max_inflight_lamports": risk.max_inflight_lamports if risk else None,
        "min_sol_balance_lamports": risk.min_sol_balance_lamports if risk else None,
    }


def _format_capital(capital: dict[str, int | None]) -> str:
    def cap(value: int | None) -> str:
        return "not configured" if value is None else ("off" if value == 0 else f"{value:,}")

    return (
        f"capital guards: today (UTC) realised {capital['day_pnl_lamports']:,} lamports, "
        f"daily loss limit {cap(capital['daily_loss_limit_lamports'])}; "
        f"in flight at most {cap(capital['max_inflight_lamports'])} lamports; "
        f"SOL floor {cap(capital['min_sol_balance_lamports'])}"
    )
