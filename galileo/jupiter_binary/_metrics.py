"""Prometheus metrics of the Jupiter process lifecycle."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from galileo.jupiter_binary._state import JupiterState, RestartReason

_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class JupiterMetrics:
    """The ``galileo_jupiter_*`` family, registered in the registry passed in."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.state = Gauge(
            "galileo_jupiter_state",
            "Supervisor state of the Jupiter process (1 for the current state, 0 otherwise).",
            ["state"],
            registry=registry,
        )
        self.restarts = Counter(
            "galileo_jupiter_restarts_total",
            "Restarts of the Jupiter process, by reason.",
            ["reason"],
            registry=registry,
        )
        self.health_check_seconds = Histogram(
            "galileo_jupiter_health_check_seconds",
            "Duration of one health check (GET /program-id-to-label), by result.",
            ["result"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.download_seconds = Histogram(
            "galileo_jupiter_download_seconds",
            "Duration of one release-asset download.",
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.ready_seconds = Histogram(
            "galileo_jupiter_ready_seconds",
            "Time from spawning the process to Ready.",
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        for state in JupiterState:
            self.state.labels(state=state.value).set(0)
        self.state.labels(state=JupiterState.STOPPED.value).set(1)
        for reason in RestartReason:
            self.restarts.labels(reason=reason.value)

    def set_state(self, current: JupiterState) -> None:
        for state in JupiterState:
            self.state.labels(state=state.value).set(1 if state is current else 0)
