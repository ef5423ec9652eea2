"""Fixtures for the risk tests: a config factory, metrics on a fresh registry, control files
(the helpers behind them are in tests/risk/risk_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from galileo.risk import RiskControl
from tests.risk.risk_helpers import Metrics, RiskConfigFactory, make_risk_config


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def control(tmp_path: Path) -> RiskControl:
    return RiskControl.for_state_dir(tmp_path / "state")


@pytest.fixture
def risk_config() -> RiskConfigFactory:
    """``risk_config(**overrides)`` → RiskConfig with small, test-friendly numbers."""
    return make_risk_config
