"""AsyncLedger: one writer, in order, off the event loop, never abandoned mid-write."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import trio
import trio.lowlevel

from galileo.ledger import LEDGER_STAGE, AsyncLedger, Ledger, LedgerValueError
from galileo.model import AttemptStatus
from galileo.obs import Recorder


async def test_concurrent_tasks_write_every_attempt_once(ledger: Ledger) -> None:
    recorder = Recorder()
    aledger = AsyncLedger(ledger, recorder=recorder)

    async def attempt(i: int) -> None:
        oid = f"opp-{i}"
        assert await aledger.plan(
            oid, base_mint="So1", intermediate_mint="X", size=10 + i, expected_profit=i
        )
        await aledger.built(oid, tip=1, base_fee=2, priority_fee=3)
        await aledger.submitted(oid, bundle_id=f"b{i}")
        await aledger.landed(oid, slot=i)
        await aledger.realised(oid, i)

    async with trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(attempt, i)

    assert ledger.count() == 20
    for i in range(20):
        got = await aledger.get(f"opp-{i}")
        assert got is not None
        assert (got.status, got.realised_lamports) == (AttemptStatus.LANDED, i)
    timed = recorder.summary()["stages"][LEDGER_STAGE]["total"]
    assert (timed["count"], timed["errors"]) == (20 * 5 + 20, 0)  # every call timed, none failed


async def test_a_failing_call_counts_as_a_ledger_write_error(ledger: Ledger) -> None:
    recorder = Recorder()
    aledger = AsyncLedger(ledger, recorder=recorder)

    with pytest.raises(LedgerValueError):
        await aledger.plan(
            "opp", base_mint="So1", intermediate_mint="X", size=2**70, expected_profit=0
        )

    assert recorder.summary()["stages"][LEDGER_STAGE]["total"]["errors"] == 1


async def test_writes_from_one_task_reach_sqlite_in_order(ledger: Ledger) -> None:
    aledger = AsyncLedger(ledger)
    await aledger.plan("opp", base_mint="So1", intermediate_mint="X", size=1, expected_profit=1)
    await aledger.finished("opp", AttemptStatus.EXPIRED, reason="timeout")
    assert await aledger.landed("opp", slot=3) is AttemptStatus.LANDED


async def test_a_write_in_progress_completes_even_if_the_caller_is_cancelled(
    ledger: Ledger,
) -> None:
    aledger = AsyncLedger(ledger)
    started = threading.Event()
    proceed = threading.Event()

    def slow_plan() -> bool:
        started.set()
        proceed.wait(timeout=10)
        return ledger.plan("opp", base_mint="So1", intermediate_mint="X", size=1, expected_profit=1)

    results: list[bool] = []

    async def writer(scope: trio.CancelScope) -> None:
        with scope:
            results.append(await aledger.call(slow_plan))
            await trio.lowlevel.checkpoint()  # the caller's next checkpoint sees the cancellation
            results.append(False)

    scope = trio.CancelScope()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer, scope)
        with trio.fail_after(10):
            await trio.to_thread.run_sync(started.wait)
        scope.cancel()
        proceed.set()

    assert scope.cancelled_caught
    assert results == [True]  # the write finished and reported; Cancelled came after
    assert ledger.get("opp") is not None


async def test_aclose_closes_the_ledger(ledger_path: Path) -> None:
    aledger = AsyncLedger(Ledger(ledger_path))
    await aledger.plan("opp", base_mint="So1", intermediate_mint="X", size=1, expected_profit=1)
    await aledger.aclose()
    with Ledger(ledger_path) as reopened:
        assert reopened.count() == 1
