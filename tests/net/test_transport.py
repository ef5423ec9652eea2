"""The quote-path transports: keep-alive, source IPs, framing, failures as typed errors."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from galileo.net import (
    ConnectFailed,
    ConnectionReset,
    FastTransport,
    HttpxTransport,
    MalformedResponse,
    QuoteTransport,
    TransportErrorKind,
    TransportFaultCollector,
    TransportTimeout,
    make_transport,
)
from tests.net.servers import HttpServerFixture, RawServers
from tests.ports import free_port

TRANSPORTS = ["fast", "httpx"]


def soon(seconds: float = 5.0) -> float:
    return trio.current_time() + seconds


def _transport(
    kind: str, url: str, *, connect_timeout: float = 1.0, max_connections_per_ip: int = 4
) -> QuoteTransport:
    return make_transport(
        kind, url, connect_timeout=connect_timeout, max_connections_per_ip=max_connections_per_ip
    )


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_get_and_post_round_trip(kind: str, http_server: HttpServerFixture) -> None:
    server, _ = http_server
    transport = _transport(kind, server.url)
    try:
        got = await transport.request("", "GET", "/quote?amount=5", deadline=soon())
        assert got.status == 200
        assert json.loads(got.body)["query"] == {"amount": "5"}
        posted = await transport.request(
            "", "POST", "/swap-instructions", body=b'{"a":1}', deadline=soon()
        )
        assert json.loads(posted.body)["body"] == '{"a":1}'
        assert got.header("content-type") == "application/json"
    finally:
        await transport.aclose()


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_requests_leave_from_the_leased_source_ip(
    kind: str, http_server: HttpServerFixture
) -> None:
    server, recorder = http_server
    transport = _transport(kind, server.url)
    try:
        for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.2"):
            await transport.request(ip, "GET", "/quote", deadline=soon())
    finally:
        await transport.aclose()
    assert [r.client_host for r in recorder.requests] == ["127.0.0.2", "127.0.0.3", "127.0.0.2"]


async def test_connections_are_kept_alive_and_reused_per_ip(http_server: HttpServerFixture) -> None:
    server, recorder = http_server
    transport = FastTransport(server.url)
    try:
        for _ in range(5):
            await transport.request("127.0.0.2", "GET", "/quote", deadline=soon())
        await transport.request("127.0.0.3", "GET", "/quote", deadline=soon())
        assert transport.pool("127.0.0.2").connects == 1
        assert transport.pool("127.0.0.3").connects == 1
    finally:
        await transport.aclose()
    ports = {r.client_port for r in recorder.requests if r.client_host == "127.0.0.2"}
    assert len(ports) == 1


async def test_concurrent_requests_open_at_most_the_pool_size(
    http_server: HttpServerFixture,
) -> None:
    server, _ = http_server
    transport = FastTransport(server.url, max_connections_per_ip=3)
    try:
        async with trio.open_nursery() as nursery:
            for _ in range(12):
                nursery.start_soon(
                    lambda: transport.request("127.0.0.2", "GET", "/quote", deadline=soon())
                )
        assert transport.pool("127.0.0.2").connects <= 3
    finally:
        await transport.aclose()


async def test_a_connection_close_response_is_not_reused(http_server: HttpServerFixture) -> None:
    server, _ = http_server
    transport = FastTransport(server.url)
    try:
        await transport.request("", "GET", "/close", deadline=soon())
        await transport.request("", "GET", "/quote", deadline=soon())
        assert transport.pool("").connects == 2
    finally:
        await transport.aclose()


async def test_a_silently_closed_idle_connection_is_replaced(raw: RawServers) -> None:
    closed = trio.Event()

    async def one_answer_then_close(stream: trio.SocketStream, index: int) -> None:
        buffer = bytearray()
        if await raw.read_request(stream, buffer):
            body = b'{"conn":%d}' % index
            await stream.send_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            )
        # close without "Connection: close", like a server's idle timeout
        await stream.aclose()
        closed.set()

    port = await raw.start(one_answer_then_close)
    transport = FastTransport(f"http://127.0.0.1:{port}")
    try:
        first = await transport.request("", "GET", "/q", deadline=soon())
        with trio.fail_after(5):
            await closed.wait()  # the pooled connection is now dead
        second = await transport.request("", "GET", "/q", deadline=soon())
        assert transport.faults()[""].resets_retried == 1  # counted, not silent
    finally:
        await transport.aclose()
    assert json.loads(first.body) == {"conn": 0}
    assert json.loads(second.body) == {"conn": 1}


async def test_chunked_bodies_and_back_to_back_responses(raw: RawServers) -> None:
    async def chunked(stream: trio.SocketStream, index: int) -> None:
        buffer = bytearray()
        while await raw.read_request(stream, buffer):
            await stream.send_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (b'{"in', b'Amount":', b'"12"}'):
                await stream.send_all(b"%x\r\n%s\r\n" % (len(piece), piece))
            await stream.send_all(b"0\r\n\r\n")

    port = await raw.start(chunked)
    transport = FastTransport(f"http://127.0.0.1:{port}")
    try:
        for _ in range(3):
            got = await transport.request("", "GET", "/q", deadline=soon())
            assert json.loads(got.body) == {"inAmount": "12"}
        assert transport.pool("").connects == 1
    finally:
        await transport.aclose()


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_reset_without_answer_is_a_connection_reset(
    kind: str, http_server: HttpServerFixture
) -> None:
    server, _ = http_server
    transport = _transport(kind, server.url)
    try:
        with pytest.raises(ConnectionReset) as caught:
            await transport.request("127.0.0.2", "GET", "/reset", deadline=soon())
        assert caught.value.kind is TransportErrorKind.RESET
        # the pool recovers: the next request works
        assert (
            await transport.request("127.0.0.2", "GET", "/quote", deadline=soon())
        ).status == 200
    finally:
        await transport.aclose()


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_truncated_body_is_a_connection_reset(
    kind: str, http_server: HttpServerFixture
) -> None:
    server, _ = http_server
    transport = _transport(kind, server.url)
    try:
        with pytest.raises(ConnectionReset):
            await transport.request("", "GET", "/truncate", deadline=soon())
    finally:
        await transport.aclose()


async def test_malformed_response_is_typed(raw: RawServers) -> None:
    async def garbage(stream: trio.SocketStream, index: int) -> None:
        buffer = bytearray()
        if await raw.read_request(stream, buffer):
            await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n")

    port = await raw.start(garbage)
    transport = FastTransport(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(MalformedResponse):
            await transport.request("", "GET", "/q", deadline=soon())
    finally:
        await transport.aclose()


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_refused_connect_is_typed(kind: str) -> None:
    transport = _transport(kind, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        with pytest.raises(ConnectFailed):
            await transport.request("", "GET", "/q", deadline=soon())
    finally:
        await transport.aclose()


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_stalled_server_hits_the_request_deadline(
    kind: str, http_server: HttpServerFixture, autojump_clock: trio.testing.MockClock
) -> None:
    server, _ = http_server
    transport = _transport(kind, server.url)
    try:
        with pytest.raises(TransportTimeout) as caught:
            await transport.request("", "GET", "/slow", deadline=soon(2.0))
        assert caught.value.kind is TransportErrorKind.TIMEOUT
    finally:
        await transport.aclose()


def test_fast_transport_refuses_https() -> None:
    with pytest.raises(ValueError, match="plain http"):
        FastTransport("https://quote-api.jup.ag")


def test_httpx_transport_is_selectable() -> None:
    assert isinstance(
        make_transport("httpx", "http://127.0.0.1:1", connect_timeout=1, max_connections_per_ip=1),
        HttpxTransport,
    )
    https = make_transport(
        "fast", "https://api.example", connect_timeout=1, max_connections_per_ip=1
    )
    assert isinstance(https, HttpxTransport)
    with pytest.raises(ValueError):
        make_transport("curl", "http://127.0.0.1:1", connect_timeout=1, max_connections_per_ip=1)


async def test_resets_and_stalls_are_counted_per_ip_and_exported(
    http_server: HttpServerFixture, autojump_clock: trio.testing.MockClock
) -> None:
    server, _ = http_server
    transport = FastTransport(server.url)
    registry = CollectorRegistry()
    registry.register(TransportFaultCollector(transport.faults))
    try:
        with pytest.raises(ConnectionReset):
            await transport.request("127.0.0.2", "GET", "/reset", deadline=soon())
        with pytest.raises(TransportTimeout):
            await transport.request("127.0.0.2", "GET", "/slow", deadline=soon(2.0))

        def sample(name: str, **labels: str) -> float | None:
            return registry.get_sample_value(name, {"ip": "127.0.0.2", **labels})

        assert sample("galileo_transport_resets_total", retried="false") == 1
        assert sample("galileo_transport_resets_total", retried="true") == 0
        assert sample("galileo_transport_stalls_total") == 1
    finally:
        await transport.aclose()
