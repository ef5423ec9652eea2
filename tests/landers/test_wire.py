"""What goes on the wire: the exact request bodies, the auth header, and that secrets never
reach labels or reasons; plus the source-IP mapping following the allocator's health."""

from __future__ import annotations

import attrs
import trio
import trio.testing
from lander_helpers import landers_config, stub_built
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from galileo._config import RpcLanderConfig
from galileo._httpserver import HttpServer, Request, Response
from galileo._secret import Secret
from galileo.landers import Landers, SendMethod
from galileo.model import BuiltTx, LanderOutcome
from galileo.net import HttpxClients, IpHashRing

UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TOKEN = "RPCTOKEN9876543210"


def signed() -> BuiltTx:
    payer = Keypair()
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=payer.pubkey(), lamports=1))
    tx = VersionedTransaction(
        MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.default()), [payer]
    )
    return stub_built(tx, last_valid_block_height=100)


async def test_requests_have_the_documented_shape_and_the_auth_header(
    mock_clock: trio.testing.MockClock, clients: HttpxClients
) -> None:
    seen: list[Request] = []

    async def handler(request: Request) -> Response:
        seen.append(request)
        doc = request.json()
        if doc["method"] == "sendBundle":
            return Response.json({"jsonrpc": "2.0", "id": doc["id"], "result": "b" * 64})
        if "bundleOnly" in request.query:
            return Response.json(
                {"jsonrpc": "2.0", "id": doc["id"], "result": "sig"},
                headers=(("x-bundle-id", "c" * 64),),
            )
        return Response.json(
            {"jsonrpc": "2.0", "id": doc["id"], "error": {"code": -32002, "message": f"no {TOKEN}"}}
        )

    server = HttpServer(handler)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run)
        base = f"http://127.0.0.1:{port}"
        config = attrs.evolve(
            landers_config(bundle_only_send_transaction=True, auth_uuid=Secret(UUID)),
            rpc=RpcLanderConfig(enabled=True, endpoints=[Secret(f"{base}/{TOKEN}")]),
        )
        landers = Landers(config, clients=clients, hashring=IpHashRing([""]), jito_urls=[base])
        built = signed()
        submission = await landers.submit(built)
        nursery.cancel_scope.cancel()

    by_path = {r.path: r for r in seen}
    bundle = by_path["/api/v1/bundles"]
    assert bundle.json()["params"] == [[built.base64], {"encoding": "base64"}]
    assert bundle.headers["x-jito-auth"] == UUID
    only = by_path["/api/v1/transactions"]
    assert only.query == {"bundleOnly": "true"}
    assert only.json()["params"] == [built.base64, {"encoding": "base64"}]
    rpc = by_path[f"/{TOKEN}"]
    assert rpc.json()["method"] == "sendTransaction"
    assert rpc.json()["params"] == [
        built.base64,
        {"encoding": "base64", "skipPreflight": True, "maxRetries": 0},
    ]
    assert "x-jito-auth" not in rpc.headers  # the UUID is for Jito only
    results = {r.method: r for r in submission.results}
    assert results[SendMethod.BUNDLE].bundle_id == "b" * 64
    assert results[SendMethod.BUNDLE_ONLY].bundle_id == "c" * 64
    rejected = results[SendMethod.SEND_TRANSACTION].result
    assert rejected.outcome is LanderOutcome.REJECTED
    assert rejected.reason is not None and TOKEN not in rejected.reason
    assert submission.bundle_ids == ("b" * 64, "c" * 64)
    for r in submission.results:
        assert TOKEN not in r.result.endpoint and UUID not in (r.result.reason or "")


def test_the_endpoint_follows_the_allocators_health_and_comes_back() -> None:
    healthy = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    ring = IpHashRing(list(healthy))
    landers = Landers(
        landers_config(),
        clients=HttpxClients(),
        hashring=ring,
        jito_urls=["http://127.0.0.1:1/ny", "http://127.0.0.1:1/tokyo"],
        healthy=lambda: healthy,
        clock=lambda: 0.0,
    )
    ny, tokyo = landers.endpoints
    first_ny, first_tokyo = landers.ip_for(ny), landers.ip_for(tokyo)
    assert first_ny is not None and first_tokyo is not None
    healthy.remove(first_ny)  # the quote path put it into a cooldown
    moved = landers.ip_for(ny)
    assert moved is not None and moved != first_ny
    assert moved == ring.order(ny.key)[1]  # its next best
    if first_tokyo != first_ny:
        assert landers.ip_for(tokyo) == first_tokyo  # others stay where they were
    healthy.append(first_ny)
    assert landers.ip_for(ny) == first_ny
