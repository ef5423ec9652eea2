"""The quote engine against the simulated world's Jupiter face (galileo.sim), two IPs."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from prometheus_client import CollectorRegistry

from galileo._config import (
    BaseMintConfig,
    BlindConfig,
    Config,
    NetworkConfig,
    RiskConfig,
    StrategyConfig,
    TradeSizeRange,
)
from galileo.engine import QuoteEngine
from galileo.model import Opportunity

sim = pytest.importorskip("galileo.sim")


async def test_the_engine_finds_opportunities_in_the_simulated_world(tmp_path: Path) -> None:
    config = Config(
        network=NetworkConfig(
            enable_multiple_ip=True, manual_ips=["127.0.0.2", "127.0.0.3"], max_inflight_per_ip=2
        ),
        strategy=StrategyConfig(
            blind=BlindConfig(
                base_mints=[
                    BaseMintConfig(
                        trade_size_range=TradeSizeRange(min=100_000_000, max=2_000_000_000, lanes=4)
                    )
                ]
            )
        ),
        risk=RiskConfig(min_profit_lamports=0),
    )
    registry = CollectorRegistry()
    async with sim.World(
        seed=7, rpc_port=0, jito_port=0, jupiter_port=0, state_dir=str(tmp_path)
    ) as world:
        send, receive = trio.open_memory_channel[Opportunity](16)
        engine = QuoteEngine.from_config(
            config,
            jupiter_url=world.jupiter_url,
            registry=registry,
            recorder=None,
            opportunities=send,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            with trio.fail_after(30):
                opportunity = await receive.receive()
            stats = engine.stats()
            nursery.cancel_scope.cancel()
    assert opportunity.net_profit >= 0
    assert opportunity.sell.in_amount == opportunity.buy.out_amount
    assert opportunity.buy.input_mint == opportunity.sell.output_mint == sim.WSOL_MINT
    assert stats.quotes >= 2
    assert stats.errors == {}
    # The sim sees the engine's source IPs.
    assert {ip.ip for ip in stats.ips} == {"127.0.0.2", "127.0.0.3"}
