"""Prometheus metrics of the transaction area, on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class TxMetrics:
    """``galileo_tx_build_seconds{result}``, ``galileo_tx_skips_total{reason}``,
    ``galileo_tx_size_bytes``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.build_seconds = Histogram(
            "galileo_tx_build_seconds",
            "Opportunity in → signed transaction out (incl. /swap-instructions), by result.",
            ["result"],
            registry=registry,
            buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2),
        )
        self.skips = Counter(
            "galileo_tx_skips_total",
            "Opportunities not turned into a transaction, by reason.",
            ["reason"],
            registry=registry,
        )
        self.size_bytes = Histogram(
            "galileo_tx_size_bytes",
            "Wire size of signed transactions (the limit is 1232).",
            registry=registry,
            buckets=(400, 600, 800, 900, 1000, 1100, 1150, 1200, 1232),
        )
