"""Fixtures of the engine tests: the fake Jupiter API (tests/engine/fake_api.py) served by
galileo's own HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from galileo._httpserver import HttpServer
from tests.engine.fake_api import FakeJupiter, JupiterFixture


@pytest.fixture
async def jupiter(nursery: trio.Nursery) -> AsyncIterator[JupiterFixture]:
    fake = FakeJupiter()
    server = HttpServer(fake, host="127.0.0.1", port=0, name="fake-jupiter")
    await nursery.start(server.run)
    yield fake, server.url
