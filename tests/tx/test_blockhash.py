"""BlockhashRefresher: never hands out a blockhash that is missing, too old or about to
expire; keeps it fresh while running; never goes backwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import trio
import trio.testing
from solders.hash import Hash

from galileo.net import JsonRpcClient, RpcError
from galileo.sim import World
from galileo.tx import BlockhashRefresher, BlockhashStale

SLOT_S = 0.4  # the world's slot time (sim.slot_ms = 400)


@pytest.fixture
async def rpc(world: World) -> AsyncIterator[JsonRpcClient]:
    client = JsonRpcClient(world.rpc_url)
    yield client
    await client.aclose()


async def test_nothing_is_handed_out_before_the_first_fetch(rpc: JsonRpcClient) -> None:
    refresher = BlockhashRefresher(rpc)
    with pytest.raises(BlockhashStale, match="no blockhash"):
        refresher.current()


async def test_a_fetched_blockhash_is_the_chains_latest(rpc: JsonRpcClient, world: World) -> None:
    refresher = BlockhashRefresher(rpc)
    assert await refresher.refresh_once()
    blockhash, last_valid = refresher.current()
    assert blockhash == world.chain.blockhash()
    assert last_valid == world.chain.last_valid_block_height()


async def test_a_blockhash_is_refused_when_the_last_refresh_is_too_old(
    rpc: JsonRpcClient, mock_clock: trio.testing.MockClock
) -> None:
    refresher = BlockhashRefresher(rpc, max_age_s=5.0)
    assert await refresher.refresh_once()
    mock_clock.jump(4.9)
    refresher.current()
    mock_clock.jump(0.2)
    with pytest.raises(BlockhashStale, match="refresh"):
        refresher.current()


async def test_a_blockhash_is_refused_near_its_last_valid_block_height(
    rpc: JsonRpcClient, world: World, mock_clock: trio.testing.MockClock
) -> None:
    refresher = BlockhashRefresher(
        rpc, slot_time_s=SLOT_S, min_remaining_blocks=20, max_age_s=1000.0
    )
    assert await refresher.refresh_once()
    blockhash, _ = refresher.current()
    mock_clock.jump(129 * SLOT_S + 0.01)  # 150 − 129 = 21 blocks left
    assert refresher.current()[0] == blockhash
    mock_clock.jump(2 * SLOT_S)  # 19 left
    with pytest.raises(BlockhashStale, match="expires"):
        refresher.current()
    # The chain agrees the blockhash is still valid: the refusal keeps a landing margin.
    assert world.chain.blockhash_valid(blockhash)


async def test_the_running_refresher_keeps_the_blockhash_fresh(
    rpc: JsonRpcClient, world: World, mock_clock: trio.testing.MockClock
) -> None:
    refresher = BlockhashRefresher(rpc, interval_s=0.4, slot_time_s=SLOT_S, max_age_s=2.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(refresher.run)
        first, _ = refresher.current()
        for _ in range(10):
            seen = refresher.refreshes
            mock_clock.jump(0.4)
            await refresher.wait_for_refresh(after=seen)
        blockhash, last_valid = refresher.current()
        assert blockhash != first
        assert blockhash == world.chain.blockhash()
        assert last_valid == world.chain.last_valid_block_height()
        nursery.cancel_scope.cancel()


class ScriptedRpc(JsonRpcClient):
    """Answers getLatestBlockhash + getBlockHeight from a script (or fails)."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")
        self.answers: list[tuple[int, int] | None] = []  # (block height, last valid) or fail

    async def batch(
        self, calls: Sequence[tuple[str, Sequence[Any]]], *, timeout_s: float | None = None
    ) -> list[Any]:
        answer = self.answers.pop(0)
        if answer is None:
            raise RpcError("getLatestBlockhash", "HTTP 503", status=503)
        height, last_valid = answer
        blockhash = str(Hash(bytes([last_valid % 256]) * 32))
        value = {"blockhash": blockhash, "lastValidBlockHeight": last_valid}
        return [{"context": {"slot": height}, "value": value}, height]


async def test_refresh_failures_are_counted_and_end_in_refusal(
    mock_clock: trio.testing.MockClock,
) -> None:
    rpc = ScriptedRpc()
    rpc.answers = [(1000, 1150), None, None]
    refresher = BlockhashRefresher(rpc, max_age_s=3.0)
    assert await refresher.refresh_once()
    mock_clock.jump(2.0)
    assert not await refresher.refresh_once()
    refresher.current()  # still within max_age
    mock_clock.jump(1.1)
    assert not await refresher.refresh_once()
    assert refresher.failures == 2
    with pytest.raises(BlockhashStale, match="refresh"):
        refresher.current()


async def test_an_older_answer_from_a_lagging_node_never_replaces_a_newer_one() -> None:
    rpc = ScriptedRpc()
    rpc.answers = [(1000, 1150), (990, 1140), (1001, 1151)]
    refresher = BlockhashRefresher(rpc)
    for _ in range(2):
        assert await refresher.refresh_once()
        assert refresher.current()[1] == 1150
    assert await refresher.refresh_once()
    assert refresher.current()[1] == 1151
