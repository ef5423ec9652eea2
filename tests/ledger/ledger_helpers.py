"""Helpers of the ledger tests: a controllable wall clock and ``plan`` with defaults (the
fixtures built on them are in tests/ledger/conftest.py)."""

from __future__ import annotations

from galileo.ledger import Ledger
from galileo.model import LanderOutcome, LanderResult

# 2026-01-01T00:00:00Z, in seconds.
T0 = 1_767_225_600.0


class WallClock:
    """A wall clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def plan(
    ledger: Ledger,
    opportunity_id: str,
    *,
    size: int = 1_000_000_000,
    profit: int = 50_000,
    dry_run: bool = False,
    intermediate: str = "USDC",
) -> bool:
    """Plan an attempt with defaults for the facts a test does not care about."""
    return ledger.plan(
        opportunity_id,
        base_mint="So11111111111111111111111111111111111111112",
        intermediate_mint=intermediate,
        size=size,
        expected_profit=profit,
        dry_run=dry_run,
    )


def lander_result(
    lander: str, endpoint: str, outcome: str, reason: str | None = None
) -> LanderResult:
    return LanderResult(
        lander=lander, endpoint=endpoint, outcome=LanderOutcome(outcome), reason=reason
    )
