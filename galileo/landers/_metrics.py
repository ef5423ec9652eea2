"""Prometheus metrics of the landers and the landing tracker, on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from galileo.model import LandingStatus

LANDING_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


class LanderMetrics:
    """``galileo_lander_*`` and ``galileo_landing_*`` / ``galileo_landed_total``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.submissions = Counter(
            "galileo_lander_submissions_total",
            "Sends to a lander endpoint, by lander, endpoint (redacted), source IP and result "
            "(accepted, rate_limited, rejected, timeout).",
            ["lander", "endpoint", "ip", "result"],
            registry=registry,
        )
        self.queue_dropped = Counter(
            "galileo_lander_queue_dropped_total",
            "Sends dropped because they waited longer than the queue timeout for a token.",
            ["lander", "endpoint"],
            registry=registry,
        )
        self.landing_seconds = Histogram(
            "galileo_landing_seconds",
            "Submission to landing outcome, by outcome.",
            ["status"],
            buckets=LANDING_BUCKETS,
            registry=registry,
        )
        self.landed = Counter(
            "galileo_landed_total",
            "Submissions that landed, by the lander that landed them.",
            ["lander"],
            registry=registry,
        )
        self.outcomes = Counter(
            "galileo_landing_outcomes_total",
            "Tracked submissions by outcome.",
            ["status"],
            registry=registry,
        )
        for status in LandingStatus:
            self.outcomes.labels(status.value)
