"""What a run reports: the live ``/status`` document and the summary printed (and written to
``--summary-json``) when it ends — typed values with their JSON form and the human text.

The JSON keys are the interface operators and tools read (``submitted``, ``landed``,
``pnl_lamports``, ``wallet_delta_lamports``, …); they do not change when fields are added.
"""

from __future__ import annotations

from typing import Any

import attrs

from galileo._liveview import format_ms
from galileo.engine import EngineStats, IpStats
from galileo.execution import ExecutorStats
from galileo.ledger import LedgerReport


@attrs.frozen(kw_only=True)
class SimStatus:
    """The simulated world, when it runs in this process."""

    enabled: bool
    seed: int
    rpc_url: str | None = None
    jito_url: str | None = None
    wallet: str | None = None
    slot: int | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"enabled": self.enabled, "seed": self.seed}
        if self.rpc_url is not None:
            doc.update(rpc_url=self.rpc_url, jito_url=self.jito_url, wallet=self.wallet)
            doc["slot"] = self.slot
        return doc


@attrs.frozen(kw_only=True)
class RunStatus:
    """The ``/status`` document (the endpoint masks secrets once more)."""

    state: str
    version: str
    fast_backend: str
    uptime_s: float
    dry_run: bool
    risk: dict[str, object]
    metrics_url: str
    jupiter_url: str
    jupiter: dict[str, Any] | None
    engine: EngineStats | None
    execution: ExecutorStats | None
    tip_floor_lamports: int | None
    stages: dict[str, Any]
    sim: SimStatus

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "version": self.version,
            "fast_backend": self.fast_backend,
            "uptime_s": self.uptime_s,
            "dry_run": self.dry_run,
            "risk": self.risk,
            "metrics_url": self.metrics_url,
            "jupiter_url": self.jupiter_url,
            "jupiter": self.jupiter,
            "engine": self.engine.as_dict() if self.engine else None,
            "execution": self.execution.as_dict() if self.execution else None,
            "tip_floor_lamports": self.tip_floor_lamports,
            "stages": self.stages,
            "sim": self.sim.to_json(),
        }


@attrs.frozen(kw_only=True)
class RunSummary:
    """What a run did. ``pnl_lamports`` is the ledger's view (realised changes of the
    attempts this run created), ``wallet_delta_lamports`` the chain's (wallet after − before;
    ``None`` — "unknown" — when a reading is missing: a balance that could not be read is
    never taken for zero)."""

    run_id: str
    version: str
    fast_backend: str
    started_at: float
    duration_s: float
    stop_reason: str
    engine: EngineStats | None
    execution: ExecutorStats | None
    ledger: LedgerReport | None
    stages: dict[str, Any]
    wallet_start: int | None
    wallet_end: int | None

    @property
    def wallet_delta_lamports(self) -> int | None:
        if self.wallet_start is None or self.wallet_end is None:
            return None
        return self.wallet_end - self.wallet_start

    @property
    def pnl_lamports(self) -> int:
        """Realised PnL of the ledger: landed trades plus what failed ones cost on chain."""
        if self.ledger is None:
            return 0
        return self.ledger.realised_pnl_lamports + self.ledger.realised_other_lamports

    def per_ip(self) -> dict[str, dict[str, float | int]]:
        """Each source IP's quote-path requests by result, and the rate its pacer learned
        (requests per second; the highest over its upstreams, 0 before the first answer)."""
        if self.engine is None:
            return {}
        return {
            ip.ip: {
                "requests": ip.requests,
                "ok": ip.requests - ip.rate_limited - _errors(ip),
                "rate_limited": ip.rate_limited,
                "errors": _errors(ip),
                "learned_rps": round(max(ip.learned_rps.values(), default=0.0), 1),
            }
            for ip in self.engine.ips
        }

    def to_json(self) -> dict[str, Any]:
        stats = self.execution
        engine = self.engine
        return {
            "run_id": self.run_id,
            "version": self.version,
            "fast_backend": self.fast_backend,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "stop_reason": self.stop_reason,
            "quotes_total": engine.quotes if engine else 0,
            "quotes_per_second": round(engine.quotes_per_second, 1) if engine else 0.0,
            "opportunities_total": engine.opportunities if engine else 0,
            "per_ip": self.per_ip(),
            "submitted": stats.submitted if stats else 0,
            "landed": stats.landed if stats else 0,
            "failed": (stats.failed + stats.expired) if stats else 0,
            "dry_run": stats.dry_run if stats else 0,
            "duplicates_suppressed": stats.duplicates_suppressed if stats else 0,
            "reconciled": dict(stats.reconciled) if stats else {},
            "pnl_lamports": self.pnl_lamports,
            "wallet_delta_lamports": self.wallet_delta_lamports,
            "engine": self.engine.as_dict() if self.engine else None,
            "execution": stats.as_dict() if stats else None,
            "ledger": self.ledger.to_json() if self.ledger else None,
            "stages": self.stages,
        }


def _errors(ip: IpStats) -> int:
    return ip.timeouts + ip.connect_errors + ip.server_errors


def format_summary(summary: dict[str, Any]) -> str:
    """The human summary printed when a run ends (from :meth:`RunSummary.to_json`)."""
    lines = [
        f"galileo {summary['version']} ({summary['fast_backend']} core) ran "
        f"{summary['duration_s']:.1f} s — stopped: {summary['stop_reason'] or 'done'}",
    ]
    engine = summary.get("engine") or {}
    if engine:
        lines.append(
            f"quotes {engine.get('quotes', 0)} ({engine.get('quotes_per_second', 0.0):.0f}/s), "
            f"opportunities {engine.get('opportunities', 0)}"
        )
    if "submitted" in summary:
        delta = summary.get("wallet_delta_lamports")
        lines.append(
            f"submitted {summary['submitted']}, landed {summary['landed']}, "
            f"failed {summary['failed']}, dry-run {summary.get('dry_run', 0)}"
        )
        lines.append(
            f"pnl {summary['pnl_lamports']} lamports (ledger), wallet delta "
            + (
                "unknown (a wallet balance could not be read)"
                if delta is None
                else f"{delta} lamports (chain)"
                + ("" if delta == summary["pnl_lamports"] else "  ← MISMATCH")
            )
        )
        suppressed = summary.get("duplicates_suppressed") or 0
        if suppressed:
            lines.append(f"suppressed {suppressed} re-found dislocations already in flight")
        reconciled = summary.get("reconciled") or {}
        if reconciled:
            lines.append(
                "reconciled at startup (left in flight by an earlier process): "
                + ", ".join(f"{status} {count}" for status, count in sorted(reconciled.items()))
            )
    per_ip = summary.get("per_ip") or {}
    if per_ip:
        lines.append(
            f"{'source ip':<16}{'requests':>10}{'ok':>10}{'429':>8}{'errors':>8}{'rps':>8}"
        )
        for ip, row in per_ip.items():
            lines.append(
                f"{ip:<16}{row['requests']:>10}{row['ok']:>10}{row['rate_limited']:>8}"
                f"{row['errors']:>8}{row['learned_rps']:>8.1f}"
            )
    stages = summary.get("stages", {})
    if stages:
        lines.append(f"{'stage':<14}{'count':>9}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for name, stage in stages.items():
            total = stage["total"]
            if not total.get("count"):
                continue
            lines.append(
                f"{name:<14}{total['count']:>9}"
                f"{format_ms(total.get('p50')):>10}{format_ms(total.get('p99')):>10}"
                f"{format_ms(total.get('max')):>10}"
            )
    return "\n".join(lines)
