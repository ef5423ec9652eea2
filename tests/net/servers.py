"""Servers for the transport tests: galileo's h11 server for normal traffic, raw trio sockets
for protocol edge cases (chunking, resets, stalls, silent closes). The fixtures serving them
(``http_server``, ``raw``) are in tests/net/conftest.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeAlias

import trio

from galileo._httpserver import HttpServer, Request, Response

RawHandler: TypeAlias = Callable[[trio.SocketStream, int], Awaitable[None]]


class Recorder:
    """Remembers who asked what (source IP, path, body) and answers JSON."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if request.path == "/slow":
            await trio.sleep_forever()
        if request.path == "/close":
            return Response.json({"ok": True}, headers=(("connection", "close"),))
        if request.path == "/reset":
            return Response(reset=True)
        if request.path == "/truncate":
            return Response.json({"pad": "x" * 100}, truncate_at=10)
        return Response.json(
            {
                "path": request.path,
                "query": dict(request.query),
                "from": request.client_host,
                "body": request.body.decode(),
            }
        )


async def start_raw_server(nursery: trio.Nursery, handler: RawHandler) -> int:
    """A TCP server on 127.0.0.1 calling ``handler(stream, connection_index)``."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    counter = iter(range(1_000_000))

    async def serve(stream: trio.SocketStream) -> None:
        try:
            await handler(stream, next(counter))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await stream.aclose()

    nursery.start_soon(trio.serve_listeners, serve, listeners)
    port: int = listeners[0].socket.getsockname()[1]
    return port


async def read_request(stream: trio.SocketStream, buffer: bytearray) -> bool:
    """Consume one request head (our clients send GETs without bodies in these tests)."""
    while b"\r\n\r\n" not in buffer:
        data = await stream.receive_some(65536)
        if not data:
            return False
        buffer += data
    end = buffer.index(b"\r\n\r\n") + 4
    del buffer[:end]
    return True


class RawServers:
    """Fixture object: ``await raw.start(handler)`` -> port; ``raw.read_request``."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery

    async def start(self, handler: RawHandler) -> int:
        return await start_raw_server(self._nursery, handler)

    read_request = staticmethod(read_request)


# What the ``http_server`` fixture yields: the server and the handler that records requests.
HttpServerFixture: TypeAlias = tuple[HttpServer, Recorder]
