"""Shared test settings, and the fixtures more than one area uses. Area fixtures live in each
area's own conftest.py; shared helpers are modules (tests/worlds.py, tests/ports.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, settings

from galileo.net import HttpxClients

# CI runs on 2 cores next to other work: keep hypothesis budgets bounded and deadline-free
# (speed is measured in benches/, never asserted here).
settings.register_profile(
    "galileo",
    max_examples=int(os.environ.get("GALILEO_HYPOTHESIS_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("galileo")


@pytest.fixture
async def clients() -> AsyncIterator[HttpxClients]:
    """Source-IP httpx clients, as the landers and the executor use them (tests/landers,
    tests/execution)."""
    async with HttpxClients(trust_env=False) as c:
        yield c
