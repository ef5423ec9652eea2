"""Prometheus metrics of the executor (profit and spend), on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ExecutionMetrics:
    """``galileo_pnl_lamports``, ``galileo_tip_lamports_total``, ``galileo_fee_lamports_total``,
    ``galileo_execution_attempts_total{result}``, ``galileo_duplicates_suppressed_total`` and
    ``galileo_reconciled_attempts_total{status}``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.pnl = Gauge(
            "galileo_pnl_lamports",
            "Realised profit since start: the wallet's balance change read from the chain.",
            registry=registry,
        )
        self.tips = Counter(
            "galileo_tip_lamports_total",
            "Jito tips paid (tips of landed transactions).",
            registry=registry,
        )
        self.fees = Counter(
            "galileo_fee_lamports_total",
            "Transaction fees paid (every transaction included on chain, landed or failed).",
            registry=registry,
        )
        self.attempts = Counter(
            "galileo_execution_attempts_total",
            "Opportunities the executor handled, by how they ended.",
            ["result"],
            registry=registry,
        )
        self.duplicates_suppressed = Counter(
            "galileo_duplicates_suppressed_total",
            "Opportunities not attempted because an attempt on the same dislocation (base,"
            " mint, size, route) was still waiting for its outcome.",
            registry=registry,
        )
        self.reconciled = Counter(
            "galileo_reconciled_attempts_total",
            "Attempts an earlier process left in flight, finished at startup from the chain,"
            " by the status they ended with.",
            ["status"],
            registry=registry,
        )
