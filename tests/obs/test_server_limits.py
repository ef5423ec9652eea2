"""The status server under clients that misbehave: HTTP/1.0, ``Connection: close``, oversized
heads, too many or idle connections, floods, and a process out of file descriptors. Raw
sockets on loopback, so the tests see exactly what a client sees."""

from __future__ import annotations

import errno
import io
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

import trio
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from galileo._config import LoggingConfig
from galileo._httpserver import HttpServer, Request, Response
from galileo.obs import MetricsServer, configure_logging, reset_logging


async def serve(nursery: trio.Nursery, server: MetricsServer) -> int:
    port: int = await nursery.start(server.run)
    return port


async def exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw``, then read until the server closes the connection."""
    received = b""
    with trio.fail_after(5):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(raw)
            while data := await stream.receive_some(65536):
                received += data
    return received


def status_line(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode()


def body_of(answer: bytes) -> Any:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


async def test_an_http_1_0_request_is_answered_then_the_connection_closes() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, MetricsServer(CollectorRegistry()))
        answer = await exchange(port, b"GET /health HTTP/1.0\r\n\r\n")
        nursery.cancel_scope.cancel()
    assert status_line(answer) == "HTTP/1.1 503 Service Unavailable"
    assert body_of(answer) == {"status": "starting"}


async def test_a_connection_close_request_is_answered_then_the_connection_closes() -> None:
    server = MetricsServer(CollectorRegistry())
    server.set_ready()
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, server)
        answer = await exchange(
            port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        nursery.cancel_scope.cancel()
    assert status_line(answer) == "HTTP/1.1 200 OK"
    assert b"connection: close" in answer.lower()
    assert body_of(answer) == {"status": "ready"}


async def test_an_oversized_request_head_is_answered_431_not_reset() -> None:
    huge = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 200_000 + b"\r\n\r\n"
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, MetricsServer(CollectorRegistry()))
        answer = await exchange(port, huge)
        nursery.cancel_scope.cancel()
    assert status_line(answer) == "HTTP/1.1 431 Request Header Fields Too Large"


async def test_a_malformed_request_is_answered_400() -> None:
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, MetricsServer(CollectorRegistry()))
        answer = await exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
        nursery.cancel_scope.cancel()
    assert status_line(answer) == "HTTP/1.1 400 Bad Request"


async def test_beyond_the_connection_cap_clients_wait_until_a_slot_frees() -> None:
    server = MetricsServer(CollectorRegistry(), max_connections=2)
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, server)
        # Two kept-alive clients hold both slots.
        idle = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(2)]
        for stream in idle:
            await stream.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            with trio.fail_after(5):
                assert b"503" in await stream.receive_some(65536)
        waiting = await trio.open_tcp_stream("127.0.0.1", port)
        await waiting.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.move_on_after(0.5) as still_waiting:
            await waiting.receive_some(65536)
        assert still_waiting.cancelled_caught  # not accepted: no answer
        assert server.open_connections == 2

        await idle[0].aclose()
        with trio.fail_after(5):
            answer = await waiting.receive_some(65536)
        nursery.cancel_scope.cancel()
    assert status_line(answer) == "HTTP/1.1 503 Service Unavailable"
    for stream in (idle[1], waiting):
        await stream.aclose()


async def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    server = MetricsServer(CollectorRegistry(), idle_timeout_s=0.2)
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, server)
        silent = await trio.open_tcp_stream("127.0.0.1", port)
        kept_alive = await trio.open_tcp_stream("127.0.0.1", port)
        await kept_alive.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(5):
            answer = await kept_alive.receive_some(65536)
            # Both are closed by the server (EOF), one having said nothing at all, the other
            # nothing after its first request.
            assert await silent.receive_some(65536) == b""
            assert await kept_alive.receive_some(65536) == b""
        nursery.cancel_scope.cancel()
    assert status_line(answer) == "HTTP/1.1 503 Service Unavailable"
    assert server.open_connections == 0
    for stream in (silent, kept_alive):
        await stream.aclose()


class CountingCollector(Collector):
    """A collector that counts how often the registry is rendered."""

    def __init__(self) -> None:
        self.collected = 0

    def collect(self) -> Iterable[GaugeMetricFamily]:
        self.collected += 1
        yield GaugeMetricFamily("test_renders", "How often /metrics was rendered.", self.collected)


async def test_a_flood_renders_metrics_and_status_once_per_refresh() -> None:
    registry = CollectorRegistry()
    counter = CountingCollector()
    registry.register(counter)
    status_calls = 0

    def status() -> Mapping[str, Any]:
        nonlocal status_calls
        status_calls += 1
        return {"calls": status_calls}

    server = MetricsServer(registry, status=status, refresh_s=60.0, max_requests_per_s=100_000.0)
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, server)
        request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /status HTTP/1.1\r\nHost: x\r\n\r\n"
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            for _ in range(50):
                await stream.send_all(request)
            await stream.send_all(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
            received = b""
            with trio.fail_after(10):
                while data := await stream.receive_some(65536):
                    received += data
        nursery.cancel_scope.cancel()
    assert received.count(b"HTTP/1.1 200 OK") == 100
    assert counter.collected == 1
    assert status_calls == 1
    assert received.count(b'{"calls":1}') == 50


async def test_snapshots_are_rendered_again_once_refresh_s_passed() -> None:
    calls = 0

    def status() -> Mapping[str, Any]:
        nonlocal calls
        calls += 1
        return {"calls": calls}

    server = MetricsServer(CollectorRegistry(), status=status, refresh_s=0.05)
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, server)
        first = await exchange(port, b"GET /status HTTP/1.0\r\n\r\n")
        await trio.sleep(0.1)
        second = await exchange(port, b"GET /status HTTP/1.0\r\n\r\n")
        nursery.cancel_scope.cancel()
    assert (body_of(first), body_of(second)) == ({"calls": 1}, {"calls": 2})


async def test_an_expensive_snapshot_is_kept_longer_so_rendering_stays_a_small_share() -> None:
    calls = 0

    def slow_status() -> Mapping[str, Any]:
        nonlocal calls
        calls += 1
        time.sleep(0.03)  # a render that blocks the loop for 30 ms
        return {"calls": calls}

    server = MetricsServer(CollectorRegistry(), status=slow_status, refresh_s=0.05)
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, server)
        first = await exchange(port, b"GET /status HTTP/1.0\r\n\r\n")
        await trio.sleep(0.2)  # past refresh_s, well within 30 ms / 1 % = 3 s
        second = await exchange(port, b"GET /status HTTP/1.0\r\n\r\n")
        nursery.cancel_scope.cancel()
    assert body_of(first) == body_of(second) == {"calls": 1}


async def test_requests_beyond_the_rate_wait_for_their_turn() -> None:
    # A lower bound only (sleeps never end early): 10 requests at 20/s take at least 0.45 s.
    server = MetricsServer(CollectorRegistry(), max_requests_per_s=20.0)
    async with trio.open_nursery() as nursery:
        port = await serve(nursery, server)
        started = trio.current_time()
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            for _ in range(10):
                await stream.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                with trio.fail_after(5):
                    assert b"503" in await stream.receive_some(65536)
        elapsed = trio.current_time() - started
        nursery.cancel_scope.cancel()
    assert elapsed >= 0.45


class ExhaustedListener(trio.abc.Listener[trio.SocketStream]):
    """A real listener whose first ``failures`` accepts fail as in a process at its
    open-file limit."""

    def __init__(self, inner: trio.SocketListener, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    async def accept(self) -> trio.SocketStream:
        await trio.lowlevel.checkpoint()
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return await self.inner.accept()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_running_out_of_descriptors_is_logged_once_as_json_and_then_recovers() -> None:
    async def ok(request: Request) -> Response:
        return Response.json({"ok": True})

    out = io.StringIO()
    configure_logging(LoggingConfig(level="debug"), stream=out, force_format="json")
    try:
        [listener] = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listener.socket.getsockname()[1]
        server = HttpServer(ok, name="status")
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve, [ExhaustedListener(listener, failures=5)])
            answer = await exchange(port, b"GET / HTTP/1.0\r\n\r\n")
            nursery.cancel_scope.cancel()
    finally:
        reset_logging()

    assert status_line(answer) == "HTTP/1.1 200 OK"
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["level"], line["event"]) for line in lines] == [
        ("warning", "cannot accept connections"),
        ("info", "accepting again"),
    ]
    assert lines[0]["errno"] == "EMFILE"
    assert lines[0]["error"] == "Too many open files"
    assert lines[1]["failed_accepts"] == 5
    assert all("exc" not in line for line in lines)  # no traceback
