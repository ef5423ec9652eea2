"""``LandingTracker``: follows every in-flight submission until it landed, failed or expired.

One background task (``run``) polls for *all* pending submissions at once each
``poll_interval_s``: the block height (``getBlockHeight``), then the signature statuses
(``getSignatureStatuses``, 256 per call), and — for Jito-only submissions still unseen after
``bundle_poll_after_s`` — ``getInflightBundleStatuses`` (5 ids per call, only when a Jito
token is free: sends come first). A submission ends as

* ``landed`` — its signature reached ``commitment`` without error (or its bundle ``Landed``);
* ``failed`` — included with an error (``slot`` set: it paid its fee), or every path refused
  it (all its bundles ``Failed``/``Invalid`` and no RPC lander took it; nothing paid);
* ``expired`` — the block height passed its ``lastValidBlockHeight`` without inclusion (it
  can never land now), or ``landing_timeout_s`` passed (``error`` says which).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Literal, Protocol

import attrs
import trio
from prometheus_client import CollectorRegistry

from galileo._config import LandersConfig
from galileo.landers._landers import Landers
from galileo.landers._metrics import LanderMetrics
from galileo.landers._models import LanderKind, Submission
from galileo.model import LandingOutcome, LandingStatus
from galileo.net import RpcError
from galileo.obs import Recorder

_log = logging.getLogger("galileo.landers")

Commitment = Literal["processed", "confirmed", "finalized"]
_RANK = {"processed": 0, "confirmed": 1, "finalized": 2}
MAX_SIGNATURES_PER_CALL = 256
MAX_BUNDLES_PER_CALL = 5
_RPC_TIMEOUT_S = 2.0


class RpcCaller(Protocol):
    """What the tracker needs of an RPC client (:class:`galileo.net.JsonRpcClient`)."""

    async def call(self, method: str, params: list[Any], *, timeout_s: float | None = None) -> Any:
        """The ``result``; raises :class:`galileo.net.RpcError`."""
        ...


@attrs.define(eq=False)
class _Tracked:
    submission: Submission
    started: float
    deadline: float
    done: trio.Event = attrs.field(factory=trio.Event)
    outcome: LandingOutcome | None = None
    bundle_states: dict[str, str] = attrs.field(factory=dict)


class LandingTracker:
    """Start ``run`` in a nursery, then ``await tracker.wait(submission)`` per submission.

    ``rpc``: the JSON-RPC client for statuses and block height. ``landers``: for Jito bundle
    statuses (optional) and its metrics (shared, so both can live on one registry).
    """

    def __init__(
        self,
        config: LandersConfig,
        *,
        rpc: RpcCaller,
        landers: Landers | None = None,
        registry: CollectorRegistry | None = None,
        recorder: Recorder | None = None,
        poll_interval_s: float = 0.4,
        bundle_poll_after_s: float = 1.0,
        bundle_poll_interval_s: float = 2.0,
        commitment: Commitment = "confirmed",
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.config = config
        self._rpc = rpc
        self._landers = landers
        if landers is not None:
            self.metrics = landers.metrics
        else:
            self.metrics = LanderMetrics(registry if registry is not None else CollectorRegistry())
        self._recorder = recorder if recorder is not None else Recorder()
        self.poll_interval_s = poll_interval_s
        self.bundle_poll_after_s = bundle_poll_after_s
        self.bundle_poll_interval_s = bundle_poll_interval_s
        self.commitment = commitment
        self._clock = clock
        self._pending: list[_Tracked] = []
        self._wakeup = trio.Event()
        self._next_bundle_poll = float("-inf")
        self.polls = 0
        """Polling rounds done (each is one batch of calls for every pending submission)."""
        self.block_height: int | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            if not self._pending:
                await self._wakeup.wait()
                self._wakeup = trio.Event()
                continue
            await trio.sleep(self.poll_interval_s)
            await self.poll_once()

    async def wait(self, submission: Submission) -> LandingOutcome:
        """The outcome of ``submission`` (returns by ``landing_timeout_s`` at the latest)."""
        now = self._clock()
        tracked = _Tracked(submission, now, submission.submitted_at + self.config.landing_timeout_s)
        if not submission.accepted:
            self._resolve(tracked, LandingStatus.FAILED, error="no lander accepted it")
            assert tracked.outcome is not None
            return tracked.outcome
        self._pending.append(tracked)
        self._wakeup.set()
        try:
            # Backstop in case the polling task is not running (or stuck on a slow RPC).
            with trio.move_on_at(
                trio.current_time()
                + max(0.0, tracked.deadline - now)
                + 2 * self.poll_interval_s
                + _RPC_TIMEOUT_S
            ):
                await tracked.done.wait()
            if tracked.outcome is None:
                self._resolve(tracked, LandingStatus.EXPIRED, error="landing timeout")
        finally:
            if tracked in self._pending:
                self._pending.remove(tracked)
        assert tracked.outcome is not None
        return tracked.outcome

    # -- polling -------------------------------------------------------------------------------

    async def poll_once(self) -> None:
        """One round for every pending submission (``run`` calls it; tests may too)."""
        pending = [t for t in self._pending if t.outcome is None]
        if not pending:
            return
        self.polls += 1
        height: int | None = None
        try:
            value = await self._rpc.call(
                "getBlockHeight", [{"commitment": "confirmed"}], timeout_s=_RPC_TIMEOUT_S
            )
            height = value if isinstance(value, int) else None
        except RpcError as err:
            _log.warning(
                "tracker rpc error", extra={"fields": {"method": err.method, "error": err.message}}
            )
        if height is not None:
            self.block_height = height
        unseen = await self._poll_signatures(pending)
        now = self._clock()
        still: list[_Tracked] = []
        for tracked in unseen:
            if height is not None and height > tracked.submission.last_valid_block_height:
                self._resolve(
                    tracked,
                    LandingStatus.EXPIRED,
                    error=f"blockhash expired (block height {height} > "
                    f"{tracked.submission.last_valid_block_height})",
                )
            else:
                still.append(tracked)
        await self._poll_bundles(still, now)
        for tracked in pending:
            if tracked.outcome is None and self._clock() >= tracked.deadline:
                self._resolve(tracked, LandingStatus.EXPIRED, error="landing timeout")

    async def _poll_signatures(self, pending: list[_Tracked]) -> list[_Tracked]:
        """Resolve what the statuses settle; return the submissions with no status yet."""
        unseen: list[_Tracked] = []
        for start in range(0, len(pending), MAX_SIGNATURES_PER_CALL):
            chunk = pending[start : start + MAX_SIGNATURES_PER_CALL]
            values = await self._statuses([t.submission.signature for t in chunk])
            if values is None:
                # Without statuses nothing can be concluded this round (not even expiry:
                # the transaction may have landed).
                continue
            for tracked, status in zip(chunk, values, strict=True):
                if not isinstance(status, dict):
                    unseen.append(tracked)
                    continue
                self._settle(tracked, status)
        return unseen

    async def _statuses(self, signatures: list[str]) -> list[Any] | None:
        try:
            result = await self._rpc.call(
                "getSignatureStatuses",
                [signatures, {"searchTransactionHistory": False}],
                timeout_s=_RPC_TIMEOUT_S,
            )
        except RpcError as err:
            _log.warning(
                "tracker rpc error", extra={"fields": {"method": err.method, "error": err.message}}
            )
            return None
        values = result.get("value") if isinstance(result, dict) else None
        if not isinstance(values, list) or len(values) != len(signatures):
            _log.warning(
                "tracker rpc error",
                extra={"fields": {"method": "getSignatureStatuses", "error": "malformed result"}},
            )
            return None
        return values

    def _settle(self, tracked: _Tracked, status: dict[str, Any]) -> None:
        level = status.get("confirmationStatus") or "processed"
        if _RANK.get(str(level), 0) < _RANK[self.commitment]:
            return  # seen, not yet at the wanted commitment: next round
        slot = status.get("slot")
        slot = slot if isinstance(slot, int) else None
        err = status.get("err")
        if err is None:
            self._resolve(tracked, LandingStatus.LANDED, slot=slot)
        else:
            self._resolve(
                tracked, LandingStatus.FAILED, slot=slot, error=json.dumps(err, sort_keys=True)
            )

    async def _poll_bundles(self, candidates: list[_Tracked], now: float) -> None:
        landers = self._landers
        if landers is None or not landers.has_jito or now < self._next_bundle_poll:
            return
        wanted = [
            t
            for t in candidates
            if t.submission.bundle_ids
            and now - t.submission.submitted_at >= self.bundle_poll_after_s
            and t.submission.accepted_landers == (LanderKind.JITO,)
        ]
        if not wanted:
            return
        self._next_bundle_poll = now + self.bundle_poll_interval_s
        ids = list(dict.fromkeys(b for t in wanted for b in t.submission.bundle_ids))
        states: dict[str, tuple[str, int | None]] = {}
        for start in range(0, len(ids), MAX_BUNDLES_PER_CALL):
            chunk = ids[start : start + MAX_BUNDLES_PER_CALL]
            result = await landers.jito_status(
                "getInflightBundleStatuses", chunk, timeout_s=_RPC_TIMEOUT_S
            )
            if not isinstance(result, dict) or not isinstance(result.get("value"), list):
                break  # no token free (or a bad answer): try again later
            for item in result["value"]:
                if isinstance(item, dict) and isinstance(item.get("bundle_id"), str):
                    slot = item.get("landed_slot")
                    states[item["bundle_id"]] = (
                        str(item.get("status")),
                        slot if isinstance(slot, int) else None,
                    )
        unslotted = [b for b, (state, slot) in states.items() if state == "Landed" and slot is None]
        if unslotted:
            await self._landed_slots(unslotted, states)
        for tracked in wanted:
            mine = [states[b] for b in tracked.submission.bundle_ids if b in states]
            for bid in tracked.submission.bundle_ids:
                if bid in states:
                    tracked.bundle_states[bid] = states[bid][0]
            landed = [slot for state, slot in mine if state == "Landed"]
            if landed:
                self._resolve(tracked, LandingStatus.LANDED, slot=landed[0], via="jito")
            elif len(mine) == len(tracked.submission.bundle_ids) and all(
                state in ("Failed", "Invalid") for state, _ in mine
            ):
                self._resolve(
                    tracked,
                    LandingStatus.FAILED,
                    error="bundle " + "/".join(sorted({state for state, _ in mine})),
                )

    async def _landed_slots(
        self, bundle_ids: list[str], states: dict[str, tuple[str, int | None]]
    ) -> None:
        """``getBundleStatuses`` for landed bundles whose in-flight status had no slot."""
        assert self._landers is not None
        for start in range(0, len(bundle_ids), MAX_BUNDLES_PER_CALL):
            chunk = bundle_ids[start : start + MAX_BUNDLES_PER_CALL]
            result = await self._landers.jito_status(
                "getBundleStatuses", chunk, timeout_s=_RPC_TIMEOUT_S
            )
            values = result.get("value") if isinstance(result, dict) else None
            for item in values if isinstance(values, list) else ():
                if isinstance(item, dict) and isinstance(item.get("slot"), int):
                    bid = item.get("bundle_id")
                    if isinstance(bid, str) and bid in states:
                        states[bid] = ("Landed", item["slot"])

    # -- outcomes ------------------------------------------------------------------------------

    def _resolve(
        self,
        tracked: _Tracked,
        status: LandingStatus,
        *,
        slot: int | None = None,
        error: str | None = None,
        via: str | None = None,
    ) -> None:
        if tracked.outcome is not None:
            return
        elapsed = self._clock() - tracked.submission.submitted_at
        if via is None and status is LandingStatus.LANDED:
            via = "+".join(k.value for k in tracked.submission.accepted_landers) or None
        tracked.outcome = LandingOutcome(
            status=status, slot=slot, error=error, landed_via=via, elapsed_s=elapsed
        )
        tracked.done.set()
        self.metrics.outcomes.labels(status.value).inc()
        self.metrics.landing_seconds.labels(status.value).observe(elapsed)
        if status is LandingStatus.LANDED:
            self.metrics.landed.labels(via or "unknown").inc()
            self._recorder.observe("land", elapsed)
        _log.info(
            "landing outcome",
            extra={
                "fields": {
                    "opportunity_id": tracked.submission.opportunity_id,
                    "signature": tracked.submission.signature,
                    "status": status.value,
                    "slot": slot,
                    "error": error,
                    "landed_via": via,
                    "elapsed_s": round(elapsed, 6),
                }
            },
        )
