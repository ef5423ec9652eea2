"""A writer killed with SIGKILL mid-stream loses no acknowledged row, corrupts nothing, and a
restarted writer that replays from the start duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest

import galileo
from galileo.ledger import Ledger, open_readonly
from galileo.model import AttemptStatus

# Each attempt goes through every write the pipeline makes, then its index is printed: a
# printed index is an acknowledged (committed) attempt.
WRITER = """
import sys
from galileo.ledger import Ledger
from galileo.model import LanderOutcome, LanderResult

path, start, stop, synchronous = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with Ledger(path, synchronous=synchronous) as ledger:
    for i in range(start, stop):
        oid = f"opp-{i:05d}"
        ledger.plan(oid, base_mint="So1", intermediate_mint="USDC", size=1_000 + i,
                    expected_profit=i)
        ledger.built(oid, tip=1_000, base_fee=5_000, priority_fee=i)
        ledger.submitted(oid, bundle_id=f"b{i}", results=[
            LanderResult(lander="jito", endpoint="ny", outcome=LanderOutcome.ACCEPTED)])
        ledger.landed(oid, slot=10_000 + i)
        ledger.realised(oid, i - 3)
        print(i, flush=True)
"""

TOTAL = 200
KILL_AFTER = 30

Synchronous = Literal["full", "normal"]  # Ledger(synchronous=...)


def _writer(path: Path, start: int, stop: int, synchronous: Synchronous) -> subprocess.Popen[str]:
    root = str(Path(galileo.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(start), str(stop), synchronous],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _assert_complete(ledger: Ledger, index: int) -> None:
    attempt = ledger.get(f"opp-{index:05d}")
    assert attempt is not None, index
    assert attempt.status is AttemptStatus.LANDED
    assert (attempt.size, attempt.priority_fee, attempt.landed_slot) == (
        1_000 + index,
        index,
        10_000 + index,
    )
    assert attempt.realised_lamports == index - 3
    assert len(attempt.lander_results) == 1


@pytest.mark.parametrize("synchronous", ["full", "normal"])
def test_sigkill_mid_stream_then_replay_neither_loses_nor_duplicates(
    tmp_path: Path, synchronous: Synchronous
) -> None:
    path = tmp_path / "ledger.sqlite3"
    writer = _writer(path, 0, TOTAL, synchronous)
    assert writer.stdout is not None
    acknowledged = -1
    try:
        for line in writer.stdout:
            acknowledged = int(line)
            if acknowledged + 1 >= KILL_AFTER:
                break
        writer.send_signal(signal.SIGKILL)  # while it is in the middle of its next writes
    finally:
        writer.wait(timeout=30)
        writer.stdout.close()  # the pipe is ours to close (filterwarnings: ResourceWarning)
    assert writer.returncode == -signal.SIGKILL
    assert acknowledged + 1 == KILL_AFTER

    # After the kill: the file is sound, every acknowledged attempt is complete, and the one
    # being written when the kill came (if any) is a consistent, valid row.
    with Ledger(path, synchronous=synchronous) as ledger:
        assert ledger.integrity_check() == "ok"
        for index in range(KILL_AFTER):
            _assert_complete(ledger, index)
        survivors = ledger.count()
        assert KILL_AFTER <= survivors < TOTAL
        for attempt in ledger.attempts():
            assert attempt.status in AttemptStatus

    # The restarted writer replays everything from the start: still one row per attempt.
    rerun = _writer(path, 0, TOTAL, synchronous)
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0
    assert len(out.split()) == TOTAL
    with Ledger(path) as ledger:
        assert ledger.count() == TOTAL
        for index in range(TOTAL):
            _assert_complete(ledger, index)
    conn = open_readonly(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM lander_results").fetchone()[0] == TOTAL
    finally:
        conn.close()
