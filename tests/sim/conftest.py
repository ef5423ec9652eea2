"""Fixtures for the simulated world's tests: a world on free ports driven by a MockClock."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio.testing

sys.path.insert(0, str(Path(__file__).parent))

from sim_helpers import Api

from galileo.sim import World


def quiet_world(tmp_path: Path, **overrides: object) -> World:
    """A world with no spontaneous price moves (tests move prices on purpose)."""
    settings: dict[str, object] = {
        "seed": 7,
        "rpc_port": 0,
        "jito_port": 0,
        "jupiter_port": 0,
        "wallet_path": tmp_path / "wallet.json",
        "jito_rps_per_ip": 0.0,
        "drift_bps_per_s": 0,
        "dislocation_rate_per_s": 0.0,
    }
    settings.update(overrides)
    return World(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def world(mock_clock: trio.testing.MockClock, tmp_path: Path) -> AsyncIterator[World]:
    async with quiet_world(tmp_path) as w:
        yield w


@pytest.fixture
async def api(world: World) -> AsyncIterator[Api]:
    async with Api.connect(world) as client:
        yield client
