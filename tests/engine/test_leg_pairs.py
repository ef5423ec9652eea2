"""Venue pairs: batches take the pairs in turn, the buy leg is quoted on one venue and the
sell leg on the other for exactly what the buy returns, and each leg's answer is recorded on
its own venue's lane of the leased IP."""

from __future__ import annotations

import itertools

import trio
import trio.testing
from prometheus_client import CollectorRegistry

from galileo._config import ExecutionConfig
from galileo.engine import Dispatcher, EngineMetrics, Evaluator, LegPair
from galileo.model import (
    LegQuote,
    Opportunity,
    Provider,
    QuoteBatch,
    RateLimited,
    SwapInstructions,
)
from galileo.net import IpAllocator

BASE = "So11111111111111111111111111111111111111112"
MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
IP = "10.0.0.1"
SIZE = 1_000_000_000


class Venue:
    """A leg provider that quotes at a fixed rate (parts per million) and records its calls."""

    def __init__(self, provider: Provider, ppm: int, *, limited: bool = False) -> None:
        self._provider = provider
        self.ppm = ppm
        self.limited = limited
        self.calls: list[tuple[str, str, int, str]] = []

    @property
    def provider(self) -> Provider:
        return self._provider

    async def quote_leg(
        self, *, ip: str, input_mint: str, output_mint: str, amount: int, leg: str, deadline: float
    ) -> LegQuote:
        self.calls.append((input_mint, output_mint, amount, leg))
        if self.limited:
            raise RateLimited("slow down", ip=ip, status=429, retry_after=1.0)
        return LegQuote(
            provider=self._provider,
            input_mint=input_mint,
            output_mint=output_mint,
            in_amount=amount,
            out_amount=amount * self.ppm // 1_000_000,
            received_at=trio.current_time(),
        )

    async def leg_instructions(
        self, *, ip: str, quote: LegQuote, min_out: int, user_public_key: str, deadline: float
    ) -> SwapInstructions:
        raise NotImplementedError

    async def round_trip_instructions(
        self,
        *,
        ip: str,
        buy: LegQuote,
        sell: LegQuote,
        min_out: int,
        user_public_key: str,
        deadline: float,
    ) -> SwapInstructions:
        raise NotImplementedError


def dispatcher(
    pairs: list[LegPair], allocator: IpAllocator, registry: CollectorRegistry
) -> tuple[Dispatcher, trio.MemoryReceiveChannel[Opportunity]]:
    ids = itertools.count()
    send, receive = trio.open_memory_channel[Opportunity](100)

    def next_batch() -> QuoteBatch:
        return QuoteBatch(next(ids), BASE, MINT, SIZE, lane=0, min_profit_lamports=0)

    return (
        Dispatcher(
            allocator=allocator,
            provider=pairs[0].buy,
            next_batch=next_batch,
            evaluator=Evaluator(ExecutionConfig(), max_quote_age=10.0),
            opportunities=send,
            batch_deadline=1.0,
            request_timeout=1.0,
            max_quote_age=10.0,
            workers_per_ip=1,
            metrics=EngineMetrics(registry),
            pairs=pairs,
        ),
        receive,
    )


async def test_batches_take_the_pairs_in_turn_and_each_leg_uses_its_venue() -> None:
    jupiter = Venue(Provider.JUPITER, 1_000_000)  # at par
    dflow = Venue(Provider.DFLOW, 1_010_000)  # one percent better
    registry = CollectorRegistry()
    allocator = IpAllocator([IP])
    pairs = [LegPair(dflow, jupiter), LegPair(jupiter, dflow)]
    engine, received = dispatcher(pairs, allocator, registry)

    for batch_id, pair in enumerate(pairs):
        batch = QuoteBatch(batch_id, BASE, MINT, SIZE, lane=0, min_profit_lamports=0)
        async with allocator.acquire(upstream=pair.buy.provider.value) as lease:
            await engine.run_batch(batch, lease, pair=pair)

    assert dflow.calls[0] == (BASE, MINT, SIZE, "buy")
    assert jupiter.calls[0] == (MINT, BASE, SIZE * 101 // 100, "sell")  # what the buy returned
    assert jupiter.calls[1] == (BASE, MINT, SIZE, "buy")
    assert dflow.calls[1] == (MINT, BASE, SIZE, "sell")
    first = received.receive_nowait()
    assert (first.buy.provider, first.sell.provider) == (Provider.DFLOW, Provider.JUPITER)


async def test_workers_count_per_pair_and_a_venues_429_cools_only_its_lane(
    autojump_clock: trio.testing.MockClock,
) -> None:
    jupiter = Venue(Provider.JUPITER, 1_000_000)
    dflow = Venue(Provider.DFLOW, 1_010_000, limited=True)
    registry = CollectorRegistry()
    allocator = IpAllocator([IP])
    engine, _ = dispatcher([LegPair(jupiter, dflow)], allocator, registry)

    with trio.move_on_after(0.5):
        await engine.run()

    assert allocator.cooldown_remaining(IP, "dflow") > 0
    assert allocator.cooldown_remaining(IP, "jupiter") == 0
    labels = {"pair": "jupiter>dflow", "result": "rate_limited"}
    assert (registry.get_sample_value("galileo_pair_batches_total", labels) or 0) >= 1
    assert all(call[3] == "buy" for call in jupiter.calls)
    assert all(call[3] == "sell" for call in dflow.calls)
