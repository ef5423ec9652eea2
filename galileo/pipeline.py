"""The composition root: every shared part built once from a ``Config``, wired engine →
execution, and run as one task that drains before it returns.

Shared parts (one each per process): the IP allocator and its source IPs, the quote
transport and Jupiter client (quotes *and* swap instructions), the execution JSON-RPC
client, the tip floor, the ledger (opened by the caller), the landers. The engine and the
executor receive them; nothing below this module builds a shared part of its own, so there
is no construction order to get right and no part to take out of another.

Lifetime: :meth:`Pipeline.run` starts the background services (tip floor, blockhash
refresher, landing tracker), reads the wallet, then runs the executor and the engine until
:meth:`Pipeline.request_drain`; then the engine stops quoting, the executor finishes what it
holds, and the wallet is read again — so the ledger's PnL and the chain's balance change
describe the same transactions. :class:`galileo._app.App` owns the process lifecycle around it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import attrs
import trio

from galileo._config import Config
from galileo._errors import ConfigError
from galileo._secret import Secret
from galileo._solana import WSOL_MINT
from galileo._wallet_setup import prepare_for_run, unwrap_at_exit
from galileo.engine import LegPair, QuoteEngine
from galileo.execution import ChainReader, Executor, read_wallet_total
from galileo.landers import Landers, LandingTracker, TipFloor, tip_floor_url
from galileo.ledger import AsyncLedger
from galileo.model import LegProvider, Opportunity, Provider, ReadinessGate, RouteMode
from galileo.net import (
    HttpxClients,
    InventoryChange,
    IpAllocator,
    IpHashRing,
    IpInventory,
    JsonRpcClient,
    QuoteTransport,
    RpcError,
    RpcMetrics,
    TransportFaultCollector,
    ip_label,
    make_transport,
)
from galileo.obs import Observability
from galileo.providers import DflowClient, JupiterClient
from galileo.risk import RiskGate
from galileo.tx import (
    AltCache,
    BlockhashRefresher,
    TxBuilder,
    Wallet,
    WalletPrep,
)

_log = logging.getLogger("galileo.pipeline")

OPPORTUNITY_QUEUE = 16
"""Opportunities the engine may hand over before the executor takes them."""

BLOCKHASH_READY_TIMEOUT_S = 30.0
"""How long the first blockhash may take before the run fails."""

WALLET_READ_TIMEOUT_S = 10.0
"""How long a wallet read may retry (then the reading is unknown and the summary says so)."""

DRAIN_GRACE_S = 15.0
"""Added to ``landers.landing_timeout_s``: how long a drain waits for attempts in flight."""


@attrs.frozen(kw_only=True)
class Endpoints:
    """Where execution talks to: the configured URLs, or the simulated world's faces."""

    rpc_url: str
    """The primary execution RPC."""
    jito_urls: tuple[str, ...]
    wallet_path: str
    sim_jito_url: str | None = None
    rpc_fallbacks: tuple[str, ...] = ()
    """Execution RPCs tried after :attr:`rpc_url`, in order."""
    dflow_url: str = ""
    """DFlow's API: ``venues.dflow.url``, else the simulated world's DFlow face."""

    @property
    def rpc_urls(self) -> tuple[str, ...]:
        return (self.rpc_url, *self.rpc_fallbacks)

    @classmethod
    def resolve(
        cls,
        config: Config,
        *,
        sim_rpc_url: str | None = None,
        sim_jito_url: str | None = None,
        sim_dflow_url: str | None = None,
        sim_wallet_path: str | None = None,
    ) -> Endpoints:
        """The configured endpoints; against the simulated world its faces fill what the
        configuration leaves empty."""
        configured = [config.execution.rpc_url.reveal()] + [
            url.reveal() for url in config.execution.rpc_urls
        ]
        rpc_urls = list(dict.fromkeys(url for url in configured if url)) or [sim_rpc_url or ""]
        jito_urls = (sim_jito_url,) if sim_jito_url else ()
        wallet_path = config.wallet.keypair_path or (sim_wallet_path or "")
        return cls(
            rpc_url=rpc_urls[0],
            rpc_fallbacks=tuple(rpc_urls[1:]),
            jito_urls=jito_urls,
            wallet_path=wallet_path,
            sim_jito_url=sim_jito_url,
            dflow_url=config.venues.dflow.url or (sim_dflow_url or ""),
        )


@attrs.define(eq=False)
class Pipeline:
    """Every part of one trading pipeline, built once by :meth:`build`."""

    config: Config
    ips: tuple[str, ...]
    inventory: IpInventory
    allocator: IpAllocator
    transport: QuoteTransport
    jupiter: JupiterClient
    rpc: JsonRpcClient
    tip_floor: TipFloor | None
    wallet: Wallet
    blockhashes: BlockhashRefresher
    builder: TxBuilder
    landers: Landers
    tracker: LandingTracker
    executor: Executor
    engine: QuoteEngine
    _opportunities: trio.MemoryReceiveChannel[Opportunity]
    hosted_venues: list[DflowClient] = attrs.field(factory=list)
    """Hosted venues' clients (multi-leg): closed when the pipeline ends."""
    _drain: trio.Event = attrs.field(factory=trio.Event)
    wallet_start: int | None = None
    wallet_end: int | None = None
    wallet_prep: WalletPrep | None = None

    @classmethod
    def build(
        cls,
        config: Config,
        endpoints: Endpoints,
        *,
        jupiter_url: str,
        obs: Observability,
        risk: RiskGate,
        ledger: AsyncLedger,
        clients: HttpxClients,
        inventory: IpInventory | None = None,
        jupiter_ready: ReadinessGate | None = None,
        run_id: str = "",
        wallet: Wallet | None = None,
    ) -> Pipeline:
        """Build the shared parts, then the engine and the execution stack over them.
        ``inventory`` replaces source-IP discovery (tests); ``jupiter_ready`` (the Jupiter
        supervisor, when galileo runs Jupiter itself) pauses quoting while Jupiter restarts;
        ``run_id`` prefixes every opportunity id, so ids never repeat across runs that share
        one ledger; ``wallet``: already unlocked (a keystore opened before the run), else
        loaded from ``endpoints.wallet_path``."""
        network, execution = config.network, config.execution
        registry, recorder = obs.registry, obs.recorder
        inventory = inventory or IpInventory(
            network, allow_loopback=True if config.sim.enabled else None, registry=registry
        )
        ips = tuple(inventory.ips)
        allocator = IpAllocator.for_network(network, ips, registry=registry)
        transport = make_transport(
            network.transport,
            jupiter_url,
            connect_timeout=network.connect_timeout_ms / 1000,
            max_connections_per_ip=network.max_inflight_per_ip,
        )
        registry.register(TransportFaultCollector(transport.faults))
        jupiter = JupiterClient.for_config(config, transport, registry=registry, recorder=recorder)
        venues = _venues(config, endpoints, jupiter, obs)
        pairs = [
            LegPair(venues[Provider(pair.buy)], venues[Provider(pair.sell)])
            for pair in config.strategy.multi_leg.pairs
        ]
        rpc = JsonRpcClient.leased(
            Secret(endpoints.rpc_url),
            clients=clients,
            leases=allocator,
            fallbacks=[Secret(url) for url in endpoints.rpc_fallbacks],
            metrics=RpcMetrics(registry),
        )
        tip = execution.tip
        tip_floor = (
            TipFloor(
                tip_floor_url(tip.floor_url.reveal(), endpoints.sim_jito_url),
                clients=clients,
                percentile=tip.floor_percentile,
                interval_s=tip.floor_refresh_s,
            )
            if tip.policy == "floor"
            else None
        )
        wallet = wallet or Wallet.load(
            attrs.evolve(config.wallet, keypair_path=endpoints.wallet_path)
        )
        slot_time_s = config.sim.slot_ms / 1000 if config.sim.enabled else 0.4
        blockhashes = BlockhashRefresher(
            rpc,
            interval_s=execution.blockhash_refresh_ms / 1000,
            slot_time_s=slot_time_s,
            min_remaining_blocks=execution.blockhash_min_remaining_blocks,
            max_age_s=execution.blockhash_max_age_ms / 1000,
            recorder=recorder,
        )
        builder = TxBuilder(
            execution,
            wallet=wallet,
            provider=jupiter,
            blockhashes=blockhashes,
            alts=AltCache(rpc),
            recorder=recorder,
            registry=registry,
            route_mode=RouteMode(execution.route_mode),
            leases=allocator,
            venues=[venue for venue in venues.values() if venue is not jupiter],
        )
        landers = Landers(
            config.landers,
            clients=clients,
            hashring=IpHashRing(list(ips)),
            leases=allocator,
            registry=registry,
            recorder=recorder,
            jito_urls=endpoints.jito_urls,
            rpc_urls=[Secret(url) for url in endpoints.rpc_urls],
        )
        tracker = LandingTracker(
            config.landers,
            rpc=rpc,
            landers=landers,
            registry=registry,
            recorder=recorder,
            poll_interval_s=slot_time_s,
        )
        executor = Executor(
            config,
            risk=risk,
            ledger=ledger,
            builder=builder,
            landers=landers,
            tracker=tracker,
            chain=ChainReader(rpc),
            registry=registry,
            recorder=recorder,
            trace=obs.trace,
        )
        send, receive = trio.open_memory_channel[Opportunity](OPPORTUNITY_QUEUE)
        engine = QuoteEngine(
            config,
            allocator=allocator,
            client=jupiter,
            opportunities=send,
            registry=registry,
            recorder=recorder,
            tip_floor_lamports=tip_floor.lamports if tip_floor is not None else None,
            run_id=run_id,
            ready=jupiter_ready,
            pairs=pairs,
        )
        return cls(
            config=config,
            ips=ips,
            inventory=inventory,
            allocator=allocator,
            transport=transport,
            jupiter=jupiter,
            rpc=rpc,
            tip_floor=tip_floor,
            wallet=wallet,
            blockhashes=blockhashes,
            builder=builder,
            landers=landers,
            tracker=tracker,
            executor=executor,
            engine=engine,
            opportunities=receive,
            hosted_venues=[venue for venue in venues.values() if isinstance(venue, DflowClient)],
        )

    # -- running -------------------------------------------------------------------------------

    def request_drain(self) -> None:
        """Stop quoting, take no new opportunity, let the attempts in flight finish."""
        self._drain.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Services, the opening wallet read, then executor and engine until
        :meth:`request_drain`; returns after the drain and the closing wallet read."""
        try:
            async with trio.open_nursery() as services:
                if self.tip_floor is not None:
                    await services.start(self.tip_floor.run)
                with trio.fail_after(BLOCKHASH_READY_TIMEOUT_S):
                    await services.start(self.blockhashes.run)
                await services.start(self.tracker.run)
                if self.config.risk.min_sol_balance_lamports:
                    services.start_soon(self._watch_sol_balance)
                await services.start(
                    functools.partial(self.inventory.run, on_change=self.apply_inventory_change)
                )
                # What an earlier process left in flight is finished before this one trades.
                await self.executor.reconcile(
                    chain_is_new=self._chain_is_new(), slot_time_s=self.tracker.poll_interval_s
                )
                # Token accounts and wrapped SOL in place before the opening read, so the
                # run's wallet delta holds its trades only.
                self.wallet_prep = await prepare_for_run(
                    self.config,
                    self.rpc,
                    self.wallet,
                    tokens=self.jupiter,
                    ip=self.allocator.ips[0],
                    dry_run=self.executor.risk.dry_run,
                )
                self.wallet_start = await self.wallet_total()
                await self._trade(task_status)
                with trio.move_on_after(WALLET_READ_TIMEOUT_S):
                    self.wallet_end = await self.wallet_total()
                await unwrap_at_exit(
                    self.config, self.rpc, self.wallet, dry_run=self.executor.risk.dry_run
                )
                services.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await self.transport.aclose()
                for venue in self.hosted_venues:
                    await venue.aclose()

    async def _trade(self, task_status: trio.TaskStatus[None]) -> None:
        engine_scope = trio.CancelScope()

        async def run_engine(*, task_status: trio.TaskStatus[None]) -> None:
            with engine_scope:
                await self.engine.run(task_status=task_status)

        async with trio.open_nursery() as trading:
            await trading.start(self.executor.run, self._opportunities)
            await trading.start(run_engine)
            task_status.started()
            await self._drain.wait()
            engine_scope.cancel()
            self.executor.stop_intake()
            timeout = self.config.landers.landing_timeout_s + DRAIN_GRACE_S
            with trio.move_on_after(timeout) as drain:
                await self.executor.drained.wait()
            if drain.cancelled_caught:
                _log.warning(
                    "drain timed out",
                    extra={"fields": {"stats": self.executor.stats().as_dict()}},
                )
            trading.cancel_scope.cancel()

    async def _watch_sol_balance(self) -> None:
        """Feed the risk gate's balance floor: the wallet's SOL every ``balance_check_s``. A
        read that fails leaves the last known balance (and is logged)."""
        risk = self.executor.risk
        owner = self.wallet.pubkey_str
        while True:
            try:
                answer = await self.rpc.call("getBalance", [owner, {"commitment": "confirmed"}])
                risk.observe_sol_balance(int(answer["value"]))
            except (RpcError, KeyError, TypeError, ValueError) as exc:
                _log.warning("sol balance unreadable", extra={"fields": {"error": str(exc)}})
            await trio.sleep(self.config.risk.balance_check_s)

    async def apply_inventory_change(self, change: InventoryChange) -> None:
        """An IP the inventory found starts its own quote crew and lander lanes; an IP that
        left is drained and cancelled alone — its crew, its sends in flight — while the
        others keep their rate. The last IP is never removed (the bot keeps what it has)."""
        for ip in change.added:
            self.engine.add_ip(ip)
            self.landers.add_ip(ip)
        for ip in change.removed:
            try:
                self.engine.remove_ip(ip)
            except ValueError:
                _log.warning(
                    "last source ip left the inventory; kept",
                    extra={"fields": {"local_ip": ip_label(ip)}},
                )
                continue
            self.landers.remove_ip(ip)
        _log.info(
            "source ips changed",
            extra={
                "fields": {
                    "added": [ip_label(ip) for ip in change.added],
                    "removed": [ip_label(ip) for ip in change.removed],
                    "ips": [ip_label(ip) for ip in self.allocator.ips],
                }
            },
        )

    async def wallet_total(self, base_mint: str = WSOL_MINT) -> int | None:
        """SOL lamports plus the base-token balance of the wallet, read from the chain
        (retried); ``None`` when it could not be read — unknown, never zero.

        The difference of two readings is the run's ``wallet_delta_lamports``; with a
        wrapped-SOL base both terms are lamports.
        """
        return await read_wallet_total(
            self.rpc, self.wallet.pubkey_str, base_mint, deadline_s=WALLET_READ_TIMEOUT_S
        )

    def _chain_is_new(self) -> bool:
        """The execution RPC is the embedded simulated world's: its chain lives in this
        process's memory, so nothing an earlier process sent can be on it."""
        execution = self.config.execution
        return self.config.sim.enabled and not (execution.rpc_url.reveal() or execution.rpc_urls)


def _venues(
    config: Config, endpoints: Endpoints, jupiter: JupiterClient, obs: Observability
) -> dict[Provider, LegProvider]:
    """Every venue a configured pair uses, by provider (Jupiter always)."""
    venues: dict[Provider, LegProvider] = {Provider.JUPITER: jupiter}
    used = {name for pair in config.strategy.multi_leg.pairs for name in (pair.buy, pair.sell)}
    if "dflow" in used:
        if not endpoints.dflow_url:
            raise ConfigError("venues.dflow.url", "required for a dflow pair without the sim")
        venues[Provider.DFLOW] = DflowClient.for_url(
            endpoints.dflow_url,
            network_config=config.network,
            registry=obs.registry,
            recorder=obs.recorder,
            api_key=config.venues.dflow.api_key or None,
        )
    return venues


def with_sim_source_ips(config: Config, source_ips: Sequence[str]) -> Config:
    """Against the simulated world, spread requests over its loopback source IPs unless the
    operator chose IPs themselves."""
    if not config.sim.enabled or config.network.manual_ips or not source_ips:
        return config
    network = attrs.evolve(config.network, enable_multiple_ip=True, manual_ips=list(source_ips))
    return attrs.evolve(config, network=network)
