"""What goes on the wire: the exact request bodies, the auth header, and that secrets never
reach labels or reasons; plus the endpoint → source IP order and the admission check over
every IP (no network)."""

from __future__ import annotations

from typing import Any

import attrs
import trio
import trio.testing
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from galileo._config import RpcLanderConfig
from galileo._httpserver import HttpServer, Request, Response
from galileo._secret import Secret
from galileo.landers import IP_REMOVED, Endpoint, Landers, SendMethod, lander_upstream
from galileo.model import BuiltTx, LanderOutcome, LeaseKind, LeaseResult
from galileo.net import HttpxClients, IpHashRing
from tests.landers.lander_helpers import landers_config, stub_built

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


def _pure_landers(ips: list[str], now: list[float], **jito: Any) -> Landers:
    """Landers that never touch the network (routing and admission only), on clock ``now``."""
    return Landers(
        landers_config(**jito),
        clients=HttpxClients(),
        hashring=IpHashRing(ips),
        jito_urls=["http://127.0.0.1:1/ny", "http://127.0.0.1:1/tokyo"],
        clock=lambda: now[0],
    )


def _rate_limited(landers: Landers, endpoint: Endpoint, ip: str) -> None:
    """A 429 for (``endpoint``, ``ip``), as the shared allocator records it."""
    landers.leases.mark_result(
        ip,
        LeaseResult.RATE_LIMITED,
        task=LeaseKind.LANDER,
        upstream=lander_upstream(endpoint),
        retry_after=1.0,
    )


def test_only_the_landers_own_cooldown_moves_an_endpoint_to_its_next_ip_and_back() -> None:
    ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    now = [0.0]
    landers = _pure_landers(ips, now)
    ring = IpHashRing(ips)
    ny, tokyo = landers.endpoints
    assert landers.ip_order(ny) == tuple(ring.order(ny.key))
    first_ny, first_tokyo = landers.ip_for(ny), landers.ip_for(tokyo)
    assert first_ny == ring.order(ny.key)[0] and first_tokyo == ring.order(tokyo.key)[0]

    _rate_limited(landers, ny, first_ny)  # a 429 for (ny, its first IP)

    assert landers.usable_ips(ny) == list(ring.order(ny.key)[1:])
    assert landers.ip_for(ny) == ring.order(ny.key)[1]  # its next best
    assert landers.ip_for(tokyo) == first_tokyo  # other endpoints stay where they were
    now[0] += landers.cooling_down(ny, first_ny) + 0.001
    assert landers.ip_for(ny) == first_ny  # back once the cooldown is over


def test_admission_counts_the_tokens_of_every_source_ip_of_an_endpoint() -> None:
    now = [0.0]
    # 1 per second per (endpoint, IP), burst 1, a 0.5 s wait budget: one send per IP now.
    one = _pure_landers(["127.0.0.2"], now, requests_per_second=1.0, queue_timeout_ms=500)
    four = _pure_landers(
        ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"],
        now,
        requests_per_second=1.0,
        queue_timeout_ms=500,
    )
    assert one.can_send(queued=0) and not one.can_send(queued=1)
    assert four.can_send(queued=3) and not four.can_send(queued=4)

    ny, tokyo = four.endpoints
    for ip in four.ip_order(ny)[:3]:
        _rate_limited(four, ny, ip)  # cooling down: its tokens do not count
        _rate_limited(four, tokyo, ip)
    assert four.can_send(queued=0) and not four.can_send(queued=1)


def test_admission_charges_send_bundle_and_bundle_only_to_the_same_buckets() -> None:
    now = [0.0]
    ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
    landers = _pure_landers(
        ips, now, requests_per_second=1.0, queue_timeout_ms=500, bundle_only_send_transaction=True
    )
    # 4 tokens per region; each submission on its way takes two (sendBundle + bundle-only).
    assert landers.can_send(queued=1) and not landers.can_send(queued=2)


async def test_removing_an_ip_cancels_the_sends_in_flight_on_it_alone(
    clients: HttpxClients,
) -> None:
    ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
    ring = IpHashRing(ips)
    regions = ["ny", "tokyo", "amsterdam", "frankfurt", "slc", "london"]
    arrived: dict[str, trio.Event] = {region: trio.Event() for region in regions}
    release = trio.Event()

    async def handler(request: Request) -> Response:
        arrived[request.path.split("/")[1]].set()
        await release.wait()
        doc = request.json()
        return Response.json({"jsonrpc": "2.0", "id": doc["id"], "result": "b" * 64})

    server = HttpServer(handler)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run)
        base = f"http://127.0.0.1:{port}"
        probe = Landers(
            landers_config(),
            clients=clients,
            hashring=ring,
            jito_urls=[f"{base}/{r}" for r in regions],
        )
        first = {r: probe.ip_order(e)[0] for r, e in zip(regions, probe.endpoints, strict=True)}
        kept = next(r for r in regions[1:] if first[r] != first[regions[0]])
        gone = regions[0]
        landers = Landers(
            landers_config(),
            clients=clients,
            hashring=ring,
            jito_urls=[f"{base}/{gone}", f"{base}/{kept}"],
        )
        submissions = []

        async def submit() -> None:
            submissions.append(await landers.submit(signed()))

        nursery.start_soon(submit)
        with trio.fail_after(10):
            await arrived[gone].wait()
            await arrived[kept].wait()

        landers.leases.remove_ip(first[gone])
        landers.remove_ip(first[gone])
        await trio.sleep(0.05)
        assert not submissions  # the kept send is still on the wire
        release.set()
        with trio.fail_after(10):
            while not submissions:  # noqa: ASYNC110 - a result, no event
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()

    by_endpoint = {r.result.endpoint.rsplit("/", 1)[1]: r for r in submissions[0].results}
    assert by_endpoint[gone].result.outcome is LanderOutcome.TIMEOUT
    assert by_endpoint[gone].result.reason == IP_REMOVED
    assert by_endpoint[kept].result.outcome is LanderOutcome.ACCEPTED
    assert first[gone] not in landers.ip_order(landers.endpoints[0])
