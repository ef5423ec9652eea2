"""Fixtures for the simulated world's tests: a world on free ports driven by a MockClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio.testing

from galileo.sim import World
from tests.sim.sim_helpers import Api
from tests.worlds import quiet_world


@pytest.fixture
async def world(mock_clock: trio.testing.MockClock, tmp_path: Path) -> AsyncIterator[World]:
    async with quiet_world(tmp_path) as w:
        yield w


@pytest.fixture
async def api(world: World) -> AsyncIterator[Api]:
    async with Api.connect(world) as client:
        yield client
