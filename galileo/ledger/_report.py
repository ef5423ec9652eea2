"""PnL and landing statistics computed from the ledger (what ``galileo report`` prints).

Definitions (docs/ledger.md explains them for operators):

* realised PnL — sum of the realised balance changes of ``landed`` attempts whose change is
  known; ``realised_pending`` counts landed attempts still waiting for their balance read.
* expected PnL — sum of the expected profit of ``landed`` attempts (comparable to realised),
  and of every attempt that was submitted (what the sends were worth on paper).
* tip spend — tips of ``landed`` attempts (a tip is an instruction of the transaction: it is
  only paid when the transaction succeeds).
* fee spend — base + priority fees of every attempt included on chain (``landed_slot`` set),
  landed or failed there: a failed transaction still pays its fees.
* success rate — landed / (landed + failed + expired + dropped); dry runs and attempts still
  in flight are not counted.
* per lander and endpoint — how the submissions were answered, and how many of the accepted
  ones belong to an attempt that landed (with several landers accepting, each gets the credit).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from galileo.ledger._ledger import time_filter
from galileo.ledger._models import LedgerError
from galileo.model import AttemptStatus, LanderOutcome

_FINISHED = (
    AttemptStatus.LANDED,
    AttemptStatus.FAILED,
    AttemptStatus.EXPIRED,
    AttemptStatus.DROPPED,
)
_SUBMITTED_OR_LATER = (AttemptStatus.SUBMITTED, *_FINISHED)


class SummaryFormatError(LedgerError, ValueError):
    """A run summary JSON does not have the expected layout."""


@attrs.frozen(kw_only=True)
class LanderStats:
    """Answers of one lander (``endpoint == "*"``: all its endpoints) over the period."""

    lander: str
    endpoint: str
    submissions: int
    accepted: int
    rate_limited: int
    rejected: int
    timeout: int
    landed: int

    @property
    def accepted_rate(self) -> float | None:
        return self.accepted / self.submissions if self.submissions else None

    @property
    def landed_rate(self) -> float | None:
        return self.landed / self.submissions if self.submissions else None

    def to_json(self) -> dict[str, Any]:
        return {
            **attrs.asdict(self),
            "accepted_rate": self.accepted_rate,
            "landed_rate": self.landed_rate,
        }


@attrs.frozen(kw_only=True)
class PairStats:
    """Attempts of one venue pair (``buy>sell``): how many, landed, realised PnL."""

    pair: str
    attempts: int
    landed: int
    realised_pnl_lamports: int

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class StageLatency:
    """One stage's latency from a run summary (seconds; ``None`` when it never ran)."""

    stage: str
    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


@attrs.frozen(kw_only=True)
class LedgerReport:
    since_ms: int | None
    until_ms: int | None
    attempts: int
    by_status: dict[str, int]
    dry_run_attempts: int
    realised_pnl_lamports: int
    realised_known: int
    realised_pending: int
    realised_other_lamports: int
    expected_pnl_landed_lamports: int
    expected_pnl_submitted_lamports: int
    tip_spend_lamports: int
    fee_spend_lamports: int
    finished: int
    landed: int
    landers: tuple[LanderStats, ...]
    endpoints: tuple[LanderStats, ...]
    stages: tuple[StageLatency, ...] | None = None
    run_id: str | None = None
    pairs: tuple[PairStats, ...] = ()
    """Per venue pair (multi-leg), when the ledger has attempts."""
    """Only the attempts this run created (``galileo report --run``), when set."""

    @property
    def success_rate(self) -> float | None:
        return self.landed / self.finished if self.finished else None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready; amounts stay ints, times are ISO 8601 UTC."""
        return {
            "run": self.run_id,
            "since": _iso(self.since_ms),
            "until": _iso(self.until_ms),
            "attempts": self.attempts,
            "by_status": dict(self.by_status),
            "dry_run_attempts": self.dry_run_attempts,
            "pnl": {
                "realised_lamports": self.realised_pnl_lamports,
                "realised_known": self.realised_known,
                "realised_pending": self.realised_pending,
                "realised_other_lamports": self.realised_other_lamports,
                "expected_landed_lamports": self.expected_pnl_landed_lamports,
                "expected_submitted_lamports": self.expected_pnl_submitted_lamports,
                "tip_spend_lamports": self.tip_spend_lamports,
                "fee_spend_lamports": self.fee_spend_lamports,
            },
            "success_rate": self.success_rate,
            "landed": self.landed,
            "finished": self.finished,
            "landers": [s.to_json() for s in self.landers],
            "endpoints": [s.to_json() for s in self.endpoints],
            "pairs": [s.to_json() for s in self.pairs],
            "stages": None
            if self.stages is None
            else {
                s.stage: attrs.asdict(s, filter=lambda a, _: a.name != "stage") for s in self.stages
            },
        }


def build_report(
    conn: sqlite3.Connection,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    summary: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> LedgerReport:
    """Aggregate the attempts created in ``[since_ms, until_ms)`` (SQL sums, exact ints),
    and with ``run_id`` only those that run created."""
    where, params = time_filter(since_ms, until_ms, run_id=run_id)
    by_status = {s.value: 0 for s in AttemptStatus}
    for status, count in conn.execute(
        f"SELECT status, COUNT(*) FROM attempts {where} GROUP BY status", params
    ):
        by_status[status] = count
    landed = AttemptStatus.LANDED.value
    submitted = ", ".join(f"'{s.value}'" for s in _SUBMITTED_OR_LATER)
    row = conn.execute(
        f"""
        SELECT
            COUNT(*),
            COALESCE(SUM(dry_run), 0),
            COALESCE(SUM(CASE WHEN status = '{landed}' THEN realised_lamports END), 0),
            COUNT(CASE WHEN status = '{landed}' THEN realised_lamports END),
            COUNT(CASE WHEN status = '{landed}' AND realised_lamports IS NULL THEN 1 END),
            COALESCE(SUM(CASE WHEN status != '{landed}' THEN realised_lamports END), 0),
            COALESCE(SUM(CASE WHEN status = '{landed}' THEN expected_profit END), 0),
            COALESCE(SUM(CASE WHEN status IN ({submitted}) AND dry_run = 0
                              THEN expected_profit END), 0),
            COALESCE(SUM(CASE WHEN status = '{landed}' THEN tip END), 0),
            COALESCE(SUM(CASE WHEN landed_slot IS NOT NULL
                              THEN COALESCE(base_fee, 0) + COALESCE(priority_fee, 0) END), 0)
        FROM attempts {where}
        """,
        params,
    ).fetchone()
    finished = sum(by_status[s.value] for s in _FINISHED)
    pairs = tuple(
        PairStats(pair=r[0], attempts=r[1], landed=r[2], realised_pnl_lamports=r[3])
        for r in conn.execute(
            f"""
            SELECT pair, COUNT(*),
                COUNT(CASE WHEN status = '{landed}' THEN 1 END),
                COALESCE(SUM(CASE WHEN status = '{landed}' THEN realised_lamports END), 0)
            FROM attempts {where} GROUP BY pair ORDER BY pair
            """,
            params,
        )
    )
    endpoints = _lander_stats(conn, since_ms, until_ms, run_id, per_endpoint=True)
    landers = _lander_stats(conn, since_ms, until_ms, run_id, per_endpoint=False)
    return LedgerReport(
        since_ms=since_ms,
        until_ms=until_ms,
        attempts=row[0],
        by_status=by_status,
        dry_run_attempts=row[1],
        realised_pnl_lamports=row[2],
        realised_known=row[3],
        realised_pending=row[4],
        realised_other_lamports=row[5],
        expected_pnl_landed_lamports=row[6],
        expected_pnl_submitted_lamports=row[7],
        tip_spend_lamports=row[8],
        fee_spend_lamports=row[9],
        finished=finished,
        landed=by_status[landed],
        landers=landers,
        endpoints=endpoints,
        stages=None if summary is None else stage_latencies(summary),
        run_id=run_id,
        pairs=pairs,
    )


def _lander_stats(
    conn: sqlite3.Connection,
    since_ms: int | None,
    until_ms: int | None,
    run_id: str | None,
    *,
    per_endpoint: bool,
) -> tuple[LanderStats, ...]:
    # The period filters on the attempt's creation time, as everywhere in the report.
    where, params = time_filter(
        since_ms, until_ms, column="a.created_at_ms", run_id=run_id, id_column="a.opportunity_id"
    )
    endpoint = "r.endpoint" if per_endpoint else "'*'"
    outcome = {o: o.value for o in LanderOutcome}
    rows = conn.execute(
        f"""
        SELECT r.lander, {endpoint},
            COUNT(*),
            COUNT(CASE WHEN r.outcome = '{outcome[LanderOutcome.ACCEPTED]}' THEN 1 END),
            COUNT(CASE WHEN r.outcome = '{outcome[LanderOutcome.RATE_LIMITED]}' THEN 1 END),
            COUNT(CASE WHEN r.outcome = '{outcome[LanderOutcome.REJECTED]}' THEN 1 END),
            COUNT(CASE WHEN r.outcome = '{outcome[LanderOutcome.TIMEOUT]}' THEN 1 END),
            COUNT(CASE WHEN r.outcome = '{outcome[LanderOutcome.ACCEPTED]}'
                        AND a.status = '{AttemptStatus.LANDED.value}' THEN 1 END)
        FROM lander_results r JOIN attempts a ON a.opportunity_id = r.opportunity_id
        {where}
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        params,
    ).fetchall()
    return tuple(
        LanderStats(
            lander=r[0],
            endpoint=r[1],
            submissions=r[2],
            accepted=r[3],
            rate_limited=r[4],
            rejected=r[5],
            timeout=r[6],
            landed=r[7],
        )
        for r in rows
    )


def stage_latencies(summary: Mapping[str, Any]) -> tuple[StageLatency, ...]:
    """The ``stages`` section of a run summary: ``{stage: {"total": {count, p50, …}}}``."""
    stages = summary.get("stages")
    if not isinstance(stages, Mapping):
        raise SummaryFormatError("the run summary has no 'stages' object")
    found = []
    for name in sorted(stages):
        total = stages[name].get("total", {}) if isinstance(stages[name], Mapping) else {}
        found.append(
            StageLatency(
                stage=str(name),
                count=int(total.get("count") or 0),
                p50=_seconds(total.get("p50")),
                p95=_seconds(total.get("p95")),
                p99=_seconds(total.get("p99")),
                max=_seconds(total.get("max")),
            )
        )
    return tuple(found)


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


# -- text rendering ------------------------------------------------------------------------

LAMPORTS_PER_SOL = 1_000_000_000


def format_lamports(lamports: int) -> str:
    """``-1234567`` → ``-1,234,567 (-0.001234567 SOL)`` (exact: integer arithmetic)."""
    sign = "-" if lamports < 0 else ""
    whole, frac = divmod(abs(lamports), LAMPORTS_PER_SOL)
    return f"{lamports:,} ({sign}{whole}.{frac:09d} SOL)"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.3f}"


def format_report(report: LedgerReport) -> str:
    """The human-readable report ``galileo report`` prints."""
    period = f"{_iso(report.since_ms) or 'the beginning'} → {_iso(report.until_ms) or 'now'}"
    if report.run_id is not None:
        period = f"run {report.run_id}" + (
            "" if report.since_ms is None and report.until_ms is None else f", {period}"
        )
    lines = [
        f"ledger report: {period}",
        f"attempts: {report.attempts} ({report.dry_run_attempts} dry run)",
        "  " + "  ".join(f"{k}={v}" for k, v in report.by_status.items()),
        "",
        "PnL (lamports)",
        f"  realised (landed):     {format_lamports(report.realised_pnl_lamports)}"
        f"  [{report.realised_known} known, {report.realised_pending} pending]",
        f"  realised (not landed): {format_lamports(report.realised_other_lamports)}",
        f"  expected (landed):     {format_lamports(report.expected_pnl_landed_lamports)}",
        f"  expected (submitted):  {format_lamports(report.expected_pnl_submitted_lamports)}",
        f"  tip spend:             {format_lamports(report.tip_spend_lamports)}",
        f"  fee spend:             {format_lamports(report.fee_spend_lamports)}",
        f"success rate: {_rate(report.success_rate)} "
        f"({report.landed} landed of {report.finished} finished)",
    ]
    for title, stats in (("per lander", report.landers), ("per endpoint", report.endpoints)):
        lines += ["", title]
        if not stats:
            lines.append("  (no submissions)")
            continue
        lines.append(
            f"  {'lander':<10} {'endpoint':<24} {'sent':>6} {'accept':>6} {'429':>5} "
            f"{'reject':>6} {'t/o':>5} {'landed':>6} {'acc %':>7} {'land %':>7}"
        )
        for s in stats:
            lines.append(
                f"  {s.lander:<10} {s.endpoint:<24} {s.submissions:>6} {s.accepted:>6} "
                f"{s.rate_limited:>5} {s.rejected:>6} {s.timeout:>5} {s.landed:>6} "
                f"{_rate(s.accepted_rate):>7} {_rate(s.landed_rate):>7}"
            )
    if report.pairs:
        lines += ["", "per venue pair (buy>sell)"]
        lines.append(f"  {'pair':<20} {'attempts':>8} {'landed':>6} {'realised':>16}")
        for p in report.pairs:
            lines.append(
                f"  {p.pair:<20} {p.attempts:>8} {p.landed:>6} "
                f"{format_lamports(p.realised_pnl_lamports):>16}"
            )
    if report.stages is not None:
        lines += ["", "stage latency (ms)"]
        lines.append(
            f"  {'stage':<16} {'count':>8} {'p50':>10} {'p95':>10} {'p99':>10} {'max':>10}"
        )
        for st in report.stages:
            lines.append(
                f"  {st.stage:<16} {st.count:>8} {_ms(st.p50):>10} {_ms(st.p95):>10} "
                f"{_ms(st.p99):>10} {_ms(st.max):>10}"
            )
    return "\n".join(lines)
