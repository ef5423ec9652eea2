"""``Executor``: from an opportunity to a realised, reconciled ledger row.

Per opportunity, in its own task (at most ``risk.max_inflight`` at once)::

    dislocation in flight? → risk.admit → ledger.plan (a conflict: duplicate, stop)
      → builder.build
      ├─ dry run: ledger.built → simulateTransaction (optional) → ledger.finished(dry_run)
      └─ same signature sent? risk.blocked? → ledger.sending (durable before the first byte)
           → landers.submit → ledger.submitted (lander answers) → tracker.wait
           → ledger.landed / finished(failed | expired | dropped)
           → getTransaction meta → ledger.realised → risk.record_outcome
    → slot.release, dislocation released

At startup, before the first opportunity, :meth:`Executor.reconcile` finishes what an
earlier process left in flight (``_reconcile``).

Realised PnL is read from the chain per transaction (``getTransaction``: the payer's SOL
change plus its base-mint token change), so the ledger's sum equals the wallet's balance
change exactly, also with several attempts in flight at once. Every step emits an event on
the trace (keyed by opportunity id) so a person can replay what happened and why.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import trio
from prometheus_client import CollectorRegistry

from galileo._config import Config
from galileo.execution._chain import ChainReader
from galileo.execution._inflight import DislocationKey
from galileo.execution._metrics import ExecutionMetrics
from galileo.execution._reconcile import Reconciler, ReconcileReport
from galileo.landers import Landers, LandingTracker, Submission
from galileo.ledger import AsyncLedger
from galileo.model import (
    AttemptStatus,
    BuiltTx,
    LandingOutcome,
    LandingStatus,
    LeaseKind,
    Opportunity,
    TxSkip,
    TxSkipReason,
)
from galileo.net import ip_label
from galileo.obs import EventTrace, Recorder
from galileo.risk import InflightSlot, RiskGate, Skip

_log = logging.getLogger("galileo.execution")

DEFAULT_BUILD_TIMEOUT_S = 5.0
DEFAULT_REALISE_TIMEOUT_S = 10.0
DEFAULT_SIMULATE_TIMEOUT_S = 2.0
MAX_REMEMBERED_SIGNATURES = 10_000


class TransactionBuilder(Protocol):
    """``galileo.tx.TxBuilder``: a signed transaction, or the reason it was not built."""

    async def build(self, opportunity: Opportunity, *, ip: str) -> BuiltTx | TxSkip: ...


@attrs.frozen(kw_only=True)
class ExecutorStats:
    """Totals since start, for the run summary and the live view (amounts in lamports)."""

    received: int
    skipped: dict[str, int]
    build_skipped: dict[str, int]
    built: int
    dry_run: int
    blocked: int
    submitted: int
    not_sent: int
    duplicate: int
    landed: int
    failed: int
    expired: int
    errors: int
    inflight: int
    pnl_lamports: int
    tip_spend_lamports: int
    fee_spend_lamports: int
    realised_unknown: int
    duplicates_suppressed: int = 0
    """Opportunities not attempted: an attempt on the same dislocation was in flight."""
    reconciled: dict[str, int] = attrs.field(factory=dict)
    """Attempts earlier processes left in flight, finished at startup, by status."""
    unreconciled: int = 0
    """Of those, the ones still open when the startup reconciliation gave up."""

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


class Executor:
    """Consumes opportunities and carries each through build, send, landing and realisation.

    ``chain``: reads realised balance changes and dry-run simulations (a ``ChainReader``
    over the execution RPC). ``simulate_dry_run``: run ``simulateTransaction`` on dry runs.
    """

    def __init__(
        self,
        config: Config,
        *,
        risk: RiskGate,
        ledger: AsyncLedger,
        builder: TransactionBuilder,
        landers: Landers,
        tracker: LandingTracker,
        chain: ChainReader,
        registry: CollectorRegistry | None = None,
        recorder: Recorder | None = None,
        trace: EventTrace | None = None,
        simulate_dry_run: bool = True,
        build_timeout_s: float = DEFAULT_BUILD_TIMEOUT_S,
        realise_timeout_s: float = DEFAULT_REALISE_TIMEOUT_S,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.config = config
        self.risk = risk
        self.ledger = ledger
        self.builder = builder
        self.landers = landers
        self.tracker = tracker
        self.chain = chain
        self.metrics = ExecutionMetrics(registry if registry is not None else CollectorRegistry())
        self._recorder = recorder if recorder is not None else Recorder()
        self.trace = trace if trace is not None else EventTrace(None)
        self.simulate_dry_run = simulate_dry_run
        self.build_timeout_s = build_timeout_s
        self.realise_timeout_s = realise_timeout_s
        self._clock = clock
        landers_cfg = config.landers
        # Backstop for one attempt: every phase has its own deadline; this only catches a
        # phase that ignores its own.
        self.attempt_deadline_s = (
            build_timeout_s
            + landers_cfg.send_deadline_ms / 1000
            + landers_cfg.landing_timeout_s
            + realise_timeout_s
            + DEFAULT_SIMULATE_TIMEOUT_S
            + 10.0
        )
        self._received = 0
        self._skipped: Tally[str] = Tally()
        self._build_skipped: Tally[str] = Tally()
        self._counts: Tally[str] = Tally()
        self._inflight = 0
        # Admitted attempts that have not reached the landers yet (they will each need a
        # lander token soon: admission counts them).
        self._unsent: set[str] = set()
        self._pnl = 0
        self._tips = 0
        self._fees = 0
        # Signatures sent recently: identical signed bytes (same quotes, blockhash and tip
        # account) must not be attributed to two attempts.
        self._signatures: dict[str, None] = {}
        # Dislocations with an attempt in flight (key → its opportunity id): a later sweep
        # finding the same one is suppressed until that attempt has its outcome.
        self._dislocations: dict[DislocationKey, str] = {}
        self._reconciled = ReconcileReport((), ())
        self._intake = trio.CancelScope()
        self._intake_stopped = False
        self.drained = trio.Event()
        """Set when ``run`` has returned: intake stopped and no attempt left in flight."""
        self.idle = trio.Event()
        """Set whenever no attempt is in flight (tests and shutdown wait on it)."""
        self.idle.set()

    # -- running -------------------------------------------------------------------------------

    async def run(
        self,
        opportunities: trio.MemoryReceiveChannel[Opportunity],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Handle opportunities until the channel is closed or ``stop_intake()``, then wait
        for the attempts in flight to finish (every started attempt ends with a terminal
        ledger row and its realised balance change) and set ``drained``."""
        self._intake = intake = trio.CancelScope()
        if self._intake_stopped:
            intake.cancel()
        if self.drained.is_set():
            self.drained = trio.Event()
        async with trio.open_nursery() as nursery:
            task_status.started()
            with intake:
                async with opportunities:
                    async for opportunity in opportunities:
                        self.handle(opportunity, nursery)
        self.drained.set()

    def stop_intake(self) -> None:
        """Stop taking opportunities (the channel may stay open); ``run`` returns once the
        attempts in flight have finished and sets ``drained``. Call this at shutdown before
        cancelling the tracker, so every sent transaction is followed to its outcome and
        its realised balance change is in the ledger."""
        self._intake_stopped = True
        self._intake.cancel()

    def handle(self, opportunity: Opportunity, nursery: trio.Nursery) -> bool:
        """Admit ``opportunity`` and start its attempt in ``nursery``; ``False`` if skipped."""
        self._received += 1
        trace = self.trace
        trace.emit(
            opportunity.id,
            "received",
            mint=opportunity.mint,
            size=opportunity.size,
            net_profit=opportunity.net_profit,
            tip=opportunity.tip_lamports,
            ip=ip_label(opportunity.ip),
            local_ip=ip_label(opportunity.ip),
            ip_task_kind=LeaseKind.QUOTE.value,
            age_s=round(self._clock() - opportunity.evaluated_at, 6),
        )
        key = DislocationKey.of(opportunity)
        holder = self._dislocations.get(key)
        if holder is not None:
            self._counts["duplicates_suppressed"] += 1
            self.metrics.duplicates_suppressed.inc()
            trace.emit(opportunity.id, "suppressed", in_flight=holder)
            return False
        if not self.risk.dry_run and not self.landers.can_send(queued=len(self._unsent)):
            # No endpoint has a token on any of its source IPs in time: every lander would
            # drop it as stale, so do not build what cannot go out.
            self._skipped["landers_busy"] += 1
            self.metrics.attempts.labels("skipped").inc()
            trace.emit(opportunity.id, "skipped", reason="landers_busy", detail="")
            return False
        decision = self.risk.admit(
            size=opportunity.size,
            expected_profit=opportunity.net_profit,
            min_profit_lamports=opportunity.min_profit_lamports or None,
        )
        if isinstance(decision, Skip):
            self._skipped[decision.reason.value] += 1
            self.metrics.attempts.labels("skipped").inc()
            trace.emit(
                opportunity.id, "skipped", reason=decision.reason.value, detail=decision.detail
            )
            return False
        self._inflight += 1
        self._unsent.add(opportunity.id)
        self._dislocations[key] = opportunity.id
        self.idle = trio.Event() if self.idle.is_set() else self.idle
        nursery.start_soon(self._attempt_task, opportunity, decision, key)
        return True

    async def _attempt_task(
        self, opportunity: Opportunity, slot: InflightSlot, key: DislocationKey
    ) -> None:
        started = self._clock()
        try:
            with trio.move_on_after(self.attempt_deadline_s) as scope:
                await self.attempt(opportunity, slot)
            if scope.cancelled_caught:
                self._counts["errors"] += 1
                self.trace.emit(opportunity.id, "error", error="attempt deadline")
                _log.error(
                    "execution attempt deadline",
                    extra={"fields": {"opportunity_id": opportunity.id}},
                )
                with trio.move_on_after(5.0):
                    await self.ledger.finished(
                        opportunity.id,
                        AttemptStatus.DRY_RUN if slot.dry_run else AttemptStatus.EXPIRED,
                        reason="attempt deadline",
                    )
        except Exception as exc:  # one bad attempt must not take the executor down
            self._counts["errors"] += 1
            self.metrics.attempts.labels("error").inc()
            self.trace.emit(opportunity.id, "error", error=f"{type(exc).__name__}: {exc}")
            _log.exception(
                "execution attempt error", extra={"fields": {"opportunity_id": opportunity.id}}
            )
        finally:
            slot.release()
            self._recorder.observe("execute", self._clock() - started)
            self._dislocations.pop(key, None)
            self._unsent.discard(opportunity.id)
            self._inflight -= 1
            if self._inflight == 0:
                self.idle.set()

    async def attempt(self, opportunity: Opportunity, slot: InflightSlot) -> None:
        """One admitted opportunity, from plan to realised (``slot`` is released by the
        caller)."""
        oid = opportunity.id
        trace = self.trace
        dry_run = bool(slot.dry_run)
        planned = await self.ledger.plan(
            oid,
            base_mint=opportunity.base_mint,
            intermediate_mint=opportunity.mint,
            size=opportunity.size,
            expected_profit=opportunity.net_profit,
            dry_run=dry_run,
            pair=opportunity.pair,
        )
        if not planned:
            # The id is already in the ledger (another attempt's row, maybe a dry run's): it
            # is not ours to write, so this attempt stops here rather than merge into it.
            self._counts["duplicate"] += 1
            self.metrics.attempts.labels("duplicate").inc()
            trace.emit(oid, "duplicate", reason="opportunity id already in the ledger")
            _log.warning(
                "opportunity id already in the ledger", extra={"fields": {"opportunity_id": oid}}
            )
            return
        trace.emit(oid, "planned", dry_run=dry_run)

        built: BuiltTx | TxSkip = TxSkip(TxSkipReason.BUILD_TIMEOUT, "", oid)
        with trio.move_on_after(self.build_timeout_s):
            built = await self.builder.build(opportunity, ip=opportunity.ip)
        if isinstance(built, TxSkip):
            reason, detail = built.reason.value, built.detail
            self._build_skipped[reason] += 1
            self.metrics.attempts.labels("build_skipped").inc()
            trace.emit(oid, "build_skipped", reason=reason, detail=detail)
            await self.ledger.finished(
                oid, AttemptStatus.DROPPED, reason=f"not built: {reason} {detail}".strip()
            )
            return
        self._counts["built"] += 1
        if dry_run:
            await self.ledger.built(
                oid,
                tip=built.tip_lamports,
                base_fee=built.base_fee_lamports,
                priority_fee=built.priority_fee_lamports,
                signature=built.signature,
                last_valid_block_height=built.last_valid_block_height,
            )
        trace.emit(
            oid,
            "built",
            signature=built.signature,
            tip=built.tip_lamports,
            base_fee=built.base_fee_lamports,
            priority_fee=built.priority_fee_lamports,
            compute_unit_limit=built.compute_unit_limit,
            min_out=built.min_out,
            last_valid_block_height=built.last_valid_block_height,
            wire_bytes=len(built.wire),
        )

        if dry_run:
            await self._dry_run(oid, built)
            return

        if built.signature in self._signatures:
            self._counts["duplicate"] += 1
            self.metrics.attempts.labels("duplicate").inc()
            trace.emit(oid, "duplicate", signature=built.signature)
            await self._drop_unsent(oid, built, "duplicate transaction")
            return
        self._signatures[built.signature] = None
        if len(self._signatures) > MAX_REMEMBERED_SIGNATURES:
            del self._signatures[next(iter(self._signatures))]

        blocked = self.risk.blocked()
        if blocked is not None:
            self._counts["blocked"] += 1
            self.metrics.attempts.labels("blocked").inc()
            trace.emit(oid, "blocked", reason=blocked.value)
            await self._drop_unsent(oid, built, f"not sent: {blocked.value}")
            return

        # Durable before the first byte leaves: a crash during the send leaves a row naming
        # the signature, which the next start reconciles against the chain.
        await self.ledger.sending(
            oid,
            signature=built.signature,
            tip=built.tip_lamports,
            base_fee=built.base_fee_lamports,
            priority_fee=built.priority_fee_lamports,
            last_valid_block_height=built.last_valid_block_height,
        )
        submission = await self.landers.submit(built)
        # Only now: until the landers' tasks have booked their tokens, this one still
        # counts as queued for admission (counted twice for a moment: conservative).
        self._unsent.discard(oid)
        await self.ledger.submitted(
            oid, bundle_id=submission.bundle_id, results=submission.lander_results
        )
        trace.emit(
            oid,
            "submitted",
            accepted=submission.accepted,
            bundle_ids=list(submission.bundle_ids),
            results=[
                {
                    "lander": r.result.lander,
                    "endpoint": r.result.endpoint,
                    "ip": None if r.ip is None else ip_label(r.ip),
                    "local_ip": None if r.ip is None else ip_label(r.ip),
                    "ip_task_kind": LeaseKind.LANDER.value,
                    "outcome": r.result.outcome.value,
                    "reason": r.result.reason,
                    "bundle_id": r.bundle_id,
                    "elapsed_s": round(r.elapsed_s, 6),
                }
                for r in submission.results
            ],
        )
        if not submission.accepted:
            await self._not_sent(oid, submission)
            return
        self._counts["submitted"] += 1

        outcome = await self.tracker.wait(submission)
        trace.emit(
            oid,
            outcome.status.value,
            slot=outcome.slot,
            error=outcome.error,
            landed_via=outcome.landed_via,
            elapsed_s=round(outcome.elapsed_s, 6),
        )
        await self._conclude(opportunity, built, outcome)

    async def _drop_unsent(self, oid: str, built: BuiltTx, reason: str) -> None:
        """Built but never sent: ``dropped``, with the transaction's facts (one write)."""
        await self.ledger.update(
            oid,
            status=AttemptStatus.DROPPED,
            failure_reason=reason,
            tip=built.tip_lamports,
            base_fee=built.base_fee_lamports,
            priority_fee=built.priority_fee_lamports,
            signature=built.signature,
            last_valid_block_height=built.last_valid_block_height,
        )

    async def _dry_run(self, oid: str, built: BuiltTx) -> None:
        reason = "dry run"
        fields: dict[str, Any] = {}
        if self.simulate_dry_run:
            simulation = await self.chain.simulate(
                built.base64, timeout_s=DEFAULT_SIMULATE_TIMEOUT_S
            )
            fields = {"simulated_err": simulation.err, "units": simulation.units_consumed}
            reason = (
                f"dry run; simulation ok ({simulation.units_consumed} CU)"
                if simulation.ok
                else f"dry run; simulation failed: {simulation.err}"
            )
        self._counts["dry_run"] += 1
        self.metrics.attempts.labels("dry_run").inc()
        await self.ledger.finished(oid, AttemptStatus.DRY_RUN, reason=reason)
        self.trace.emit(oid, "dry_run", **fields)

    async def _not_sent(self, oid: str, submission: Submission) -> None:
        """No endpoint accepted it. Only local throttling (no source IP had a token in time,
        or every IP was cooling down: ``Submission.dropped``) is not a failed send for the
        risk guards: nothing left the machine that the network refused."""
        self._counts["not_sent"] += 1
        self.metrics.attempts.labels("not_sent").inc()
        throttled = submission.dropped
        summary = ", ".join(
            f"{r.result.lander}/{r.result.endpoint}: {r.result.outcome.value}"
            + (f" ({r.result.reason})" if r.result.reason else "")
            for r in submission.results
        )
        await self.ledger.finished(
            oid, AttemptStatus.DROPPED, reason=f"no lander accepted: {summary}"[:500]
        )
        if not throttled:
            self.risk.record_outcome(landed=False)
        self.trace.emit(oid, "not_sent", throttled=throttled)

    async def _conclude(
        self, opportunity: Opportunity, built: BuiltTx, outcome: LandingOutcome
    ) -> None:
        oid = opportunity.id
        realised: int | None = 0
        fee = 0
        if outcome.on_chain:
            change = await self.chain.balance_change(
                built.signature, base_mint=opportunity.base_mint, timeout_s=self.realise_timeout_s
            )
            if change is None:
                realised = None
                self._counts["realised_unknown"] += 1
            else:
                realised = change.realised(opportunity.base_mint)
                fee = change.fee
        landed = outcome.status is LandingStatus.LANDED
        if landed:
            assert outcome.slot is not None
            await self.ledger.landed(
                oid, slot=outcome.slot, signature=built.signature, realised_lamports=realised
            )
            self._tips += built.tip_lamports
            self.metrics.tips.inc(built.tip_lamports)
        else:
            status = (
                AttemptStatus.EXPIRED
                if outcome.status is LandingStatus.EXPIRED
                else AttemptStatus.FAILED
            )
            await self.ledger.finished(
                oid,
                status,
                reason=outcome.error,
                landed_slot=outcome.slot,
                realised_lamports=realised,
            )
        self._counts[outcome.status.value] += 1
        self.metrics.attempts.labels(outcome.status.value).inc()
        if fee:
            self._fees += fee
            self.metrics.fees.inc(fee)
        if realised is not None:
            self._pnl += realised
            self.metrics.pnl.set(self._pnl)
        self.risk.record_outcome(landed=landed, realised_lamports=realised or 0)
        self.trace.emit(
            oid,
            "realised",
            lamports=realised,
            expected=opportunity.net_profit,
            fee=fee,
            tip=built.tip_lamports if landed else 0,
        )
        _log.info(
            "execution outcome",
            extra={
                "fields": {
                    "opportunity_id": oid,
                    "status": outcome.status.value,
                    "slot": outcome.slot,
                    "realised_lamports": realised,
                    "expected_lamports": opportunity.net_profit,
                    "landed_via": outcome.landed_via,
                }
            },
        )

    # -- startup -------------------------------------------------------------------------------

    async def reconcile(self, *, chain_is_new: bool, slot_time_s: float) -> ReconcileReport:
        """Finish the attempts an earlier process left in flight, from the chain (see
        ``_reconcile``); call before the first opportunity. ``chain_is_new``: the chain began
        in this process (the embedded simulated world), so nothing sent before is on it.
        Realised changes found count in the risk gate's loss window (they are recent money)
        but not in this run's PnL: the attempts belong to the run that created them."""
        reconciler = Reconciler(
            self.ledger, self.chain, chain_is_new=chain_is_new, slot_time_s=slot_time_s
        )
        report = await reconciler.run(skip=set(self._unsent))
        for done in report.finished:
            self.metrics.reconciled.labels(done.status.value).inc()
            self.trace.emit(
                done.opportunity_id,
                "reconciled",
                status=done.status.value,
                lamports=done.realised_lamports,
                reason=done.reason,
            )
            if done.realised_lamports:
                self.risk.record_realised(done.realised_lamports)
        self._reconciled = report
        return report

    # -- views ---------------------------------------------------------------------------------

    @property
    def inflight(self) -> int:
        return self._inflight

    @property
    def pnl_lamports(self) -> int:
        return self._pnl

    def stats(self) -> ExecutorStats:
        c = self._counts
        return ExecutorStats(
            received=self._received,
            skipped=dict(self._skipped),
            build_skipped=dict(self._build_skipped),
            built=c["built"],
            dry_run=c["dry_run"],
            blocked=c["blocked"],
            submitted=c["submitted"],
            not_sent=c["not_sent"],
            duplicate=c["duplicate"],
            landed=c["landed"],
            failed=c["failed"],
            expired=c["expired"],
            errors=c["errors"],
            inflight=self._inflight,
            pnl_lamports=self._pnl,
            tip_spend_lamports=self._tips,
            fee_spend_lamports=self._fees,
            realised_unknown=c["realised_unknown"],
            duplicates_suppressed=c["duplicates_suppressed"],
            reconciled=self._reconciled.counts(),
            unreconciled=len(self._reconciled.unresolved),
        )
