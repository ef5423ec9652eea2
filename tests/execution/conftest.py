"""Fixtures of the execution tests (helpers shared with tests/landers)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))
sys.path.append(str(Path(__file__).parent.parent / "landers"))

from galileo.net import HttpxClients


@pytest.fixture
async def clients() -> AsyncIterator[HttpxClients]:
    async with HttpxClients(trust_env=False) as c:
        yield c
