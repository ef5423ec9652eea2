"""The executor with the real transaction builder (galileo.tx) and the real Jupiter client
against the simulated world: opportunities evaluated like the engine does, built, sent to
Jito and RPC, landed, and reconciled — the ledger's PnL equals the wallet's change exactly."""

from __future__ import annotations

import random
from pathlib import Path

import attrs
import pytest
import trio

from galileo._config import ExecutionConfig, RiskConfig, RpcLanderConfig
from galileo.model import AttemptStatus, Opportunity
from galileo.net import FastTransport, HttpxClients, JsonRpcClient
from galileo.providers import JupiterClient
from galileo.sim import WSOL_MINT, World
from galileo.tx import AltCache, BlockhashRefresher, TxBuilder, Wallet
from tests.execution.exec_helpers import exec_rig
from tests.landers.lander_helpers import landers_config
from tests.worlds import opportunity, quiet_world


async def evaluated(
    jupiter: JupiterClient, config: ExecutionConfig, mint: str, batch_id: int
) -> Opportunity:
    found = await opportunity(jupiter, config, mint, batch_id=batch_id)
    assert isinstance(found, Opportunity), found
    return found


async def opportunities(
    world: World, jupiter: JupiterClient, config: ExecutionConfig
) -> list[Opportunity]:
    found = []
    for batch_id, mint in enumerate([m for m in world.market.tokens if m != WSOL_MINT][:3]):
        world.dislocate(world.pool(mint, "Raydium"), 300)
        found.append(await evaluated(jupiter, config, mint, batch_id))
    return found


@pytest.mark.parametrize("seed", [7, 31])
async def test_real_builder_lands_and_the_ledger_pnl_equals_the_wallet_delta(
    seed: int, tmp_path: Path, clients: HttpxClients
) -> None:
    config = ExecutionConfig(compute_unit_price_micro_lamports=1000)
    async with quiet_world(tmp_path, seed=seed, slot_ms=20, state_dir=str(tmp_path)) as world:
        rpc = JsonRpcClient(world.rpc_url)
        transport = FastTransport(world.jupiter_url)
        try:
            blockhashes = BlockhashRefresher(rpc, interval_s=0.05, slot_time_s=0.02)
            assert await blockhashes.refresh_once()
            jupiter = JupiterClient(transport)
            builder = TxBuilder(
                config,
                wallet=Wallet.load(world.wallet_path),
                provider=jupiter,
                blockhashes=blockhashes,
                alts=AltCache(rpc),
                rng=random.Random(seed),
            )
            landers = attrs.evolve(
                landers_config(), rpc=RpcLanderConfig(enabled=True, endpoints=[])
            )
            async with (
                trio.open_nursery() as nursery,
                exec_rig(
                    world,
                    clients,
                    tmp_path,
                    builder=builder,
                    landers=landers,
                    risk=RiskConfig(min_profit_lamports=0, max_inflight=8),
                ) as rig,
            ):
                await nursery.start(blockhashes.run)
                found = await opportunities(world, jupiter, config)
                before = world.balances()
                await rig.run(found)
                after = world.balances()
                attempts = await rig.attempts()
                stats = rig.executor.stats()
                nursery.cancel_scope.cancel()
        finally:
            await transport.aclose()
            await rpc.aclose()
    assert stats.landed >= 1, (stats, attempts)
    assert all(a.status.terminal for a in attempts)
    assert {a.status for a in attempts} <= {AttemptStatus.LANDED, AttemptStatus.FAILED}
    pnl = sum(a.realised_lamports or 0 for a in attempts)
    assert pnl == after.total_sol - before.total_sol
    assert pnl == stats.pnl_lamports
