"""Fixtures for the observability tests: a hand-driven nanosecond clock."""

from __future__ import annotations

import pytest

from tests.obs.fake_clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
