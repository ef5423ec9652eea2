"""An executor wired to a simulated world, the way ``galileo run`` wires it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio
from prometheus_client import CollectorRegistry

from galileo._config import Config, LandersConfig, RiskConfig
from galileo.execution import ChainReader, Executor
from galileo.landers import Landers, LandingTracker
from galileo.ledger import AsyncLedger, Attempt, Ledger
from galileo.model import Opportunity
from galileo.net import HttpxClients, IpHashRing, JsonRpcClient
from galileo.obs import EventTrace
from galileo.risk import RiskGate
from galileo.sim import World
from tests.landers.lander_helpers import landers_config
from tests.ports import IPS


@attrs.define
class ExecRig:
    world: World
    executor: Executor
    ledger: AsyncLedger
    risk: RiskGate
    landers: Landers
    registry: CollectorRegistry
    trace_path: Path

    async def run(self, opportunities: Sequence[Opportunity]) -> None:
        """Feed ``opportunities``, close the channel and wait for the executor to drain."""
        send, receive = trio.open_memory_channel[Opportunity](len(opportunities) + 1)
        async with trio.open_nursery() as nursery:
            await nursery.start(self.executor.run, receive)
            async with send:
                for opportunity in opportunities:
                    await send.send(opportunity)

    async def attempts(self) -> list[Attempt]:
        return await self.ledger.call(self.ledger.ledger.attempts)


@asynccontextmanager
async def exec_rig(
    world: World,
    clients: HttpxClients,
    tmp_path: Path,
    *,
    builder: Any,
    landers: LandersConfig | None = None,
    risk: RiskConfig | None = None,
    ips: Sequence[str] = IPS,
) -> AsyncIterator[ExecRig]:
    config = attrs.evolve(
        Config(),
        landers=landers or landers_config(),
        risk=risk or RiskConfig(min_profit_lamports=0, max_inflight=4),
    )
    registry = CollectorRegistry()
    lander_set = Landers(
        config.landers,
        clients=clients,
        hashring=IpHashRing(list(ips)),
        registry=registry,
        jito_urls=[f"{world.jito_url}/ny", f"{world.jito_url}/tokyo"],
        rpc_urls=[world.rpc_url],
    )
    rpc = JsonRpcClient.on_ip(world.rpc_url, clients=clients)
    tracker = LandingTracker(config.landers, rpc=rpc, landers=lander_set, poll_interval_s=0.05)
    gate = RiskGate(config.risk)
    ledger = AsyncLedger(Ledger(tmp_path / "ledger.sqlite3", synchronous="normal"))
    trace_path = tmp_path / "trace.jsonl"
    with EventTrace(trace_path) as trace:
        executor = Executor(
            config,
            risk=gate,
            ledger=ledger,
            builder=builder,
            landers=lander_set,
            tracker=tracker,
            chain=ChainReader(rpc),
            registry=registry,
            trace=trace,
        )
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(tracker.run)
                yield ExecRig(world, executor, ledger, gate, lander_set, registry, trace_path)
                nursery.cancel_scope.cancel()
        finally:
            await ledger.aclose()
