"""The executor end to end against the simulated world: arbitrage lands, the ledger's
realised PnL equals the wallet's balance change exactly, dry runs send nothing, and every
step is on the trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from galileo._config import LandersConfig, RiskConfig, RpcLanderConfig
from galileo.model import AttemptStatus, BuiltTx, Opportunity, TxSkip, TxSkipReason
from galileo.net import HttpxClients
from galileo.obs import read_trace
from galileo.sim import WSOL_MINT, World
from tests.execution.exec_helpers import exec_rig
from tests.landers.lander_helpers import ArbBuilder, landers_config, opportunity
from tests.ports import IPS
from tests.worlds import quiet_world


async def dislocated_opportunities(
    world: World, *, repeat_first: bool = False
) -> list[Opportunity]:
    """One profitable round trip per token (a pool pushed 300 bps), quoted before any lands."""
    opportunities = []
    for mint in [m for m in world.market.tokens if m != WSOL_MINT][:4]:
        world.dislocate(world.pool(mint, "Raydium"), 300)
        opportunities.append(await opportunity(world, mint))
    if repeat_first:
        # Quoted on the same prices as the first, for another size (the same size and route
        # would be the same dislocation, suppressed while the first is in flight): it
        # executes after the first has moved the pools.
        first = opportunities[0]
        opportunities.append(await opportunity(world, first.mint, size=first.size // 2))
    return opportunities


def with_rpc_lander(config: LandersConfig) -> LandersConfig:
    return attrs.evolve(config, rpc=RpcLanderConfig(enabled=True, endpoints=[]))


@pytest.mark.parametrize("seed", [7, 11, 23])
async def test_arbitrage_lands_and_the_ledger_pnl_equals_the_wallet_delta_exactly(
    seed: int, tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, seed=seed, slot_ms=20) as world:
        builder = ArbBuilder(world)
        async with exec_rig(
            world,
            clients,
            tmp_path,
            builder=builder,
            landers=with_rpc_lander(landers_config()),
            risk=RiskConfig(min_profit_lamports=0, max_inflight=8),
        ) as rig:
            opportunities = await dislocated_opportunities(world, repeat_first=True)
            before = world.balances()

            await rig.run(opportunities)

            after = world.balances()
            attempts = await rig.attempts()
            stats = rig.executor.stats()
    assert len(attempts) == len(opportunities)
    assert all(a.status.terminal for a in attempts)
    assert stats.landed >= 4 and stats.inflight == 0
    assert all(a.realised_lamports is not None for a in attempts)
    ledger_pnl = sum(a.realised_lamports or 0 for a in attempts)
    assert ledger_pnl == after.total_sol - before.total_sol
    assert ledger_pnl == stats.pnl_lamports
    landed = [a for a in attempts if a.status is AttemptStatus.LANDED]
    assert all((a.realised_lamports or 0) > 0 for a in landed)
    assert stats.tip_spend_lamports == sum(a.tip or 0 for a in landed)
    assert rig.registry.get_sample_value("galileo_pnl_lamports") == ledger_pnl


async def test_a_swap_that_fails_on_chain_is_failed_and_costs_exactly_its_fee(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world:
        opportunities = await dislocated_opportunities(world)
        builder = ArbBuilder(world, fail_ids={opportunities[0].id})
        config = with_rpc_lander(landers_config())
        async with exec_rig(world, clients, tmp_path, builder=builder, landers=config) as rig:
            before = world.balances()
            await rig.run(opportunities[:1])
            after = world.balances()
            (attempt,) = await rig.attempts()
    assert attempt.status is AttemptStatus.FAILED
    assert attempt.landed_slot is not None  # the RPC copy was included and failed
    assert attempt.failure_reason is not None and "6001" in attempt.failure_reason
    assert attempt.realised_lamports == after.total_sol - before.total_sol < 0
    assert attempt.realised_lamports == -((attempt.base_fee or 0) + (attempt.priority_fee or 0))


async def test_dry_run_builds_and_simulates_but_sends_nothing(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world:
        builder = ArbBuilder(world)
        risk = RiskConfig(min_profit_lamports=0, dry_run=True)
        # Slow landers do not matter: nothing is sent, so nothing waits for a token.
        slow = landers_config(requests_per_second=0.2)
        async with exec_rig(
            world, clients, tmp_path, builder=builder, risk=risk, landers=slow
        ) as rig:
            opportunities = await dislocated_opportunities(world)
            before = world.balances()
            await rig.run(opportunities)
            attempts = await rig.attempts()
            stats = rig.executor.stats()
            assert world.balances() == before
            assert world.jito.bundles_received == 0
            assert world.faults["jito"].stats.requests == 0
            assert not world.chain.statuses
    assert [a.status for a in attempts] == [AttemptStatus.DRY_RUN] * len(opportunities)
    assert all(a.dry_run and a.signature for a in attempts)
    assert all("simulation ok" in (a.failure_reason or "") for a in attempts)
    assert stats.dry_run == len(opportunities) and stats.submitted == 0


async def test_every_step_is_on_the_trace_in_order(tmp_path: Path, clients: HttpxClients) -> None:
    async with (
        quiet_world(tmp_path, slot_ms=20) as world,
        exec_rig(world, clients, tmp_path, builder=ArbBuilder(world)) as rig,
    ):
        (opp,) = (await dislocated_opportunities(world))[:1]
        await rig.run([opp])
        events = read_trace(rig.trace_path, opp.id)
    assert [e["event"] for e in events] == [
        "received",
        "planned",
        "built",
        "submitted",
        "landed",
        "realised",
    ]
    submitted = events[3]
    assert {r["outcome"] for r in submitted["results"]} == {"accepted"}
    assert events[-1]["lamports"] > 0


@attrs.define
class PausingBuilder:
    """Builds, and meanwhile the operator pauses sending."""

    inner: ArbBuilder
    pause: Any

    async def build(self, opportunity: Opportunity, *, ip: str) -> BuiltTx | TxSkip:
        built = await self.inner.build(opportunity, ip=ip)
        self.pause()
        return built


async def test_a_pause_that_starts_during_the_build_stops_the_send(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world:
        holder: dict[str, Any] = {}
        builder = PausingBuilder(ArbBuilder(world), lambda: holder["risk"].stop("test"))
        async with exec_rig(world, clients, tmp_path, builder=builder) as rig:
            holder["risk"] = rig.risk
            (opp,) = (await dislocated_opportunities(world))[:1]
            await rig.run([opp])
            (attempt,) = await rig.attempts()
            assert world.jito.bundles_received == 0
    assert attempt.status is AttemptStatus.DROPPED
    assert attempt.failure_reason == "not sent: stopped"


async def test_risk_skips_and_build_skips_are_counted_and_recorded(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world:
        builder = ArbBuilder(world, skip=TxSkip(TxSkipReason.NO_ROUTE, "nothing"))
        risk = RiskConfig(min_profit_lamports=10**12)
        async with exec_rig(world, clients, tmp_path, builder=builder, risk=risk) as rig:
            opportunities = await dislocated_opportunities(world)
            await rig.run(opportunities)
            assert await rig.attempts() == []  # below the minimum: never planned
            assert rig.executor.stats().skipped == {"below_min_profit": len(opportunities)}

    async with quiet_world(tmp_path, slot_ms=20) as world:
        builder = ArbBuilder(world, skip=TxSkip(TxSkipReason.NO_ROUTE, "nothing"))
        async with exec_rig(world, clients, tmp_path / "b", builder=builder) as rig:
            (opp,) = (await dislocated_opportunities(world))[:1]
            await rig.run([opp])
            (attempt,) = await rig.attempts()
            assert rig.executor.stats().build_skipped == {"no_route": 1}
    assert attempt.status is AttemptStatus.DROPPED
    assert attempt.failure_reason == "not built: no_route nothing"


async def test_in_flight_attempts_never_exceed_max_inflight(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world:
        risk = RiskConfig(min_profit_lamports=0, max_inflight=2)
        async with exec_rig(world, clients, tmp_path, builder=ArbBuilder(world), risk=risk) as rig:
            opportunities = await dislocated_opportunities(world)
            await rig.run(opportunities)
            stats = rig.executor.stats()
    # Handed over all at once: two are admitted, the rest skipped at the cap.
    assert stats.skipped.get("inflight_cap", 0) == len(opportunities) - 2
    assert stats.landed == 2


async def test_a_transaction_identical_to_one_already_sent_is_not_sent_twice(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world:
        builder = ArbBuilder(world, blockhash_slot=world.slot)
        async with exec_rig(world, clients, tmp_path, builder=builder) as rig:
            (opp,) = (await dislocated_opportunities(world))[:1]
            # Same quotes, blockhash and tip account: the same signed bytes (handed over
            # after the first finished: while it is in flight, its dislocation suppresses it).
            twin = attrs.evolve(opp, id=opp.id + "-twin")
            before = world.balances()
            await rig.run([opp])
            await rig.run([twin])
            after = world.balances()
            attempts = {a.opportunity_id: a for a in await rig.attempts()}
    assert attempts[opp.id].status is AttemptStatus.LANDED
    assert attempts[twin.id].status is AttemptStatus.DROPPED
    assert attempts[twin.id].failure_reason == "duplicate transaction"
    total = sum(a.realised_lamports or 0 for a in attempts.values())
    assert total == after.total_sol - before.total_sol


async def test_opportunities_the_landers_could_not_send_in_time_are_not_built(
    tmp_path: Path, clients: HttpxClients
) -> None:
    slow = landers_config(requests_per_second=0.2, queue_timeout_ms=500)
    async with quiet_world(tmp_path, slot_ms=20) as world:
        builder = ArbBuilder(world)
        async with exec_rig(
            world, clients, tmp_path, builder=builder, landers=slow, ips=IPS[:1]
        ) as rig:
            first, second, third = (await dislocated_opportunities(world))[:3]
            await rig.run([first, second])  # one token per 5 s: the second would go stale
            await rig.run([third])  # the landers have no token for 5 s
            attempts = {a.opportunity_id: a for a in await rig.attempts()}
            stats = rig.executor.stats()
    assert list(attempts) == [first.id]
    assert attempts[first.id].status is AttemptStatus.LANDED
    assert stats.skipped == {"landers_busy": 2} and builder.calls == 1


async def test_admission_counts_a_token_on_every_source_ip_of_the_landers(
    tmp_path: Path, clients: HttpxClients
) -> None:
    slow = landers_config(requests_per_second=0.2, queue_timeout_ms=500)
    async with quiet_world(tmp_path, slot_ms=20) as world:
        builder = ArbBuilder(world)
        async with exec_rig(world, clients, tmp_path, builder=builder, landers=slow) as rig:
            first, second, third, fourth = (await dislocated_opportunities(world))[:4]
            await rig.run([first, second, third])  # one token per IP: two go out
            await rig.run([fourth])  # no IP has a token for 5 s
            attempts = {a.opportunity_id: a for a in await rig.attempts()}
            stats = rig.executor.stats()
            accepted_on = {
                (s.labels["endpoint"], s.labels["ip"])
                for metric in rig.registry.collect()
                if metric.name == "galileo_lander_submissions"
                for s in metric.samples
                if s.name.endswith("_total") and s.labels["result"] == "accepted" and s.value
            }
    assert list(attempts) == [first.id, second.id]
    assert all(a.status is AttemptStatus.LANDED for a in attempts.values())
    assert stats.skipped == {"landers_busy": 2} and builder.calls == 2
    # Each region took one send on each source IP.
    assert {ip for _endpoint, ip in accepted_on} == set(IPS)
    assert len(accepted_on) == 2 * len(IPS)


async def test_a_send_dropped_by_local_throttling_is_not_a_failed_send(
    tmp_path: Path, clients: HttpxClients
) -> None:
    slow = landers_config(requests_per_second=0.2, queue_timeout_ms=500)
    async with quiet_world(tmp_path, slot_ms=20) as world:
        holder: dict[str, Any] = {}

        def take_the_token() -> None:  # someone else's sends use them while we build
            landers = holder["rig"].landers
            for endpoint in landers.endpoints:
                for ip in landers.ip_order(endpoint):
                    assert landers.bucket(endpoint, ip).try_take()

        builder = PausingBuilder(ArbBuilder(world), take_the_token)
        async with exec_rig(world, clients, tmp_path, builder=builder, landers=slow) as rig:
            holder["rig"] = rig
            (opp,) = (await dislocated_opportunities(world))[:1]
            await rig.run([opp])
            (attempt,) = await rig.attempts()
            stats = rig.executor.stats()
            state = rig.risk.state()
    assert attempt.status is AttemptStatus.DROPPED
    assert "queue_timeout" in (attempt.failure_reason or "")
    assert stats.not_sent == 1
    assert state.failure_streak == 0  # nothing was refused by the network


async def test_stop_intake_drains_the_attempts_in_flight_and_leaves_the_channel(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with (
        quiet_world(tmp_path, slot_ms=20) as world,
        exec_rig(world, clients, tmp_path, builder=ArbBuilder(world)) as rig,
    ):
        opportunities = (await dislocated_opportunities(world))[:2]
        before = world.balances()
        send, receive = trio.open_memory_channel[Opportunity](4)
        async with trio.open_nursery() as nursery:
            await nursery.start(rig.executor.run, receive)
            for opp in opportunities:
                await send.send(opp)
            await trio.testing.wait_all_tasks_blocked()
            rig.executor.stop_intake()
            await rig.executor.drained.wait()
        attempts = await rig.attempts()
        after = world.balances()
    assert [a.status for a in attempts] == [AttemptStatus.LANDED] * 2
    assert sum(a.realised_lamports or 0 for a in attempts) == after.total_sol - before.total_sol
    send.close()
