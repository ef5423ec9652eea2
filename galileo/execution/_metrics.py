"""Prometheus metrics of the executor (profit and spend), on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ExecutionMetrics:
    """``galileo_pnl_lamports``, ``galileo_tip_lamports_total``, ``galileo_fee_lamports_total``
    and ``galileo_execution_attempts_total{result}``."""

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
