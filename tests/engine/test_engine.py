"""QuoteEngine end to end against the fake Jupiter, from two source IPs (127.0.0.2/.3)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from galileo._config import (
    BaseMintConfig,
    BlindConfig,
    Config,
    ExecutionConfig,
    NetworkConfig,
    RiskConfig,
    StrategyConfig,
    TipConfig,
    TradeSizeRange,
)
from galileo.engine import Dispatcher, Evaluator, QuoteEngine
from galileo.model import BatchOutcome, LeaseResult, Opportunity
from galileo.net import IpAllocator, IpState, make_transport
from galileo.providers import JupiterClient
from galileo.strategy import BlindStrategy
from tests.engine.fake_api import BONK, SOL, USDC, WIF, FakeJupiter, JupiterFixture
from tests.ports import IPS


def make_config(
    mints: list[str],
    *,
    transport: Literal["fast", "httpx"] = "fast",
    jitter_bps: int = 0,
    **network: Any,
) -> Config:
    return Config(
        network=NetworkConfig(
            enable_multiple_ip=True,
            manual_ips=IPS,
            transport=transport,
            max_inflight_per_ip=network.pop("max_inflight_per_ip", 2),
            **network,
        ),
        strategy=StrategyConfig(
            max_quote_age_ms=5_000,
            batch_deadline_ms=5_000,
            blind=BlindConfig(
                base_mints=[
                    BaseMintConfig(
                        intermediate_mints=mints,
                        trade_size_range=TradeSizeRange(
                            explicit=[1_000_000_000], jitter_bps=jitter_bps
                        ),
                    )
                ]
            ),
        ),
        execution=ExecutionConfig(tip=TipConfig(policy="static", static_lamports=1_000)),
        risk=RiskConfig(min_profit_lamports=10_000),
    )


def profitable(fake: FakeJupiter, mint: str) -> None:
    # 1 SOL → 150 X → 1 SOL × 150/149: about +0.67 %
    fake.set_round_trip(mint, (150, 1), (1, 149))


def losing(fake: FakeJupiter, mint: str) -> None:
    fake.set_round_trip(mint, (150, 1), (1, 151))


@asynccontextmanager
async def running_engine(
    config: Config, url: str, registry: CollectorRegistry | None = None
) -> AsyncIterator[tuple[QuoteEngine, trio.MemoryReceiveChannel[Opportunity]]]:
    send, receive = trio.open_memory_channel[Opportunity](0)
    engine = QuoteEngine.from_config(
        config,
        jupiter_url=url,
        registry=registry or CollectorRegistry(),
        recorder=None,
        opportunities=send,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        yield engine, receive
        nursery.cancel_scope.cancel()


async def take(receive: trio.MemoryReceiveChannel[Opportunity], n: int) -> list[Opportunity]:
    got = []
    with trio.fail_after(20):
        for _ in range(n):
            got.append(await receive.receive())
    return got


async def test_a_profitable_pair_reaches_the_channel_before_the_round_ends(
    jupiter: JupiterFixture,
) -> None:
    fake, url = jupiter
    filler = [f"{i:0>32}".replace("0", "A") for i in range(40)]  # no route for these
    profitable(fake, USDC)
    async with running_engine(make_config([USDC, *filler]), url) as (engine, receive):
        [opportunity] = await take(receive, 1)
        assert engine.stats().batches < engine.strategy.round_size  # type: ignore[union-attr]
    assert opportunity.mint == USDC
    assert opportunity.size == 1_000_000_000
    assert opportunity.sell.out_amount == 150_000_000_000 // 149
    assert (
        opportunity.net_profit == opportunity.sell.out_amount - 1_000_000_000 - 5_000 - 400 - 1_000
    )
    assert opportunity.ip in IPS


async def test_sell_follows_buy_on_the_same_ip_and_both_ips_work(jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    profitable(fake, USDC)
    losing(fake, BONK)
    async with running_engine(make_config([USDC, BONK], jitter_bps=2_000), url) as (_, receive):
        opportunities = await take(receive, 6)
    buys = {(q.output_mint, q.amount): q.ip for q in fake.quotes if q.input_mint == SOL}
    for sell in (q for q in fake.quotes if q.input_mint != SOL):
        matching = [
            ip
            for (mint, size), ip in buys.items()
            if mint == sell.input_mint and size * fake.rates[(SOL, mint)][0] == sell.amount
        ]
        assert matching == [sell.ip]
    for opportunity in opportunities:
        assert opportunity.sell.in_amount == opportunity.buy.out_amount
    assert {q.ip for q in fake.quotes} == set(IPS)


async def test_a_rate_limited_ip_cools_down_while_the_other_keeps_quoting(
    jupiter: JupiterFixture,
) -> None:
    fake, url = jupiter
    profitable(fake, USDC)
    fake.rate_limited_ips.add("127.0.0.2")
    registry = CollectorRegistry()
    async with running_engine(make_config([USDC]), url, registry) as (engine, receive):
        opportunities = await take(receive, 4)
        states = {ip.ip: ip for ip in engine.stats().ips}
    assert {o.ip for o in opportunities} == {"127.0.0.3"}
    assert states["127.0.0.2"].rate_limited >= 1
    assert (
        registry.get_sample_value(
            "galileo_ip_cooldown_total", {"ip": "127.0.0.2", "reason": "rate_limited"}
        )
        or 0
    ) >= 1
    assert (
        registry.get_sample_value("galileo_opportunities_total", {"result": "rate_limited"}) or 0
    ) >= 1


async def test_malformed_bodies_are_skipped_and_never_stop_the_engine(
    jupiter: JupiterFixture,
) -> None:
    fake, url = jupiter
    profitable(fake, USDC)
    profitable(fake, BONK)
    fake.malformed_mints.add(BONK)
    async with running_engine(make_config([USDC, BONK, WIF]), url) as (engine, receive):
        opportunities = await take(receive, 5)
        stats = engine.stats()
    assert {o.mint for o in opportunities} == {USDC}
    assert stats.outcomes.get("malformed", 0) >= 1
    assert stats.outcomes.get("no_route", 0) >= 1  # WIF has no rates
    assert stats.errors.get("malformed", 0) >= 1
    assert stats.quotes > 0
    assert {ip.ip for ip in stats.ips} == set(IPS)


async def test_the_httpx_transport_is_a_working_fallback(jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    profitable(fake, USDC)
    async with running_engine(make_config([USDC], transport="httpx"), url) as (_, receive):
        [opportunity] = await take(receive, 1)
    assert opportunity.mint == USDC


async def test_the_channel_is_closed_when_the_engine_stops(jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    losing(fake, USDC)
    send, receive = trio.open_memory_channel[Opportunity](0)
    engine = QuoteEngine.from_config(
        make_config([USDC]),
        jupiter_url=url,
        registry=CollectorRegistry(),
        recorder=None,
        opportunities=send,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        nursery.cancel_scope.cancel()
    with pytest.raises(trio.EndOfChannel):
        receive.receive_nowait()


def _dispatcher(
    url: str, allocator: IpAllocator, send: trio.MemorySendChannel[Opportunity], **kw: Any
) -> tuple[Dispatcher, BlindStrategy, Callable[[], Any]]:
    config = make_config([USDC])
    strategy = BlindStrategy.from_config(config.strategy.blind, default_min_profit_lamports=1)
    transport = make_transport("fast", url, connect_timeout=1, max_connections_per_ip=2)
    dispatcher = Dispatcher(
        allocator=allocator,
        provider=JupiterClient(transport),
        next_batch=strategy.next_batch,
        evaluator=Evaluator(config.execution, max_quote_age=kw.get("max_age", 5.0)),
        opportunities=send,
        batch_deadline=kw.get("batch_deadline", 1.0),
        request_timeout=kw.get("request_timeout", 0.5),
        max_quote_age=kw.get("max_age", 5.0),
        workers_per_ip=1,
    )
    return dispatcher, strategy, transport.aclose


async def test_a_stalled_leg_times_out_and_cools_the_ip(
    jupiter: JupiterFixture, autojump_clock: trio.testing.MockClock
) -> None:
    fake, url = jupiter
    fake.stall = True
    allocator = IpAllocator(IPS[:1])
    send, _receive = trio.open_memory_channel[Opportunity](0)
    dispatcher, strategy, close = _dispatcher(url, allocator, send)
    try:
        async with allocator.acquire() as lease:
            outcome = await dispatcher.run_batch(strategy.next_batch(), lease)
    finally:
        await close()
    assert outcome is BatchOutcome.TIMEOUT
    assert allocator.state(IPS[0]) is IpState.COOLING_DOWN


async def test_an_unread_opportunity_is_dropped_once_stale(
    jupiter: JupiterFixture, autojump_clock: trio.testing.MockClock
) -> None:
    fake, url = jupiter
    profitable(fake, USDC)
    allocator = IpAllocator(IPS[:1])
    send, _receive = trio.open_memory_channel[Opportunity](0)  # nobody reads
    dispatcher, strategy, close = _dispatcher(url, allocator, send, max_age=0.3)
    try:
        async with allocator.acquire() as lease:
            outcome = await dispatcher.run_batch(strategy.next_batch(), lease)
            lease.mark(LeaseResult.SUCCESS)
    finally:
        await close()
    assert outcome is BatchOutcome.DROPPED
