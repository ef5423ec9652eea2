"""Fixtures for the transaction tests: an in-process simulated world on a MockClock, the
real Jupiter client, RPC, wallet, blockhash refresher, lookup-table cache and builder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from galileo._config import ExecutionConfig
from galileo.net import FastTransport, JsonRpcClient
from galileo.obs import Recorder
from galileo.providers import JupiterClient
from galileo.sim import World
from galileo.tx import AltCache, BlockhashRefresher, TxMetrics, Wallet
from tests.tx.tx_helpers import Rig
from tests.worlds import quiet_world


@pytest.fixture
async def world(mock_clock: trio.testing.MockClock, tmp_path: Path) -> AsyncIterator[World]:
    async with quiet_world(tmp_path, seed=11) as w:
        yield w


@pytest.fixture
async def rig(world: World) -> AsyncIterator[Rig]:
    rpc = JsonRpcClient(world.rpc_url)
    transport = FastTransport(world.jupiter_url)
    registry = CollectorRegistry()
    blockhashes = BlockhashRefresher(rpc, interval_s=0.4)
    assert await blockhashes.refresh_once()
    try:
        yield Rig(
            world=world,
            rpc=rpc,
            jupiter=JupiterClient(transport),
            wallet=Wallet.load(world.wallet_path),
            blockhashes=blockhashes,
            alts=AltCache(rpc),
            registry=registry,
            recorder=Recorder(),
            metrics=TxMetrics(registry),
            config=ExecutionConfig(compute_unit_price_micro_lamports=1000),
        )
    finally:
        await transport.aclose()
        await rpc.aclose()
