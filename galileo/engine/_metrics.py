"""Prometheus metrics of the quote engine, on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class EngineMetrics:
    """``galileo_opportunities_total{result}``: every batch's outcome (profitable or why not);
    ``galileo_pair_batches_total{pair,result}``: the same per venue pair (``buy>sell``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "galileo_opportunities_total",
            "Quoted buy+sell batches by outcome (profitable, or the skip reason).",
            ["result"],
            registry=registry,
        )
        self.pair_outcomes = Counter(
            "galileo_pair_batches_total",
            "Quoted buy+sell batches by venue pair (buy>sell) and outcome.",
            ["pair", "result"],
            registry=registry,
        )
