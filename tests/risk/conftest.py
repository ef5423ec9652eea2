"""Fixtures for the risk tests: a config factory, metrics on a fresh registry, control files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from galileo._config import RiskConfig
from galileo.risk import RiskControl, RiskMetrics


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


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def control(tmp_path: Path) -> RiskControl:
    return RiskControl.for_state_dir(tmp_path / "state")


@pytest.fixture
def risk_config() -> Any:
    """``risk_config(**overrides)`` → RiskConfig with small, test-friendly numbers."""

    def make(**overrides: Any) -> RiskConfig:
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

    return make
