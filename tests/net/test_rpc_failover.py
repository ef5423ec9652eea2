"""RPC failover: a call moves from a failing endpoint to the next within its deadline, a
failed endpoint is skipped while it is down and tried again afterwards, an answer (even an
error envelope) never fails over, and every request is counted per endpoint."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from galileo._secret import Secret
from galileo.net import JsonRpcClient, RpcError, RpcMetrics

TOKEN = "FAILOVER-TOKEN-0042"
PRIMARY = f"https://primary.example/?api-key={TOKEN}"
FALLBACK = "https://fallback.example/"


class Upstreams:
    """Two fake RPCs: ``behaviour[host]`` says how each answers."""

    def __init__(self) -> None:
        self.behaviour = {"primary.example": "ok", "fallback.example": "ok"}
        self.hits: Counter[str] = Counter()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.hits[host] += 1
        how = self.behaviour[host]
        body = json.loads(request.content)
        if how == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if how == "503":
            return httpx.Response(503, text="unavailable")
        if how == "429":
            return httpx.Response(429, text="slow down")
        if how == "stall":
            await trio.sleep(60)
        if how == "envelope":
            error = {"code": -32602, "message": "invalid params"}
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "error": error})
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": host})


def client(upstreams: Upstreams, registry: CollectorRegistry) -> JsonRpcClient:
    transport = httpx.AsyncClient(transport=httpx.MockTransport(upstreams))
    return JsonRpcClient(
        Secret(PRIMARY),
        client=transport,
        fallbacks=[Secret(FALLBACK)],
        metrics=RpcMetrics(registry),
        timeout_s=2.0,
    )


def count(registry: CollectorRegistry, endpoint: str, result: str) -> float:
    labels = {"method": "getSlot", "endpoint": endpoint, "result": result}
    return registry.get_sample_value("galileo_rpc_requests_total", labels) or 0.0


@pytest.mark.parametrize("failure", ["refused", "503", "429", "stall"])
async def test_a_failing_primary_fails_over_to_the_fallback_within_the_deadline(
    failure: str, autojump_clock: trio.testing.MockClock
) -> None:
    upstreams, registry = Upstreams(), CollectorRegistry()
    rpc = client(upstreams, registry)
    upstreams.behaviour["primary.example"] = failure
    started = trio.current_time()

    assert await rpc.call("getSlot") == "fallback.example"

    assert trio.current_time() - started <= 2.0
    primary, fallback = rpc.labels
    assert TOKEN not in primary
    assert count(registry, fallback, "ok") == 1
    assert registry.get_sample_value("galileo_rpc_failovers_total", {"endpoint": primary}) == 1
    assert rpc.healthy() == [fallback]


async def test_a_primary_that_is_down_is_skipped_then_tried_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    upstreams, registry = Upstreams(), CollectorRegistry()
    rpc = client(upstreams, registry)
    upstreams.behaviour["primary.example"] = "refused"
    await rpc.call("getSlot")
    upstreams.behaviour["primary.example"] = "ok"

    assert await rpc.call("getSlot") == "fallback.example"  # still down: not asked
    assert upstreams.hits["primary.example"] == 1
    await trio.sleep(1.5)
    assert await rpc.call("getSlot") == "primary.example"  # back after its down time
    assert rpc.healthy() == rpc.labels


async def test_an_error_envelope_is_an_answer_and_never_fails_over() -> None:
    upstreams, registry = Upstreams(), CollectorRegistry()
    rpc = client(upstreams, registry)
    upstreams.behaviour["primary.example"] = "envelope"

    with pytest.raises(RpcError, match="invalid params"):
        await rpc.call("getSlot")

    assert upstreams.hits["fallback.example"] == 0
    assert count(registry, rpc.labels[0], "rpc_error") == 1


async def test_when_every_endpoint_fails_the_last_error_is_raised(
    autojump_clock: trio.testing.MockClock,
) -> None:
    upstreams, registry = Upstreams(), CollectorRegistry()
    rpc = client(upstreams, registry)
    upstreams.behaviour = {"primary.example": "503", "fallback.example": "refused"}

    with pytest.raises(RpcError, match="transport"):
        await rpc.call("getSlot")
    assert count(registry, rpc.labels[0], "http_5xx") == 1
    assert count(registry, rpc.labels[1], "transport") == 1
    # both down now: the next call still tries them, the one back soonest first
    upstreams.behaviour = {"primary.example": "ok", "fallback.example": "ok"}
    assert await rpc.call("getSlot") == "primary.example"


def test_a_repeated_url_is_one_endpoint() -> None:
    rpc = JsonRpcClient(Secret(FALLBACK), fallbacks=[Secret(FALLBACK)])
    assert len(rpc.labels) == 1
