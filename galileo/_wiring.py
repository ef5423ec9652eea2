"""Construction of the execution stack from a ``Config`` (no lifetime here: ``_app`` runs it).

Keeping the "which object gets which URL, IP and recorder" decisions in one place makes the
App read as a lifecycle, and lets tests build the same stack the daemon runs.
"""

from __future__ import annotations

import attrs
from prometheus_client import CollectorRegistry

from galileo._config import Config
from galileo._solana import WSOL_MINT
from galileo.engine import QuoteEngine
from galileo.execution import ChainReader, Executor
from galileo.landers import Landers, LandingTracker
from galileo.ledger import AsyncLedger
from galileo.model import RouteMode
from galileo.net import HttpxClients, IpHashRing, JsonRpcClient, RpcError
from galileo.obs import EventTrace, Recorder
from galileo.risk import RiskGate
from galileo.tx import AltCache, BlockhashRefresher, TxBuilder, Wallet, associated_token_address


@attrs.frozen(kw_only=True)
class Endpoints:
    """Where execution talks to: from the config, or the simulated world's faces."""

    rpc_url: str
    jito_urls: tuple[str, ...]
    wallet_path: str


@attrs.define
class ExecutionStack:
    """Everything between an opportunity and a reconciled ledger row."""

    rpc: JsonRpcClient
    wallet: Wallet
    blockhashes: BlockhashRefresher
    builder: TxBuilder
    landers: Landers
    tracker: LandingTracker
    executor: Executor

    async def wallet_total(self, base_mint: str = WSOL_MINT) -> int:
        """SOL lamports plus the base-token balance of the wallet, read from the chain.

        The difference of two readings is the run's ``wallet_delta_lamports``; with a
        wrapped-SOL base both terms are lamports.
        """
        owner = self.wallet.pubkey_str
        lamports = await self.rpc.call("getBalance", [owner, {"commitment": "confirmed"}])
        ata = str(associated_token_address(owner, base_mint))
        try:
            token = await self.rpc.call(
                "getTokenAccountBalance", [ata, {"commitment": "confirmed"}]
            )
        except RpcError:  # no token account yet: nothing held
            token = {"value": {"amount": "0"}}
        return int(lamports["value"]) + int(token["value"]["amount"])


def build_execution(
    config: Config,
    endpoints: Endpoints,
    *,
    engine: QuoteEngine,
    clients: HttpxClients,
    risk: RiskGate,
    ledger: AsyncLedger,
    registry: CollectorRegistry,
    recorder: Recorder,
    trace: EventTrace,
) -> ExecutionStack:
    """The execution stack for ``config``, sharing the engine's Jupiter client and IPs."""
    execution = config.execution
    rpc = JsonRpcClient.on_ip(endpoints.rpc_url, clients=clients)
    wallet = Wallet.load(
        endpoints.wallet_path, allow_insecure=config.wallet.allow_insecure_permissions
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
        provider=engine.client,
        blockhashes=blockhashes,
        alts=AltCache(rpc),
        recorder=recorder,
        registry=registry,
        route_mode=RouteMode(execution.route_mode),
    )
    ips = list(engine.inventory.ips)
    landers = Landers(
        config.landers,
        clients=clients,
        hashring=IpHashRing(ips),
        registry=registry,
        recorder=recorder,
        jito_urls=endpoints.jito_urls,
        rpc_urls=[endpoints.rpc_url],
        healthy=engine.allocator.healthy,
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
        trace=trace,
    )
    return ExecutionStack(
        rpc=rpc,
        wallet=wallet,
        blockhashes=blockhashes,
        builder=builder,
        landers=landers,
        tracker=tracker,
        executor=executor,
    )
