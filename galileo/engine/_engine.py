"""QuoteEngine: the quote path wired from the configuration.

inventory (source IPs) → allocator (leases, cooldowns) → transport (fast | httpx) →
JupiterClient → blind strategy (batches) → dispatcher (per-IP workers) → evaluator (profit
kernel) → the ``opportunities`` channel the execution stage reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio
from prometheus_client import CollectorRegistry

from galileo._config import Config
from galileo.engine._dispatcher import Dispatcher
from galileo.engine._evaluate import Evaluator
from galileo.engine._metrics import EngineMetrics
from galileo.engine._models import EngineStats
from galileo.model import Opportunity, QuoteError
from galileo.net import (
    CooldownPolicy,
    IpAllocator,
    IpInventory,
    NetMetrics,
    QuoteTransport,
    make_transport,
)
from galileo.obs import Recorder
from galileo.providers import JupiterClient, QuoteMetrics, QuoteOptions
from galileo.strategy import BlindStrategy, needs_token_list, plans_summary

_log = logging.getLogger("galileo.engine")


class QuoteEngine:
    """Quotes continuously and sends each profitable pair to ``opportunities`` at once.

    ``run()`` starts everything in its own nursery, signals ``task_status.started()`` once
    the workers are running, and runs until cancelled (closing ``opportunities`` on exit).
    ``stats()`` is safe to call any time.

    Test seams: ``inventory`` replaces IP discovery, ``transport`` replaces the HTTP client,
    ``allow_loopback`` is passed to the inventory (the app sets it when running against the
    simulated world).
    """

    def __init__(
        self,
        config: Config,
        *,
        jupiter_url: str,
        registry: CollectorRegistry,
        recorder: Recorder | None = None,
        opportunities: trio.MemorySendChannel[Opportunity],
        inventory: IpInventory | None = None,
        transport: QuoteTransport | None = None,
        allow_loopback: bool | None = None,
        tip_floor_lamports: Callable[[], int] | None = None,
        compute_unit_limit: int | None = None,
        run_id: str = "",
    ) -> None:
        self._config = config
        self._jupiter_url = jupiter_url
        self._recorder = recorder if recorder is not None else Recorder()
        self._opportunities = opportunities
        network = config.network
        if allow_loopback is None and config.sim.enabled:
            allow_loopback = True
        self.inventory = inventory or IpInventory.from_config(
            network, allow_loopback=allow_loopback
        )
        self.allocator = IpAllocator(
            self.inventory.ips,
            max_inflight_per_ip=network.max_inflight_per_ip,
            cooldown=CooldownPolicy.from_config(network),
            metrics=NetMetrics(registry),
        )
        self.transport = transport or make_transport(
            network.transport,
            jupiter_url,
            connect_timeout=network.connect_timeout_ms / 1000,
            max_connections_per_ip=network.max_inflight_per_ip,
        )
        blind = config.strategy.blind
        self.client = JupiterClient(
            self.transport,
            metrics=QuoteMetrics(registry),
            recorder=recorder,
            options=QuoteOptions(
                slippage_bps=blind.slippage_bps,
                max_accounts=blind.max_accounts,
                only_direct_routes=blind.only_direct_routes,
                restrict_intermediate_tokens=blind.restrict_intermediate_tokens,
                dexes=tuple(blind.dexes),
                exclude_dexes=tuple(blind.exclude_dexes),
            ),
            default_timeout=network.request_timeout_ms / 1000,
        )
        self._metrics = EngineMetrics(registry)
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

    async def _resolve_strategy(self) -> BlindStrategy:
        blind = self._config.strategy.blind
        available: list[str] = []
        if needs_token_list(blind):
            # A base mint without intermediate mints quotes every token the API routes.
            deadline = trio.current_time() + self._config.network.request_timeout_ms / 1000
            try:
                available = await self.client.tokens(ip=self.inventory.ips[0], deadline=deadline)
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
                    workers_per_ip=network.workers_per_ip or network.max_inflight_per_ip,
                    metrics=self._metrics,
                    recorder=self._recorder,
                )
                self._started_at = trio.current_time()
                _log.info(
                    "quote engine started",
                    extra={
                        "fields": {
                            "ips": [ip or "default" for ip in self.inventory.ips],
                            "transport": self._config.network.transport,
                            "jupiter_url": self._jupiter_url,
                        }
                    },
                )
                async with trio.open_nursery() as nursery:
                    await nursery.start(self.dispatcher.run)
                    task_status.started()
        finally:
            with trio.CancelScope(shield=True):
                await self.transport.aclose()

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
