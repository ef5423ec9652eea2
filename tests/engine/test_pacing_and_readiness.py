"""The quote path's share of issue 10: Retry-After reaches the allocator, every failure class
cools the IP down, and quoting waits while the upstream is not ready."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from prometheus_client import CollectorRegistry

from galileo._httpserver import HttpServer, Request, Response
from galileo.engine import QuoteEngine
from galileo.model import Opportunity, RateLimited
from galileo.net import make_transport
from galileo.providers import JupiterClient
from tests.engine.fake_api import SOL, USDC, JupiterFixture
from tests.engine.test_engine import losing, make_config
from tests.ports import IPS, free_port


class Gate:
    """A readiness gate the test opens and closes (the Jupiter supervisor in production)."""

    def __init__(self) -> None:
        self._ready = trio.Event()

    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def open(self) -> None:
        self._ready.set()

    def close(self) -> None:
        if self._ready.is_set():
            self._ready = trio.Event()


def engine_for(url: str, registry: CollectorRegistry, **kwargs: Any) -> QuoteEngine:
    send, _ = trio.open_memory_channel[Opportunity](1000)  # only losing round trips here
    return QuoteEngine.from_config(
        make_config([USDC]), jupiter_url=url, registry=registry, opportunities=send, **kwargs
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((("retry-after", "1"), ("retry-after-ms", "37")), 0.037),
        ((("retry-after", "2"),), 2.0),
        ((("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),), None),
        ((), None),
    ],
)
async def test_a_429_carries_its_retry_after(
    nursery: trio.Nursery, headers: tuple[tuple[str, str], ...], expected: float | None
) -> None:
    async def limited(request: Request) -> Response:
        return Response.json({"error": "Too many requests"}, status=429, headers=headers)

    server = HttpServer(limited, host="127.0.0.1", port=0, name="limited")
    await nursery.start(server.run)
    transport = make_transport("fast", server.url, connect_timeout=1.0, max_connections_per_ip=1)
    try:
        with pytest.raises(RateLimited) as caught:
            await JupiterClient(transport).quote(ip="", input_mint=SOL, output_mint=USDC, amount=1)
    finally:
        await transport.aclose()
    assert caught.value.retry_after == expected


async def test_5xx_answers_cool_the_ip_down(jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    fake.server_error = True
    registry = CollectorRegistry()
    engine = engine_for(url, registry)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await trio.sleep(1.0)
        snapshot = engine.allocator.snapshot()
        nursery.cancel_scope.cancel()
    for ip in snapshot:
        assert ip.server_errors >= 1
        cooldowns = registry.get_sample_value(
            "galileo_ip_cooldown_total", {"ip": ip.ip, "reason": "server_error"}
        )
        assert cooldowns is not None and cooldowns >= 1
        # strikes double from 250 ms: a second of 500s is a handful per IP, not a storm
        assert ip.server_errors <= 8


async def test_refused_connections_cool_the_ip_down_instead_of_storming() -> None:
    registry = CollectorRegistry()
    engine = engine_for(f"http://127.0.0.1:{free_port()}", registry)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await trio.sleep(2.0)
        snapshot = engine.allocator.snapshot()
        nursery.cancel_scope.cancel()
    for ip in snapshot:
        # cooldowns 0.25 → 0.5 → 1 s (+ up to 20 %): at most five attempts in two seconds
        assert 1 <= ip.connect_errors <= 5
        assert (
            registry.get_sample_value(
                "galileo_ip_cooldown_total", {"ip": ip.ip, "reason": "connect_error"}
            )
            or 0
        ) >= 1


async def test_quoting_pauses_while_the_upstream_is_not_ready(jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    losing(fake, USDC)
    gate = Gate()
    engine = engine_for(url, CollectorRegistry(), ready=gate)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await trio.sleep(0.3)
        assert fake.quotes == []  # nothing is sent to an upstream that is down
        gate.open()
        with trio.fail_after(2):
            while len(fake.quotes) < 4:  # noqa: ASYNC110 - the fake only counts
                await trio.sleep(0.01)
        gate.close()
        await trio.sleep(0.2)  # batches already paced finish
        paused_at = len(fake.quotes)
        await trio.sleep(0.3)
        assert len(fake.quotes) == paused_at
        gate.open()
        with trio.fail_after(2):
            while len(fake.quotes) == paused_at:  # noqa: ASYNC110
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert {q.ip for q in fake.quotes} == set(IPS)
