"""``AsyncLedger``: the synchronous ledger for trio code, one writer at a time.

SQLite calls block, and with ``synchronous=FULL`` a commit waits for an fsync. Each call is
run with ``trio.to_thread.run_sync`` behind a ``CapacityLimiter(1)``: the event loop never
blocks on the disk, writes reach SQLite in the order they were awaited (the limiter is FIFO),
and there is only ever one writer. A call is not abandoned on cancellation: a write that has
started always finishes (and is durable) before the caller sees ``Cancelled``, so a
cancelled pipeline never leaves a half-known row behind (the call returns its result and
``Cancelled`` surfaces at the caller's next checkpoint). docs/ledger.md has the measured
latency per write.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

import trio

from galileo.ledger._ledger import Ledger
from galileo.ledger._models import DEFAULT_PAIR, Attempt
from galileo.model import AttemptStatus, LanderResult
from galileo.obs import Recorder

P = ParamSpec("P")
T = TypeVar("T")


LEDGER_STAGE = "ledger_write"
"""Stage name under which ``AsyncLedger`` reports each call's latency (thread hop included)."""


class AsyncLedger:
    """Trio-friendly facade of a ``Ledger`` (which it owns and closes).

    Once wrapped, use the ledger only through this object: its connection is handed to one
    worker thread at a time, and a direct call from the trio thread could overlap one.
    """

    def __init__(self, ledger: Ledger, *, recorder: Recorder | None = None) -> None:
        self.ledger = ledger
        self._limiter = trio.CapacityLimiter(1)
        self._recorder = recorder if recorder is not None else Recorder()

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` (a method of the ledger) on the writer thread."""
        # Timed with the thread hop; a call that raises counts in
        # galileo_stage_errors_total{stage="ledger_write"} (the ledger-write alert's measure).
        with self._recorder.stage(LEDGER_STAGE):
            return await trio.to_thread.run_sync(
                functools.partial(fn, *args, **kwargs), limiter=self._limiter
            )

    async def plan(
        self,
        opportunity_id: str,
        *,
        base_mint: str,
        intermediate_mint: str,
        size: int,
        expected_profit: int,
        dry_run: bool = False,
        pair: str = DEFAULT_PAIR,
    ) -> bool:
        return await self.call(
            self.ledger.plan,
            opportunity_id,
            base_mint=base_mint,
            intermediate_mint=intermediate_mint,
            size=size,
            expected_profit=expected_profit,
            dry_run=dry_run,
            pair=pair,
        )

    async def update(self, opportunity_id: str, **fields: Any) -> AttemptStatus:
        return await self.call(self.ledger.update, opportunity_id, **fields)

    async def built(
        self,
        opportunity_id: str,
        *,
        tip: int,
        base_fee: int,
        priority_fee: int,
        signature: str | None = None,
        last_valid_block_height: int | None = None,
    ) -> AttemptStatus:
        return await self.call(
            self.ledger.built,
            opportunity_id,
            tip=tip,
            base_fee=base_fee,
            priority_fee=priority_fee,
            signature=signature,
            last_valid_block_height=last_valid_block_height,
        )

    async def sending(
        self,
        opportunity_id: str,
        *,
        signature: str,
        tip: int,
        base_fee: int,
        priority_fee: int,
        last_valid_block_height: int,
    ) -> AttemptStatus:
        return await self.call(
            self.ledger.sending,
            opportunity_id,
            signature=signature,
            tip=tip,
            base_fee=base_fee,
            priority_fee=priority_fee,
            last_valid_block_height=last_valid_block_height,
        )

    async def submitted(
        self,
        opportunity_id: str,
        *,
        signature: str | None = None,
        bundle_id: str | None = None,
        results: Iterable[LanderResult] = (),
    ) -> AttemptStatus:
        return await self.call(
            self.ledger.submitted,
            opportunity_id,
            signature=signature,
            bundle_id=bundle_id,
            results=tuple(results),
        )

    async def lander_result(self, opportunity_id: str, result: LanderResult) -> None:
        await self.call(self.ledger.lander_result, opportunity_id, result)

    async def landed(
        self,
        opportunity_id: str,
        *,
        slot: int,
        signature: str | None = None,
        realised_lamports: int | None = None,
    ) -> AttemptStatus:
        return await self.call(
            self.ledger.landed,
            opportunity_id,
            slot=slot,
            signature=signature,
            realised_lamports=realised_lamports,
        )

    async def finished(
        self,
        opportunity_id: str,
        status: AttemptStatus,
        *,
        reason: str | None = None,
        landed_slot: int | None = None,
        realised_lamports: int | None = None,
    ) -> AttemptStatus:
        return await self.call(
            self.ledger.finished,
            opportunity_id,
            status,
            reason=reason,
            landed_slot=landed_slot,
            realised_lamports=realised_lamports,
        )

    async def realised(self, opportunity_id: str, lamports: int) -> AttemptStatus:
        return await self.call(self.ledger.realised, opportunity_id, lamports)

    async def get(self, opportunity_id: str) -> Attempt | None:
        return await self.call(self.ledger.get, opportunity_id)

    async def orphans(self) -> list[Attempt]:
        return await self.call(self.ledger.orphans)

    async def aclose(self) -> None:
        await self.call(self.ledger.close)
