"""Prometheus metrics of the risk area, on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from galileo.risk._types import PauseCause, SkipReason


class RiskMetrics:
    """``galileo_risk_*``: skips by reason, paused flag, in-flight submissions, pauses."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.skips = Counter(
            "galileo_risk_skips_total",
            "Opportunities the risk gate did not let through, by reason.",
            ["reason"],
            registry=registry,
        )
        self.paused = Gauge(
            "galileo_risk_paused",
            "1 while sending is paused (operator, stop, loss limit or failure streak), else 0.",
            registry=registry,
        )
        self.inflight = Gauge(
            "galileo_risk_inflight",
            "Submissions awaiting their outcome (bounded by risk.max_inflight).",
            registry=registry,
        )
        self.inflight_lamports = Gauge(
            "galileo_risk_inflight_lamports",
            "Trade sizes of the submissions awaiting their outcome, summed (bounded by "
            "risk.max_inflight_lamports).",
            registry=registry,
        )
        self.day_pnl = Gauge(
            "galileo_risk_day_pnl_lamports",
            "Realised PnL of the current UTC day (the daily loss cap's measure).",
            registry=registry,
        )
        self.sol_balance = Gauge(
            "galileo_wallet_sol_lamports",
            "The wallet's SOL balance at the last read (risk.min_sol_balance_lamports).",
            registry=registry,
        )
        self.pauses = Counter(
            "galileo_risk_pauses_total",
            "Times a pause engaged, by cause.",
            ["cause"],
            registry=registry,
        )
        # Every label value exists from the start, so rates work before the first event.
        for reason in SkipReason:
            self.skips.labels(reason=reason.value)
        for cause in PauseCause:
            self.pauses.labels(cause=cause.value)
