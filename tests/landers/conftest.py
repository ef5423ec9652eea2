"""Fixtures of the landers tests: the simulated world, source-IP clients and the landers."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))

from galileo.net import HttpxClients

IPS = ["127.0.0.2", "127.0.0.3"]


@pytest.fixture
async def clients() -> AsyncIterator[HttpxClients]:
    async with HttpxClients(trust_env=False) as c:
        yield c
