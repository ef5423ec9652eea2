"""Fixtures of the provider tests: a fake DFlow API (tests/providers/fake_dflow.py) on
127.0.0.1, and a quiet simulated world on a MockClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from galileo._httpserver import HttpServer
from galileo.sim import World
from tests.providers.fake_dflow import DflowFixture, FakeDflow
from tests.worlds import quiet_world


@pytest.fixture
async def dflow(nursery: trio.Nursery) -> AsyncIterator[DflowFixture]:
    fake = FakeDflow()
    server = HttpServer(fake, host="127.0.0.1", port=0, name="fake-dflow")
    await nursery.start(server.run)
    yield fake, server.url


@pytest.fixture
async def world(mock_clock: trio.testing.MockClock, tmp_path: Path) -> AsyncIterator[World]:
    async with quiet_world(tmp_path) as w:
        yield w
