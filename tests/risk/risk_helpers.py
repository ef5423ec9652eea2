"""Helpers of the risk tests: a config factory and metrics on a fresh registry (served as the
``risk_config`` and ``metrics`` fixtures of tests/risk/conftest.py)."""

from __future__ import annotations

from typing import Any, Protocol

from prometheus_client import CollectorRegistry

from galileo._config import RiskConfig
from galileo.risk import RiskMetrics


class Metrics:
    """RiskMetrics plus readers of their current values."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.risk = RiskMetrics(self.registry)

    def skips(self, reason: str) -> float:
        value = self.registry.get_sample_value("galileo_risk_skips_total", {"reason": reason})
        return value or 0.0

    def paused(self) -> float | None:
        return self.registry.get_sample_value("galileo_risk_paused")

    def inflight(self) -> float | None:
        return self.registry.get_sample_value("galileo_risk_inflight")

    def pauses(self, cause: str) -> float:
        value = self.registry.get_sample_value("galileo_risk_pauses_total", {"cause": cause})
        return value or 0.0


class RiskConfigFactory(Protocol):
    """The ``risk_config`` fixture: ``risk_config(**overrides)`` → RiskConfig."""

    def __call__(self, **overrides: Any) -> RiskConfig: ...


def make_risk_config(**overrides: Any) -> RiskConfig:
    """A RiskConfig with small, test-friendly numbers, ``overrides`` applied."""
    values: dict[str, Any] = {
        "min_profit_lamports": 10_000,
        "max_trade_size_lamports": 1_000_000_000,
        "max_loss_lamports": 100_000,
        "loss_window_s": 600.0,
        "failure_streak_pause": 3,
        "pause_s": 60.0,
        "max_inflight": 2,
    }
    values.update(overrides)
    return RiskConfig(**values)
