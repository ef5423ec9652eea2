"""Prometheus metrics of the net area (source IPs), on a registry passed in."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric


def ip_label(ip: str) -> str:
    """Metric/log label of a source IP; ``""`` (let the OS choose) reads ``default``."""
    return ip or "default"


LATENCY_BUCKETS_MS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
"""Buckets of ``galileo_ip_latency_ms`` (milliseconds)."""


class NetMetrics:
    """``galileo_ip_*``: per-IP requests and their latency by task, in-flight leases and
    utilization, cooldowns and learned rates."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
        self.requests = Counter(
            "galileo_ip_requests_total",
            "Requests made through a source-IP lease, by task and result.",
            ["task", "ip", "result"],
            registry=registry,
        )
        self.latency_ms = Histogram(
            "galileo_ip_latency_ms",
            "Time from a leased request leaving to its answer (or failure), milliseconds.",
            ["task", "ip"],
            buckets=LATENCY_BUCKETS_MS,
            registry=registry,
        )
        self.utilization = Gauge(
            "galileo_ip_utilization_ratio",
            "Short leases held on a source IP over its in-flight cap (0..1).",
            ["ip"],
            registry=registry,
        )
        self.inflight = Gauge(
            "galileo_ip_inflight",
            "Leases currently held on a source IP.",
            ["ip"],
            registry=registry,
        )
        self.cooldowns = Counter(
            "galileo_ip_cooldown_total",
            "Cooldowns a source IP entered, by reason.",
            ["ip", "reason"],
            registry=registry,
        )
        self.cooldown_seconds = Counter(
            "galileo_ip_cooldown_seconds",
            "Seconds a source IP spent cooling down, by reason (the reason that extended it).",
            ["ip", "reason"],
            registry=registry,
        )
        self.learned_rps = Gauge(
            "galileo_ip_learned_rps",
            "Requests per second a source IP has learned it may send to an upstream.",
            ["ip", "upstream"],
            registry=registry,
        )

    def count(self, task: str, ip: str, result: str, latency_ms: float | None) -> None:
        """One request made under a lease (children cached: this runs per request)."""
        key = (task, ip, result)
        children = self._children.get(key)
        if children is None:
            label = ip_label(ip)
            children = (
                self.requests.labels(task, label, result),
                self.latency_ms.labels(task, label),
            )
            self._children[key] = children
        children[0].inc()
        if latency_ms is not None:
            children[1].observe(latency_ms)


class FaultCounts(Protocol):
    resets_retried: int
    resets: int
    stalls: int


class TransportFaultCollector:
    """``galileo_transport_resets_total{ip,retried}`` and ``galileo_transport_stalls_total{ip}``
    of the quote transport, read when scraped (nothing is counted twice on the hot path)."""

    def __init__(self, faults: Callable[[], Mapping[str, FaultCounts]]) -> None:
        self._faults = faults

    def collect(self) -> Iterator[Metric]:
        resets = CounterMetricFamily(
            "galileo_transport_resets",
            "Quote connections reset or closed: retried (a stale keep-alive, sent again on a "
            "new connection) or not (the request failed).",
            labels=["ip", "retried"],
        )
        stalls = CounterMetricFamily(
            "galileo_transport_stalls",
            "Quote requests still waiting for their answer when their deadline (or a stop) "
            "cancelled them.",
            labels=["ip"],
        )
        for ip, counts in self._faults().items():
            label = ip_label(ip)
            resets.add_metric([label, "true"], counts.resets_retried)
            resets.add_metric([label, "false"], counts.resets)
            stalls.add_metric([label], counts.stalls)
        yield resets
        yield stalls

    def describe(self) -> list[Metric]:
        return []
