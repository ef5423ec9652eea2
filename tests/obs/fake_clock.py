"""A hand-driven nanosecond clock for the observability tests (the ``clock`` fixture of
tests/obs/conftest.py)."""

from __future__ import annotations


class FakeClock:
    """``perf_counter_ns`` stand-in that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, ns: int) -> None:
        self.now += ns
