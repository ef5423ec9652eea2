"""The dispatcher: per-IP workers turning planned batches into opportunities.

Each source IP has a crew: its own nursery under its own cancel scope, running
``workers_per_ip`` worker tasks. Removing an IP (:meth:`Dispatcher.remove_ip`) cancels its
crew alone — requests in flight on it included — and adding one starts a crew without a
restart. A worker waits while the upstream is not
ready (the readiness gate: Jupiter restarting), leases its IP (waiting out a cooldown if
there is one), waits for the IP's pacer to let both legs of a batch leave (the learned
per-(IP, upstream) rate, :mod:`galileo.net`), takes the next batch from the shared planner —
so whichever IP is free takes the next batch, round-robin across IPs — quotes the buy leg,
then at once the sell leg for exactly what the buy returns, on the same lease, all under one
cancel scope with the batch deadline. Pacing happens before the deadline starts, so waiting
for a turn never counts as a timeout and the sell leg never waits behind other batches. The
pair is evaluated immediately and a profitable one is sent to the execution stage right away
(a trio memory channel), never at the end of a round.

Venue pairs (multi-leg): each batch is quoted on the next :class:`LegPair` in turn — the buy
leg on one provider, the sell leg on another. The lease is taken for the buy venue's lane;
each leg is paced, and its answer recorded, on its own venue's lane of the same IP.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter as Tally
from collections.abc import Callable, Sequence

import attrs
import trio
from prometheus_client import CollectorRegistry

from galileo.engine._evaluate import Evaluator
from galileo.engine._metrics import EngineMetrics
from galileo.model import (
    BatchOutcome,
    LeaseKind,
    LeaseResult,
    LegProvider,
    LegQuote,
    Malformed,
    NoRoute,
    Opportunity,
    QuoteBatch,
    QuoteError,
    RateLimited,
    ReadinessGate,
    Timeout,
)
from galileo.net import IpAllocator, IpLease, IpRemoved, ip_label
from galileo.obs import Recorder

_log = logging.getLogger("galileo.engine")

_ERROR_OUTCOMES: dict[type[QuoteError], BatchOutcome] = {
    NoRoute: BatchOutcome.NO_ROUTE,
    RateLimited: BatchOutcome.RATE_LIMITED,
    Timeout: BatchOutcome.TIMEOUT,
    Malformed: BatchOutcome.MALFORMED,
}


LEGS = 2
"""Requests per batch (buy, sell): paced together so the sell leaves right after the buy."""


@attrs.frozen
class LegPair:
    """Where each leg of a batch is quoted: ``buy`` (base → mint) and ``sell`` (back)."""

    buy: LegProvider
    sell: LegProvider

    @property
    def label(self) -> str:
        return f"{self.buy.provider.value}>{self.sell.provider.value}"

    @property
    def one_venue(self) -> bool:
        return self.buy.provider is self.sell.provider


class Dispatcher:
    """Runs the workers until cancelled. ``next_batch`` is the planner (e.g.
    ``BlindStrategy.next_batch``); ``opportunities`` receives every profitable pair;
    ``ready`` (optional) pauses the workers while the provider's upstream is not ready;
    ``pairs`` (optional): venue pairs taken in turn, batch by batch (default: ``provider`` for
    both legs)."""

    def __init__(
        self,
        *,
        allocator: IpAllocator,
        provider: LegProvider,
        next_batch: Callable[[], QuoteBatch],
        evaluator: Evaluator,
        opportunities: trio.MemorySendChannel[Opportunity],
        batch_deadline: float,
        request_timeout: float,
        max_quote_age: float,
        workers_per_ip: int,
        metrics: EngineMetrics | None = None,
        recorder: Recorder | None = None,
        ready: ReadinessGate | None = None,
        pairs: Sequence[LegPair] = (),
    ) -> None:
        self._allocator = allocator
        self._provider = provider
        self.pairs = tuple(pairs) or (LegPair(provider, provider),)
        self._next_pair = itertools.cycle(self.pairs).__next__
        self._ready = ready
        self._next_batch = next_batch
        self._evaluator = evaluator
        self._opportunities = opportunities
        self._batch_deadline = batch_deadline
        self._request_timeout = request_timeout
        self._max_age = max_quote_age
        self._workers_per_ip = workers_per_ip
        self._metrics = metrics if metrics is not None else EngineMetrics(CollectorRegistry())
        self._recorder = recorder if recorder is not None else Recorder()
        self.quotes = 0
        self.batches = 0
        self.opportunities = 0
        self.outcomes: Tally[str] = Tally()
        self.errors: Tally[str] = Tally()
        self._nursery: trio.Nursery | None = None
        self._crews: dict[str, trio.CancelScope] = {}

    @property
    def crews(self) -> list[str]:
        """The IPs whose crews are running."""
        return list(self._crews)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for ip in self._allocator.ips:
                self.add_ip(ip)
            task_status.started()
            try:
                await trio.sleep_forever()  # the crews come and go; this owns them
            finally:
                self._nursery = None

    def add_ip(self, ip: str) -> bool:
        """Start ``ip``'s crew (the allocator must lease on it). False: it runs already, or
        the dispatcher is not running."""
        if self._nursery is None or ip in self._crews:
            return False
        scope = trio.CancelScope()
        self._crews[ip] = scope
        self._nursery.start_soon(self._crew, ip, scope, name=f"ip-crew-{ip_label(ip)}")
        return True

    def remove_ip(self, ip: str) -> bool:
        """Cancel ``ip``'s crew: its workers and their requests in flight, no one else's.
        False: no crew runs on it."""
        scope = self._crews.pop(ip, None)
        if scope is None:
            return False
        scope.cancel()
        return True

    async def _crew(self, ip: str, scope: trio.CancelScope) -> None:
        with scope:
            async with trio.open_nursery() as crew:
                for _ in range(self._workers_per_ip):
                    crew.start_soon(self._worker, ip, name=f"quote-worker-{ip_label(ip)}")
        if self._crews.get(ip) is scope:  # ended on its own (the IP left the allocator)
            del self._crews[ip]

    async def _worker(self, ip: str) -> None:
        try:
            await self._work(ip)
        except IpRemoved:
            return  # the IP left the inventory; its crew is being cancelled

    async def _work(self, ip: str) -> None:
        ready = self._ready
        while True:
            if ready is not None and not ready.is_ready():
                await ready.wait_ready()
            pair = self._next_pair()
            async with self._allocator.acquire(
                LeaseKind.QUOTE, ip=ip, upstream=pair.buy.provider.value
            ) as lease:
                await self._pace(lease, pair)
                if ready is not None and not ready.is_ready():
                    self._refund(lease, pair, LEGS)  # it went down while we waited our turn
                    continue
                batch = self._next_batch()
                outcome = await self.run_batch(batch, lease, paced=True, pair=pair)
            self._count(outcome, pair)

    async def _pace(self, lease: IpLease, pair: LegPair) -> None:
        if pair.one_venue:
            await lease.pace(LEGS)  # both legs together: the sell leaves right after the buy
            return
        await lease.pace(1)
        await self._allocator.pace(lease.ip, pair.sell.provider.value, 1)

    def _refund(self, lease: IpLease, pair: LegPair, legs: int) -> None:
        """Give back the paced requests of the last ``legs`` legs that were not sent."""
        if pair.one_venue:
            lease.refund(legs)
            return
        self._allocator.refund(lease.ip, pair.sell.provider.value)
        if legs == LEGS:
            lease.refund()

    def _count(self, outcome: BatchOutcome, pair: LegPair | None = None) -> None:
        self.batches += 1
        self.outcomes[outcome.value] += 1
        self._metrics.outcomes.labels(outcome.value).inc()
        if pair is not None:
            self._metrics.pair_outcomes.labels(pair.label, outcome.value).inc()

    async def run_batch(
        self,
        batch: QuoteBatch,
        lease: IpLease,
        *,
        paced: bool = False,
        pair: LegPair | None = None,
    ) -> BatchOutcome:
        """Quote buy then sell on ``lease`` within the batch deadline, evaluate, and hand
        a profitable pair to the execution stage while it is still fresh. ``paced``: both
        legs were paced already; a sell leg that is not sent is given back. ``pair``: the
        venues of the legs (default: the dispatcher's provider for both)."""
        pair = pair or self.pairs[0]
        deadline = trio.current_time() + self._batch_deadline
        sell_sent = False
        with trio.move_on_at(deadline):
            try:
                buy = await self._leg(
                    lease, pair.buy, batch.base_mint, batch.mint, batch.size, "buy", deadline
                )
                sell_sent = True
                sell = await self._leg(
                    lease, pair.sell, batch.mint, batch.base_mint, buy.out_amount, "sell", deadline
                )
            except QuoteError as exc:
                self.errors[exc.kind.value] += 1
                if paced and not sell_sent:
                    self._refund(lease, pair, 1)
                return _ERROR_OUTCOMES.get(type(exc), BatchOutcome.QUOTE_ERROR)
            return await self._evaluate_and_send(batch, buy, sell, lease.ip)
        if paced and not sell_sent:
            self._refund(lease, pair, 1)
        self._mark(lease, (pair.sell if sell_sent else pair.buy), LeaseResult.TIMEOUT)
        return BatchOutcome.DEADLINE

    def _mark(
        self,
        lease: IpLease,
        provider: LegProvider,
        result: LeaseResult,
        retry_after: float | None = None,
    ) -> None:
        """Record a leg's result on its venue's lane of the lease's IP."""
        if provider.provider.value == lease.upstream:
            lease.mark(result, retry_after=retry_after)
        else:
            self._allocator.mark_result(
                lease.ip,
                result,
                task=LeaseKind.QUOTE,
                upstream=provider.provider.value,
                sent_at=lease.sent_at,
                retry_after=retry_after,
            )

    async def _leg(
        self,
        lease: IpLease,
        provider: LegProvider,
        input_mint: str,
        output_mint: str,
        amount: int,
        leg: str,
        deadline: float,
    ) -> LegQuote:
        leg_deadline = min(trio.current_time() + self._request_timeout, deadline)
        lease.sending()
        try:
            quote = await provider.quote_leg(
                ip=lease.ip,
                input_mint=input_mint,
                output_mint=output_mint,
                amount=amount,
                leg=leg,
                deadline=leg_deadline,
            )
        except QuoteError as exc:
            self._mark(lease, provider, exc.lease_result, exc.retry_after)
            raise
        self._mark(lease, provider, LeaseResult.SUCCESS)
        self.quotes += 1
        return quote

    async def _evaluate_and_send(
        self, batch: QuoteBatch, buy: LegQuote, sell: LegQuote, ip: str
    ) -> BatchOutcome:
        now = trio.current_time()
        try:
            with self._recorder.stage("evaluate"):
                result = self._evaluator.evaluate(batch, buy, sell, ip=ip, now=now)
        except ValueError as exc:  # amounts outside the kernel's range: not a real quote
            _log.warning(
                "quote amounts out of range",
                extra={"fields": {"batch": batch.batch_id, "mint": batch.mint, "error": str(exc)}},
            )
            return BatchOutcome.MALFORMED
        if isinstance(result, BatchOutcome):
            return result
        # Hand over at once; if the execution stage cannot take it before it goes stale,
        # it is worthless anyway.
        with trio.move_on_at(result.quoted_at + self._max_age):
            await self._opportunities.send(result)
            self.opportunities += 1
            # Debug: the same dislocation is found again on every sweep until it is traded;
            # what happens to an opportunity is logged (and traced) by the executor.
            _log.debug(
                "opportunity",
                extra={
                    "fields": {
                        "id": result.id,
                        "mint": result.mint,
                        "size": result.size,
                        "net_profit": result.net_profit,
                        "ip": ip_label(ip),
                    }
                },
            )
            return BatchOutcome.PROFITABLE
        return BatchOutcome.DROPPED
