"""The metrics endpoint, served by a trio task and queried over real loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
import pytest
import trio

from galileo._secret import Secret
from galileo.obs import MetricsServer, Recorder, create_registry

TOKEN = "sk_live_0a1b2c3d4e5f"
RPC_URL = f"https://rpc.example.com/?api-key={TOKEN}"


def status_with_secrets() -> Mapping[str, Any]:
    return {
        "mode": "sim",
        "inflight": 3,
        "profit_lamports": 12_345_678_901,
        "rpc": RPC_URL,
        "nested": {"note": f"using key {TOKEN} today", "secret": Secret(RPC_URL)},
    }


async def serve(
    nursery: trio.Nursery, status: Callable[[], Mapping[str, Any]] | None
) -> tuple[MetricsServer, Recorder]:
    registry = create_registry(version="9.9.9", fast_backend="python")
    recorder = Recorder(registry)
    recorder.observe("quote", 0.012)
    server = MetricsServer(registry, port=0, status=status, secrets=[Secret(RPC_URL)])
    port = await nursery.start(server.run)
    assert port == server.port != 0
    return server, recorder


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


async def test_metrics_serves_prometheus_text_with_galileo_metrics(
    client: httpx.AsyncClient,
) -> None:
    async with trio.open_nursery() as nursery:
        server, _ = await serve(nursery, status_with_secrets)
        response = await client.get(f"{server.url}/metrics")
        nursery.cancel_scope.cancel()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert 'galileo_build_info{fast_backend="python",version="9.9.9"} 1.0' in body
    assert 'galileo_stage_seconds_count{stage="quote"} 1.0' in body
    assert "process_cpu_seconds_total" in body


async def test_health_is_503_until_ready_then_200_and_503_again_when_withdrawn(
    client: httpx.AsyncClient,
) -> None:
    async with trio.open_nursery() as nursery:
        server, _ = await serve(nursery, None)
        before = await client.get(f"{server.url}/health")
        server.set_ready()
        ready = await client.get(f"{server.url}/health")
        server.set_ready(False)
        withdrawn = await client.get(f"{server.url}/health")
        nursery.cancel_scope.cancel()
    assert (before.status_code, before.json()) == (503, {"status": "starting"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert (withdrawn.status_code, withdrawn.json()) == (503, {"status": "not ready"})


async def test_status_is_json_with_ints_kept_and_secrets_masked(
    client: httpx.AsyncClient,
) -> None:
    async with trio.open_nursery() as nursery:
        server, _ = await serve(nursery, status_with_secrets)
        response = await client.get(f"{server.url}/status")
        nursery.cancel_scope.cancel()
    assert response.status_code == 200
    assert TOKEN not in response.text
    status = response.json()
    assert status["profit_lamports"] == 12_345_678_901
    assert status["rpc"] == "https://rpc.example.com/***"
    assert status["nested"]["secret"] == "https://rpc.example.com/***"
    assert status["nested"]["note"] == "using key *** today"
    assert status["mode"] == "sim"


async def test_a_failing_status_callable_gives_500_and_the_server_keeps_serving(
    client: httpx.AsyncClient,
) -> None:
    def broken() -> Mapping[str, Any]:
        raise RuntimeError(f"cannot reach {RPC_URL}")

    async with trio.open_nursery() as nursery:
        server, _ = await serve(nursery, broken)
        failed = await client.get(f"{server.url}/status")
        still_up = await client.get(f"{server.url}/health")
        nursery.cancel_scope.cancel()
    assert failed.status_code == 500
    assert TOKEN not in failed.text
    assert still_up.status_code == 503


async def test_unknown_paths_are_404_and_other_methods_405(client: httpx.AsyncClient) -> None:
    async with trio.open_nursery() as nursery:
        server, _ = await serve(nursery, None)
        missing = await client.get(f"{server.url}/nope")
        post = await client.post(f"{server.url}/metrics", content=b"x")
        nursery.cancel_scope.cancel()
    assert missing.status_code == 404
    assert post.status_code == 405


async def test_the_status_page_without_a_callable_reports_readiness(
    client: httpx.AsyncClient,
) -> None:
    async with trio.open_nursery() as nursery:
        server, _ = await serve(nursery, None)
        server.set_ready()
        response = await client.get(f"{server.url}/status")
        nursery.cancel_scope.cancel()
    assert response.json() == {"ready": True}


def test_the_registry_names_this_build_by_default_and_is_never_the_global_one() -> None:
    import prometheus_client

    import galileo

    registry = create_registry(process_metrics=False)
    assert registry is not prometheus_client.REGISTRY
    value = registry.get_sample_value(
        "galileo_build_info",
        {"version": galileo.__version__, "fast_backend": galileo.fast_backend()},
    )
    assert value == 1.0
    assert registry.get_sample_value("process_cpu_seconds_total") is None


def test_one_recorder_can_be_exported_on_two_registries() -> None:
    first, second = create_registry(), create_registry()
    recorder = Recorder(first)
    recorder.register(second)
    recorder.observe("sign", 0.001)
    for registry in (first, second):
        assert registry.get_sample_value("galileo_stage_seconds_count", {"stage": "sign"}) == 1
