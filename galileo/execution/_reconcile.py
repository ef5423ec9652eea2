"""Startup reconciliation: the attempts an earlier process left in flight, finished from what
the chain says.

One process per state directory (``galileo._state_lock``), and this runs before trading: so
every unfinished row in the ledger at that point was left by a process that ended without
finishing it (``kill -9``, a crash, a power cut). Each is finished:

* a dry run → ``dry_run``; no signature (never built) → ``dropped``: nothing was sent;
* its signature has a status (``getSignatureStatuses`` with ``searchTransactionHistory``) at
  ``confirmed`` or later → ``landed`` or ``failed`` on chain, with the realised balance change
  from the transaction's meta (``getTransaction`` pre/post balances), exactly as the executor
  reads it for its own attempts;
* no status, and it can no longer land → ``expired`` with a realised value of 0: the block
  height is past its ``last_valid_block_height``, or the chain began after it was sent (the
  embedded simulated world lives in the memory of the process that sent it, and vanished with
  it), or — rows written before the ledger recorded the height — it is older than any
  blockhash lives;
* otherwise its blockhash may still land it: the statuses are polled each slot until one of
  the above holds, up to the deadline. What is still open then is left as it is and logged
  (the next start tries again): an outcome is never guessed.

The block height is read before the statuses in each round, so "past its last valid height"
and "no status" can never straddle a landing.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Callable, Collection, Sequence
from typing import Any

import attrs
import trio

from galileo.execution._chain import ChainReader
from galileo.ledger import AsyncLedger, Attempt
from galileo.model import AttemptStatus
from galileo.net import RpcError

_log = logging.getLogger("galileo.execution")

MAX_SIGNATURES_PER_CALL = 256
BLOCKHASH_LIFETIME_BLOCKS = 150
"""Blocks a recent blockhash stays valid (Solana's ``MAX_PROCESSING_AGE``)."""
_RPC_TIMEOUT_S = 5.0
_REALISE_TIMEOUT_S = 10.0
_SETTLED = ("confirmed", "finalized")


@attrs.frozen
class Reconciled:
    """One orphan, finished: its status now, and the realised balance change written (``None``
    when unknown)."""

    opportunity_id: str
    status: AttemptStatus
    realised_lamports: int | None
    reason: str


@attrs.frozen
class ReconcileReport:
    finished: tuple[Reconciled, ...]
    unresolved: tuple[str, ...]
    """Opportunity ids still open at the deadline (left unchanged)."""

    def counts(self) -> dict[str, int]:
        return dict(Tally(r.status.value for r in self.finished))


class Reconciler:
    """Finishes the orphans of ``ledger`` from the chain read through ``chain`` (its RPC).

    ``chain_is_new``: the chain began in this process, so nothing an earlier process sent can
    be on it. ``slot_time_s`` paces the polling and bounds how old a transaction without a
    recorded height may be and still land (twice a blockhash's lifetime).
    """

    def __init__(
        self,
        ledger: AsyncLedger,
        chain: ChainReader,
        *,
        chain_is_new: bool,
        slot_time_s: float,
        deadline_s: float | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.chain = chain
        self.chain_is_new = chain_is_new
        self.poll_interval_s = slot_time_s
        self.max_age_ms = int(2 * BLOCKHASH_LIFETIME_BLOCKS * slot_time_s * 1000)
        # Long enough for any blockhash an orphan used to expire.
        self.deadline_s = (
            deadline_s
            if deadline_s is not None
            else 2 * BLOCKHASH_LIFETIME_BLOCKS * slot_time_s + 10.0
        )
        self._wall_clock = wall_clock

    async def run(self, *, skip: Collection[str] = ()) -> ReconcileReport:
        """Finish every orphan (ids in ``skip`` are this process's own and left alone)."""
        orphans = [a for a in await self.ledger.orphans() if a.opportunity_id not in skip]
        finished: list[Reconciled] = []
        sent: list[Attempt] = []
        for attempt in orphans:
            if attempt.dry_run:
                finished.append(
                    await self._finish(
                        attempt, AttemptStatus.DRY_RUN, "dry run interrupted: its process ended"
                    )
                )
            elif attempt.signature is None:
                finished.append(
                    await self._finish(
                        attempt,
                        AttemptStatus.DROPPED,
                        "not sent: its process ended before the transaction was built",
                        realised=0,
                    )
                )
            else:
                sent.append(attempt)
        unresolved = await self._settle(sent, finished) if sent else []
        report = ReconcileReport(tuple(finished), tuple(a.opportunity_id for a in unresolved))
        if orphans:
            _log.info(
                "reconciled orphaned attempts",
                extra={"fields": {"finished": report.counts(), "unresolved": len(unresolved)}},
            )
        for attempt in unresolved:
            _log.warning(
                "orphaned attempt not reconciled (chain unreadable or still landable)",
                extra={
                    "fields": {
                        "opportunity_id": attempt.opportunity_id,
                        "signature": attempt.signature,
                        "status": attempt.status.value,
                    }
                },
            )
        return report

    async def _settle(self, pending: list[Attempt], finished: list[Reconciled]) -> list[Attempt]:
        """Poll the chain until every attempt of ``pending`` is decided or the deadline."""
        with trio.move_on_after(self.deadline_s):
            while pending:
                height = await self._block_height()  # first: see the module docstring
                statuses = await self._statuses([a.signature or "" for a in pending])
                if statuses is not None:
                    still: list[Attempt] = []
                    for attempt, status in zip(pending, statuses, strict=True):
                        done = await self._decide(attempt, status, height)
                        if done is None:
                            still.append(attempt)
                        else:
                            finished.append(done)
                    pending = still
                if pending:
                    await trio.sleep(self.poll_interval_s)
        return pending

    async def _decide(self, attempt: Attempt, status: Any, height: int | None) -> Reconciled | None:
        if isinstance(status, dict):
            if status.get("confirmationStatus") not in _SETTLED:
                return None  # seen, not settled yet: a fork could still drop it
            return await self._on_chain(attempt, status)
        expired = self._cannot_land(attempt, height)
        if expired is None:
            return None
        return await self._finish(attempt, AttemptStatus.EXPIRED, expired, realised=0)

    def _cannot_land(self, attempt: Attempt, height: int | None) -> str | None:
        """Why ``attempt``'s transaction (seen nowhere) can never land now, or ``None``."""
        if self.chain_is_new:
            return "not on chain: the chain it was sent to ended with the process that sent it"
        limit = attempt.last_valid_block_height
        if limit is not None:
            if height is not None and height > limit:
                return f"not on chain: block height {height} passed its last valid {limit}"
            return None
        age_ms = int(self._wall_clock() * 1000) - attempt.updated_at_ms
        if age_ms > self.max_age_ms:
            return f"not on chain: sent {age_ms // 1000} s ago, older than any blockhash lives"
        return None

    async def _on_chain(self, attempt: Attempt, status: dict[str, Any]) -> Reconciled:
        signature = attempt.signature or ""
        slot = int(status.get("slot") or 0)
        change = await self.chain.balance_change(
            signature, base_mint=attempt.base_mint, timeout_s=_REALISE_TIMEOUT_S
        )
        realised = None if change is None else change.realised(attempt.base_mint)
        err = status.get("err")
        if err is None:
            await self.ledger.landed(
                attempt.opportunity_id, slot=slot, signature=signature, realised_lamports=realised
            )
            return Reconciled(attempt.opportunity_id, AttemptStatus.LANDED, realised, "landed")
        reason = f"reconciled at startup: failed on chain: {err}"
        await self.ledger.finished(
            attempt.opportunity_id,
            AttemptStatus.FAILED,
            reason=reason[:500],
            landed_slot=slot,
            realised_lamports=realised,
        )
        return Reconciled(attempt.opportunity_id, AttemptStatus.FAILED, realised, reason)

    async def _finish(
        self, attempt: Attempt, status: AttemptStatus, reason: str, *, realised: int | None = None
    ) -> Reconciled:
        text = f"reconciled at startup: {reason}"
        await self.ledger.finished(
            attempt.opportunity_id, status, reason=text, realised_lamports=realised
        )
        return Reconciled(attempt.opportunity_id, status, realised, text)

    async def _block_height(self) -> int | None:
        try:
            height = await self.chain.rpc.call(
                "getBlockHeight", [{"commitment": "confirmed"}], timeout_s=_RPC_TIMEOUT_S
            )
        except RpcError:
            return None
        return height if isinstance(height, int) else None

    async def _statuses(self, signatures: Sequence[str]) -> list[Any] | None:
        """One status (or ``None``) per signature; ``None`` for the whole round when a call
        fails (the next round asks again)."""
        found: list[Any] = []
        for start in range(0, len(signatures), MAX_SIGNATURES_PER_CALL):
            chunk = list(signatures[start : start + MAX_SIGNATURES_PER_CALL])
            try:
                result = await self.chain.rpc.call(
                    "getSignatureStatuses",
                    [chunk, {"searchTransactionHistory": True}],
                    timeout_s=_RPC_TIMEOUT_S,
                )
            except RpcError:
                return None
            value = result.get("value") if isinstance(result, dict) else None
            if not isinstance(value, list) or len(value) != len(chunk):
                return None
            found += value
        return found
