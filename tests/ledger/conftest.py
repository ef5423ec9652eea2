"""Fixtures for the ledger tests: a ledger file in tmp_path, a controllable wall clock and a
hand-made ledger covering every status (helpers in tests/ledger/ledger_helpers.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from galileo.ledger import Ledger
from galileo.model import AttemptStatus
from tests.ledger.ledger_helpers import T0, WallClock, lander_result, plan


@pytest.fixture
def wall_clock() -> WallClock:
    return WallClock()


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ledger.sqlite3"


@pytest.fixture
def ledger(ledger_path: Path, wall_clock: WallClock) -> Iterator[Ledger]:
    with Ledger(ledger_path, clock=wall_clock) as opened:
        yield opened


@pytest.fixture
def t0() -> float:
    return T0


@pytest.fixture
def sample_ledger(ledger_path: Path) -> Path:
    """Eight attempts, ten minutes apart from T0, covering every status (docs in test_report)."""
    clock = WallClock()
    with Ledger(ledger_path, clock=clock) as ledger:

        def attempt(oid: str, profit: int, *, dry_run: bool = False) -> None:
            plan(ledger, oid, profit=profit, dry_run=dry_run)
            clock.advance(600)

        attempt("a1", 100_000)
        ledger.built("a1", tip=10_000, base_fee=5_000, priority_fee=2_000)
        ledger.submitted(
            "a1",
            bundle_id="b1",
            results=[
                lander_result("jito", "ny", "accepted"),
                lander_result("jito", "ams", "rate_limited"),
            ],
        )
        ledger.landed("a1", slot=1)
        ledger.realised("a1", 80_000)

        attempt("a2", 50_000)
        ledger.built("a2", tip=5_000, base_fee=5_000, priority_fee=1_000)
        ledger.submitted(
            "a2",
            signature="s2",
            results=[
                lander_result("jito", "ny", "accepted"),
                lander_result("rpc", "main", "accepted"),
            ],
        )
        ledger.landed("a2", slot=2)  # balance change not read yet

        attempt("a3", 30_000)
        ledger.built("a3", tip=3_000, base_fee=5_000, priority_fee=500)
        ledger.submitted("a3", signature="s3", results=[lander_result("rpc", "main", "accepted")])
        ledger.finished(
            "a3", AttemptStatus.FAILED, reason="slippage", landed_slot=3, realised_lamports=-5_500
        )

        attempt("a4", 20_000)
        ledger.built("a4", tip=2_000, base_fee=5_000, priority_fee=0)
        ledger.submitted("a4", results=[lander_result("jito", "ny", "timeout")])
        ledger.finished("a4", AttemptStatus.EXPIRED, reason="not seen in 60 s")

        attempt("a5", 40_000)
        ledger.submitted(
            "a5", results=[lander_result("jito", "ams", "rejected", "bundle simulation failed")]
        )
        ledger.finished("a5", AttemptStatus.DROPPED)

        attempt("a6", 60_000, dry_run=True)
        ledger.built("a6", tip=6_000, base_fee=5_000, priority_fee=0)
        ledger.finished("a6", AttemptStatus.DRY_RUN)

        attempt("a7", 70_000)
        ledger.submitted("a7", results=[lander_result("jito", "ny", "accepted")])

        attempt("a8", 10_000)
    return ledger_path


@pytest.fixture
def summary_file(tmp_path: Path) -> Path:
    path = tmp_path / "summary.json"
    path.write_text(
        json.dumps(
            {
                "schema": 1,
                "stages": {
                    "quote": {
                        "labels": ["ip", "leg"],
                        "total": {
                            "count": 10,
                            "p50": 0.001,
                            "p95": 0.002,
                            "p99": 0.003,
                            "max": 0.004,
                            "errors": 0,
                        },
                        "series": [],
                    },
                    "send": {
                        "total": {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}
                    },
                },
            }
        )
    )
    return path
