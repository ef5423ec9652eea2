"""Fixtures of the transport tests, serving tests/net/servers.py on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from galileo._httpserver import HttpServer
from tests.net.servers import HttpServerFixture, RawServers, Recorder


@pytest.fixture
async def http_server(nursery: trio.Nursery) -> AsyncIterator[HttpServerFixture]:
    recorder = Recorder()
    server = HttpServer(recorder, host="127.0.0.1", port=0, name="test")
    await nursery.start(server.run)
    yield server, recorder


@pytest.fixture
def raw(nursery: trio.Nursery) -> RawServers:
    return RawServers(nursery)
