"""Prometheus metrics of the net area (source IPs), on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


def ip_label(ip: str) -> str:
    """Metric/log label of a source IP; ``""`` (let the OS choose) reads ``default``."""
    return ip or "default"


class NetMetrics:
    """``galileo_ip_*``: per-IP requests, in-flight leases, cooldowns and learned rates."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "galileo_ip_requests_total",
            "Requests made through a source-IP lease, by task and result.",
            ["task", "ip", "result"],
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
