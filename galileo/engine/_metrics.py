"""Prometheus metrics of the quote engine, on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class EngineMetrics:
    """``galileo_opportunities_total{result}``: every batch's outcome (profitable or why not)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "galileo_opportunities_total",
            "Quoted buy+sell batches by outcome (profitable, or the skip reason).",
            ["result"],
            registry=registry,
        )
