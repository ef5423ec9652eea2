"""Startup reconciliation against the simulated world: what a killed process left in flight is
finished from the chain — landed and failed sends with their exact balance change, sends that
can no longer land as expired with nothing realised — and the ledger then equals the chain."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from galileo._config import SimFaultsConfig
from galileo.execution import ChainReader
from galileo.execution._reconcile import Reconciler
from galileo.ledger import AsyncLedger, Ledger
from galileo.model import AttemptStatus, BuiltTx, Opportunity
from galileo.net import HttpxClients, JsonRpcClient, RpcError
from galileo.sim import WSOL_MINT, World
from tests.execution.exec_helpers import exec_rig
from tests.landers.lander_helpers import ArbBuilder, opportunity
from tests.worlds import quiet_world

SLOT_S = 0.02


async def dislocated(world: World, count: int) -> list[Opportunity]:
    found = []
    for mint in [m for m in world.market.tokens if m != WSOL_MINT][:count]:
        world.dislocate(world.pool(mint, "Raydium"), 300)
        found.append(await opportunity(world, mint))
    return found


async def left_in_flight(ledger: AsyncLedger, opp: Opportunity, built: BuiltTx) -> None:
    """What the executor has written once ``ledger.sending`` returned, just before the send."""
    assert await ledger.plan(
        opp.id,
        base_mint=opp.base_mint,
        intermediate_mint=opp.mint,
        size=opp.size,
        expected_profit=opp.net_profit,
    )
    await ledger.sending(
        opp.id,
        signature=built.signature,
        tip=built.tip_lamports,
        base_fee=built.base_fee_lamports,
        priority_fee=built.priority_fee_lamports,
        last_valid_block_height=built.last_valid_block_height,
    )


async def send(rpc: JsonRpcClient, built: BuiltTx) -> None:
    """``sendTransaction`` (skipPreflight), retried through injected server errors."""
    params = [built.base64, {"encoding": "base64", "skipPreflight": True}]
    for _ in range(50):
        try:
            await rpc.call("sendTransaction", params)
        except RpcError:
            continue
        return
    raise AssertionError("the RPC never took the transaction")


@pytest.mark.parametrize("error_5xx_rate", [0.0, 0.3], ids=["clean", "rpc-5xx"])
async def test_orphans_are_finished_from_the_chain_and_the_ledger_equals_the_wallet_delta(
    tmp_path: Path, clients: HttpxClients, error_5xx_rate: float
) -> None:
    async with quiet_world(tmp_path, slot_ms=int(SLOT_S * 1000)) as world:
        lands, fails, never_sent = await dislocated(world, 3)
        builder = ArbBuilder(world, fail_ids={fails.id})
        async with exec_rig(world, clients, tmp_path, builder=builder) as rig:
            rpc = JsonRpcClient.on_ip(world.rpc_url, clients=clients)
            before = world.balances()
            # The killed process: three sends recorded, two of them made; one attempt only
            # planned, one dry run built.
            txs = [await builder.build_tx(opp) for opp in (lands, fails, never_sent)]
            # From here on the RPC fails as configured (the builder needs it clean).
            world.faults["rpc"].faults = SimFaultsConfig(error_5xx_rate=error_5xx_rate)
            for opp, built in zip((lands, fails, never_sent), txs, strict=True):
                await left_in_flight(rig.ledger, opp, built)
                if opp is not never_sent:
                    await send(rpc, built)
            await rig.ledger.plan("planned-only", base_mint=WSOL_MINT, intermediate_mint="X",
                                  size=1, expected_profit=1)  # fmt: skip
            await rig.ledger.plan("dry", base_mint=WSOL_MINT, intermediate_mint="X", size=1,
                                  expected_profit=1, dry_run=True)  # fmt: skip
            await rig.ledger.built("dry", tip=1, base_fee=1, priority_fee=1, signature="sig-dry")

            report = await rig.executor.reconcile(chain_is_new=False, slot_time_s=SLOT_S)

            after = world.balances()
            injected = world.faults["rpc"].stats.errors_5xx
            rows = {a.opportunity_id: a for a in await rig.attempts()}
            stats = rig.executor.stats()
            metric = rig.registry.get_sample_value(
                "galileo_reconciled_attempts_total", {"status": "expired"}
            )
    assert report.unresolved == ()
    assert (injected > 0) == (error_5xx_rate > 0)
    assert {oid: a.status for oid, a in rows.items()} == {
        lands.id: AttemptStatus.LANDED,
        fails.id: AttemptStatus.FAILED,
        never_sent.id: AttemptStatus.EXPIRED,
        "planned-only": AttemptStatus.DROPPED,
        "dry": AttemptStatus.DRY_RUN,
    }
    landed, failed, expired = rows[lands.id], rows[fails.id], rows[never_sent.id]
    assert (landed.realised_lamports or 0) > 0 and landed.landed_slot is not None
    assert failed.realised_lamports == -(failed.fees or 0) and failed.landed_slot is not None
    assert "failed on chain" in (failed.failure_reason or "")
    assert expired.realised_lamports == 0
    assert "passed its last valid" in (expired.failure_reason or "")
    total = sum(a.realised_lamports or 0 for a in rows.values())
    assert total == after.total_sol - before.total_sol
    assert stats.reconciled == {"landed": 1, "failed": 1, "expired": 1, "dropped": 1,
                                "dry_run": 1}  # fmt: skip
    assert stats.pnl_lamports == 0  # earlier runs' money: not this run's PnL
    assert metric == 1


async def test_on_a_chain_that_began_after_the_send_an_orphan_expires_at_once(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=int(SLOT_S * 1000)) as world:
        (opp,) = await dislocated(world, 1)
        builder = ArbBuilder(world)
        async with exec_rig(world, clients, tmp_path, builder=builder) as rig:
            built = await builder.build_tx(opp)
            await left_in_flight(rig.ledger, opp, built)  # sent to a world that is gone
            reconciler = Reconciler(
                rig.ledger, rig.executor.chain, chain_is_new=True, slot_time_s=60.0
            )
            report = await reconciler.run()  # no waiting for 150 slots of 60 s
            row = await rig.ledger.get(opp.id)
    assert [(r.status, r.realised_lamports) for r in report.finished] == [
        (AttemptStatus.EXPIRED, 0)
    ]
    assert row is not None and row.status is AttemptStatus.EXPIRED
    assert "ended with the process that sent it" in (row.failure_reason or "")


async def test_a_send_that_may_still_land_is_left_open_at_the_deadline(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=int(SLOT_S * 1000)) as world:
        (opp,) = await dislocated(world, 1)
        builder = ArbBuilder(world)
        async with exec_rig(world, clients, tmp_path, builder=builder) as rig:
            built = await builder.build_tx(opp)
            await left_in_flight(rig.ledger, opp, built)
            reconciler = Reconciler(
                rig.ledger, rig.executor.chain, chain_is_new=False, slot_time_s=0.4, deadline_s=0.5
            )
            report = await reconciler.run()
            row = await rig.ledger.get(opp.id)
    assert report.unresolved == (opp.id,) and report.finished == ()
    assert row is not None and row.status is AttemptStatus.SUBMITTED  # never guessed


async def test_a_row_without_a_recorded_height_expires_once_older_than_any_blockhash(
    tmp_path: Path, clients: HttpxClients
) -> None:
    # Rows written before the ledger recorded the last valid height: only their age tells.
    async with quiet_world(tmp_path, slot_ms=int(SLOT_S * 1000)) as world:
        rpc = JsonRpcClient.on_ip(world.rpc_url, clients=clients)
        hour_ago = Ledger(tmp_path / "old.sqlite3", clock=lambda: time.time() - 3600)
        with hour_ago:
            for oid in ("old", "young"):
                hour_ago.plan(oid, base_mint=WSOL_MINT, intermediate_mint="X", size=1,
                              expected_profit=1)  # fmt: skip
            hour_ago.submitted("old", signature="1" * 88)
        ledger = AsyncLedger(Ledger(tmp_path / "old.sqlite3"))
        try:
            await ledger.submitted("young", signature="2" * 88)
            reconciler = Reconciler(
                ledger, ChainReader(rpc), chain_is_new=False, slot_time_s=0.4, deadline_s=0.5
            )
            report = await reconciler.run()
        finally:
            await ledger.aclose()
    assert [(r.opportunity_id, r.status) for r in report.finished] == [
        ("old", AttemptStatus.EXPIRED)
    ]
    assert report.unresolved == ("young",)
