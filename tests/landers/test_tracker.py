"""The landing tracker: landed, failed (on chain, or refused by every path) and expired (old
blockhash, dropped bundle, timeout), with status polls batched for every submission."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from galileo._config import LandersConfig, RpcLanderConfig, SimFaultsConfig
from galileo._secret import Secret
from galileo.landers import EndpointResult, Landers, LandingTracker, SendMethod, Submission
from galileo.model import LanderOutcome, LanderResult, LandingStatus
from galileo.net import HttpxClients, IpHashRing, JsonRpcClient
from galileo.sim import World
from tests.landers.lander_helpers import ArbBuilder, landers_config, opportunity, tip_transfer
from tests.ports import IPS
from tests.worlds import dislocated_token, quiet_world


@attrs.define
class Rig:
    world: World
    landers: Landers
    tracker: LandingTracker
    registry: CollectorRegistry


@asynccontextmanager
async def rig(
    world: World, clients: HttpxClients, config: LandersConfig, **tracker_options: Any
) -> AsyncIterator[Rig]:
    registry = CollectorRegistry()
    landers = Landers(
        config,
        clients=clients,
        hashring=IpHashRing(IPS),
        registry=registry,
        jito_urls=[world.jito_url],
        rpc_urls=[world.rpc_url],
    )
    tracker = LandingTracker(
        config,
        rpc=JsonRpcClient.on_ip(world.rpc_url, clients=clients),
        landers=landers,
        poll_interval_s=0.05,
        **tracker_options,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(tracker.run)
        yield Rig(world, landers, tracker, registry)
        nursery.cancel_scope.cancel()


def rpc_only() -> LandersConfig:
    config = landers_config()
    return attrs.evolve(
        config,
        jito=attrs.evolve(config.jito, enabled=False),
        rpc=RpcLanderConfig(enabled=True, endpoints=[]),
    )


async def test_a_landed_bundle_is_landed_via_jito_at_its_slot(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with (
        quiet_world(tmp_path, slot_ms=20) as world,
        rig(world, clients, landers_config()) as r,
    ):
        submission = await r.landers.submit(tip_transfer(world))
        status = world.chain.statuses[submission.signature]

        outcome = await r.tracker.wait(submission)

        assert outcome.status is LandingStatus.LANDED
        assert outcome.slot == status.slot and outcome.landed_via == "jito"
        assert outcome.on_chain and outcome.error is None
        assert r.registry.get_sample_value("galileo_landed_total", {"lander": "jito"}) == 1
        assert (
            r.registry.get_sample_value("galileo_landing_seconds_count", {"status": "landed"}) == 1
        )


async def test_a_transaction_that_fails_on_chain_is_failed_with_its_slot(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world, rig(world, clients, rpc_only()) as r:
        opp = await opportunity(world, dislocated_token(world))  # a round trip that pays
        built = await ArbBuilder(world, min_out_extra=10**9).build_tx(opp)
        submission = await r.landers.submit(built)

        outcome = await r.tracker.wait(submission)

        assert outcome.status is LandingStatus.FAILED
        assert outcome.slot is not None  # included: it paid its fee
        assert outcome.error is not None and "6001" in outcome.error


async def test_a_bundle_that_failed_everywhere_is_failed_without_a_slot(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with (
        quiet_world(tmp_path, slot_ms=20) as world,
        rig(world, clients, landers_config(), bundle_poll_after_s=0.1) as r,
    ):
        opp = await opportunity(world, dislocated_token(world))  # a round trip that pays
        built = await ArbBuilder(world, min_out_extra=10**9).build_tx(opp)
        submission = await r.landers.submit(built)

        outcome = await r.tracker.wait(submission)

        assert outcome.status is LandingStatus.FAILED
        assert outcome.slot is None and not outcome.on_chain  # atomic: nothing paid
        assert outcome.error == "bundle Failed"


async def test_a_transaction_with_an_old_blockhash_expires_by_block_height(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world, rig(world, clients, rpc_only()) as r:
        built = tip_transfer(world, slot=world.slot - 200)
        submission = await r.landers.submit(built)
        assert submission.accepted  # skipPreflight: a node takes it, it just never lands

        outcome = await r.tracker.wait(submission)

        assert outcome.status is LandingStatus.EXPIRED
        assert outcome.error is not None and outcome.error.startswith("blockhash expired")
        assert r.tracker.polls == 1


async def test_a_dropped_bundle_fails_as_soon_as_the_block_engine_says_so(
    tmp_path: Path, clients: HttpxClients
) -> None:
    # Its in-flight slot is freed within a few slots, not when its blockhash expires.
    async with (
        quiet_world(
            tmp_path, slot_ms=10, jito_faults=SimFaultsConfig(drop_bundle_rate=1.0)
        ) as world,
        rig(world, clients, landers_config(), bundle_poll_after_s=0.05) as r,
    ):
        built = tip_transfer(world)
        submission = await r.landers.submit(built)

        outcome = await r.tracker.wait(submission)

        assert outcome.status is LandingStatus.FAILED
        assert outcome.error == "bundle Failed"
        assert r.tracker.block_height is not None
        assert r.tracker.block_height < built.last_valid_block_height  # long before expiry
        assert built.signature not in world.chain.statuses


# -- without the world: the tracker's own rules --------------------------------------------


@attrs.define
class FakeRpc:
    height: int = 1000
    statuses: dict[str, Any] = attrs.field(factory=dict)
    calls: list[tuple[str, int]] = attrs.field(factory=list)

    async def call(self, method: str, params: list[Any], *, timeout_s: float | None = None) -> Any:
        await trio.lowlevel.checkpoint()
        if method == "getBlockHeight":
            self.calls.append((method, 0))
            return self.height
        assert method == "getSignatureStatuses"
        self.calls.append((method, len(params[0])))
        assert len(params[0]) <= 256
        return {
            "context": {"slot": self.height},
            "value": [self.statuses.get(s) for s in params[0]],
        }


def submission(signature: str, *, accepted: bool = True, lvbh: int = 2000) -> Submission:
    outcome = LanderOutcome.ACCEPTED if accepted else LanderOutcome.REJECTED
    result = EndpointResult(
        result=LanderResult(lander="rpc", endpoint="e", outcome=outcome),
        ip="",
        method=SendMethod.SEND_TRANSACTION,
    )
    return Submission(
        opportunity_id=signature,
        signature=signature,
        last_valid_block_height=lvbh,
        submitted_at=trio.current_time(),
        results=(result,),
    )


async def test_status_polls_are_batched_for_every_pending_submission(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rpc = FakeRpc()
    tracker = LandingTracker(LandersConfig(), rpc=rpc, poll_interval_s=0.4)
    outcomes: dict[str, Any] = {}
    signatures = [f"sig{i}" for i in range(300)]

    async def wait(sig: str) -> None:
        outcomes[sig] = await tracker.wait(submission(sig))

    async with trio.open_nursery() as nursery:
        for sig in signatures:
            nursery.start_soon(wait, sig)
        await trio.testing.wait_all_tasks_blocked()
        assert tracker.pending == 300
        await tracker.poll_once()
        assert rpc.calls == [
            ("getBlockHeight", 0),
            ("getSignatureStatuses", 256),
            ("getSignatureStatuses", 44),
        ]
        for sig in signatures:
            rpc.statuses[sig] = {"slot": 990, "err": None, "confirmationStatus": "confirmed"}
        await tracker.poll_once()
    assert {o.status for o in outcomes.values()} == {LandingStatus.LANDED}
    assert {o.slot for o in outcomes.values()} == {990}


async def test_a_processed_transaction_waits_for_the_wanted_commitment(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rpc = FakeRpc(statuses={"a": {"slot": 5, "err": None, "confirmationStatus": "processed"}})
    tracker = LandingTracker(LandersConfig(), rpc=rpc, commitment="confirmed")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tracker.run)
        with trio.move_on_after(2.0):
            await tracker.wait(submission("a"))
        assert tracker.polls >= 3  # still waiting: processed is not confirmed
        rpc.statuses["a"] = {"slot": 5, "err": None, "confirmationStatus": "confirmed"}
        outcome = await tracker.wait(submission("a"))
        assert outcome.status is LandingStatus.LANDED
        nursery.cancel_scope.cancel()


async def test_tracking_gives_up_at_the_landing_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rpc = FakeRpc()
    config = attrs.evolve(LandersConfig(), landing_timeout_s=5.0)
    tracker = LandingTracker(config, rpc=rpc)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tracker.run)
        start = trio.current_time()
        outcome = await tracker.wait(submission("x", lvbh=10**9))
        assert outcome.status is LandingStatus.EXPIRED
        assert outcome.error == "landing timeout"
        assert 5.0 <= trio.current_time() - start <= 5.0 + 0.5
        nursery.cancel_scope.cancel()


async def test_a_submission_nobody_accepted_fails_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rpc = FakeRpc()
    tracker = LandingTracker(LandersConfig(), rpc=rpc)
    outcome = await tracker.wait(submission("y", accepted=False))
    assert outcome.status is LandingStatus.FAILED and outcome.error == "no lander accepted it"
    assert rpc.calls == []


def test_secret_rpc_urls_are_not_in_the_clients_label() -> None:
    client = JsonRpcClient(Secret("https://rpc.example.com/?api-key=SECRET123456"))
    assert "SECRET" not in client.label
