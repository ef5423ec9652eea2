"""QuoteEngine: the quote path.

allocator (leases, pacing, cooldowns) → leg provider (the Jupiter client) → blind strategy
(batches) → dispatcher (per-IP workers) → evaluator (profit kernel) → the ``opportunities``
channel the execution stage reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import trio
from prometheus_client import CollectorRegistry

from galileo._config import Config
from galileo.engine._dispatcher import Dispatcher, LegPair
from galileo.engine._evaluate import Evaluator
from galileo.engine._metrics import EngineMetrics
from galileo.engine._models import EngineStats
from galileo.model import Opportunity, QuoteError, ReadinessGate
from galileo.net import (
    IpAllocator,
    IpInventory,
    QuoteTransport,
    make_transport,
)
from galileo.obs import Recorder
from galileo.providers import JupiterClient
from galileo.strategy import BlindStrategy, needs_token_list, plans_summary

_log = logging.getLogger("galileo.engine")


class QuoteEngine:
    """Quotes continuously and sends each profitable pair to ``opportunities`` at once.

    ``run()`` starts everything in its own nursery, signals ``task_status.started()`` once
    the workers are running, and runs until cancelled (closing ``opportunities`` on exit).
    ``stats()`` is safe to call any time.

    The engine quotes through ``client`` on leases from ``allocator``; it owns neither (the
    composition root, :mod:`galileo.pipeline`, shares them with execution and closes them).
    :meth:`from_config` builds a stand-alone engine that owns its parts (tests, notebooks).
    ``ready`` (optional, e.g. the Jupiter supervisor): quoting pauses while it is not ready
    and resumes when it is, instead of knocking on a closed port. ``pairs`` (multi-leg): the
    venue pairs batches are quoted on, in turn (default: ``client`` for both legs).
    """

    def __init__(
        self,
        config: Config,
        *,
        allocator: IpAllocator,
        client: JupiterClient,
        opportunities: trio.MemorySendChannel[Opportunity],
        registry: CollectorRegistry | None = None,
        recorder: Recorder | None = None,
        tip_floor_lamports: Callable[[], int] | None = None,
        compute_unit_limit: int | None = None,
        run_id: str = "",
        owned_transport: QuoteTransport | None = None,
        ready: ReadinessGate | None = None,
        pairs: Sequence[LegPair] = (),
    ) -> None:
        self._config = config
        self._pairs = tuple(pairs)
        self._ready = ready
        self._recorder = recorder if recorder is not None else Recorder()
        self._opportunities = opportunities
        self.allocator = allocator
        self.client = client
        self._owned_transport = owned_transport
        self._metrics = EngineMetrics(registry if registry is not None else CollectorRegistry())
        strategy = config.strategy
        self._evaluator = Evaluator(
            config.execution,
            max_quote_age=strategy.max_quote_age_ms / 1000,
            compute_unit_limit=(
                config.execution.compute_unit_limit_estimate
                if compute_unit_limit is None
                else compute_unit_limit
            ),
            tip_floor_lamports=tip_floor_lamports,
            run_id=run_id,
        )
        self.strategy: BlindStrategy | None = None
        self.dispatcher: Dispatcher | None = None
        self._started_at: float | None = None
        self._last_sample: tuple[float, int] | None = None

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        jupiter_url: str,
        opportunities: trio.MemorySendChannel[Opportunity],
        registry: CollectorRegistry | None = None,
        recorder: Recorder | None = None,
        inventory: IpInventory | None = None,
        transport: QuoteTransport | None = None,
        ready: ReadinessGate | None = None,
    ) -> QuoteEngine:
        """A stand-alone engine: its own IP inventory (``inventory`` replaces discovery;
        loopback allowed against the simulated world), allocator and Jupiter client over
        ``transport`` (default: ``network.transport`` to ``jupiter_url``), closed when
        ``run`` ends."""
        registry = registry if registry is not None else CollectorRegistry()
        network = config.network
        inventory = inventory or IpInventory(
            network, allow_loopback=True if config.sim.enabled else None
        )
        transport = transport or make_transport(
            network.transport,
            jupiter_url,
            connect_timeout=network.connect_timeout_ms / 1000,
            max_connections_per_ip=network.max_inflight_per_ip,
        )
        return cls(
            config,
            allocator=IpAllocator.for_network(network, inventory.ips, registry=registry),
            client=JupiterClient.for_config(
                config, transport, registry=registry, recorder=recorder
            ),
            opportunities=opportunities,
            registry=registry,
            recorder=recorder,
            owned_transport=transport,
            ready=ready,
        )

    async def _resolve_strategy(self) -> BlindStrategy:
        blind = self._config.strategy.blind
        available: list[str] = []
        if needs_token_list(blind):
            # A base mint without intermediate mints quotes every token the API routes.
            deadline = trio.current_time() + self._config.network.request_timeout_ms / 1000
            try:
                available = await self.client.tokens(ip=self.allocator.ips[0], deadline=deadline)
            except QuoteError as exc:
                _log.warning("token list unavailable", extra={"fields": {"error": str(exc)}})
        strategy = BlindStrategy.from_config(
            blind,
            default_min_profit_lamports=self._config.risk.min_profit_lamports,
            available_mints=available,
            seed=self._config.sim.seed,
        )
        _log.info("strategy planned", extra={"fields": {"plans": plans_summary(strategy.plans)}})
        return strategy

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with self._opportunities:
                self.strategy = await self._resolve_strategy()
                strategy = self._config.strategy
                network = self._config.network
                self.dispatcher = Dispatcher(
                    allocator=self.allocator,
                    provider=self.client,
                    next_batch=self.strategy.next_batch,
                    evaluator=self._evaluator,
                    opportunities=self._opportunities,
                    batch_deadline=strategy.batch_deadline_ms / 1000,
                    request_timeout=network.request_timeout_ms / 1000,
                    max_quote_age=strategy.max_quote_age_ms / 1000,
                    workers_per_ip=network.workers_per_ip
                    or max(1, network.max_inflight_per_ip - self.allocator.urgent_reserve),
                    metrics=self._metrics,
                    recorder=self._recorder,
                    ready=self._ready,
                    pairs=self._pairs,
                )
                self._started_at = trio.current_time()
                _log.info(
                    "quote engine started",
                    extra={
                        "fields": {
                            "ips": [ip or "default" for ip in self.allocator.ips],
                            "transport": self._config.network.transport,
                        }
                    },
                )
                async with trio.open_nursery() as nursery:
                    await nursery.start(self.dispatcher.run)
                    task_status.started()
        finally:
            if self._owned_transport is not None:
                with trio.CancelScope(shield=True):
                    await self._owned_transport.aclose()

    def add_ip(self, ip: str) -> None:
        """Lease and quote from ``ip`` too: the allocator takes it in and, once the engine
        runs, its own crew of workers starts — no restart."""
        self.allocator.add_ip(ip)
        if self.dispatcher is not None:
            self.dispatcher.add_ip(ip)

    def remove_ip(self, ip: str) -> None:
        """Stop using ``ip``: nothing new is leased on it, and its crew — its workers and
        their requests in flight — is cancelled alone. ``ValueError`` for the last IP."""
        self.allocator.remove_ip(ip)
        if self.dispatcher is not None:
            self.dispatcher.remove_ip(ip)

    def stats(self) -> EngineStats:
        """Totals, quote rates (overall and since the previous ``stats()`` call), per-IP
        states."""
        dispatcher = self.dispatcher
        now = trio.current_time()
        quotes = dispatcher.quotes if dispatcher else 0
        running = now - self._started_at if self._started_at is not None else 0.0
        recent = 0.0
        if self._last_sample is not None and now > self._last_sample[0]:
            recent = (quotes - self._last_sample[1]) / (now - self._last_sample[0])
        elif running > 0:
            recent = quotes / running
        self._last_sample = (now, quotes)
        return EngineStats(
            running_for=running,
            quotes=quotes,
            quotes_per_second=quotes / running if running > 0 else 0.0,
            recent_quotes_per_second=recent,
            batches=dispatcher.batches if dispatcher else 0,
            opportunities=dispatcher.opportunities if dispatcher else 0,
            outcomes=dict(dispatcher.outcomes) if dispatcher else {},
            errors=dict(dispatcher.errors) if dispatcher else {},
            ips=EngineStats.ip_stats(self.allocator.snapshot()),
        )
