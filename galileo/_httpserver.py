"""A small HTTP/1.1 server on trio streams (h11), shared by the metrics endpoint and the
simulated world's faces.

Handlers are ``async def handler(request) -> Response``. Besides normal responses a handler
can ask the server to misbehave on purpose (reset the connection, truncate the body), which is
how the simulated world injects transport faults without touching sockets itself.
Keep-alive is honoured; every connection is owned by the server's nursery.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import h11
import trio

_log = logging.getLogger("galileo.http")

_REASONS = {
    200: b"OK",
    204: b"No Content",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Payload Too Large",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
}


@attrs.frozen
class Request:
    """One parsed request. Header names are lower-case; query keeps the last value per key."""

    method: str
    target: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    client_host: str
    client_port: int
    local_port: int

    def json(self) -> Any:
        """The body decoded as JSON (raises ``ValueError`` on malformed input)."""
        return json.loads(self.body)


@attrs.frozen
class Response:
    """What to send back.

    ``reset``: close the connection without answering (a connection reset as the client sees
    it). ``truncate_at``: announce the full Content-Length, send only that many body bytes,
    then close — a truncated body.
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    reset: bool = False
    truncate_at: int | None = None

    @classmethod
    def json(cls, payload: Any, status: int = 200, **kwargs: Any) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status=status, body=body, **kwargs)

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> Response:
        return cls(status=status, body=text.encode(), content_type=content_type)


Handler = Callable[[Request], Awaitable[Response]]


class HttpServer:
    """Serve ``handler`` on ``host:port`` (port 0 picks a free one; see ``.port`` once started).

    ``idle_timeout`` bounds how long a keep-alive connection may sit without a request;
    ``max_body`` bounds request bodies (413 beyond it).
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "http",
        idle_timeout: float = 60.0,
        max_body: int = 4 * 1024 * 1024,
    ) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self.name = name
        self._idle_timeout = idle_timeout
        self._max_body = max_body

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen, report the bound port through ``task_status``, serve until cancelled."""
        listeners = await trio.open_tcp_listeners(self.port, host=self.host)
        self.port = listeners[0].socket.getsockname()[1]
        _log.debug("listening", extra={"fields": {"server": self.name, "url": self.url}})
        task_status.started(self.port)
        await trio.serve_listeners(self._serve_connection, listeners)

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        peer = stream.socket.getpeername()
        local = stream.socket.getsockname()
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        try:
            while True:
                request = await self._read_request(conn, stream, peer, local[1])
                if request is None:
                    return
                try:
                    response = await self._handler(request)
                except Exception:
                    _log.exception(
                        "handler failed",
                        extra={"fields": {"server": self.name, "path": request.path}},
                    )
                    response = Response.json({"error": "internal error"}, status=500)
                if response.reset:
                    return
                keep_going = await self._send(conn, stream, response)
                if not keep_going or conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
            return
        finally:
            with trio.move_on_after(1) as cleanup:
                cleanup.shield = True
                await stream.aclose()

    async def _read_request(
        self,
        conn: h11.Connection,
        stream: trio.SocketStream,
        peer: tuple[str, int],
        local_port: int,
    ) -> Request | None:
        head: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        with trio.move_on_after(self._idle_timeout):
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(65536)
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Request):
                    head = event
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > self._max_body:
                        await self._send(
                            conn, stream, Response.json({"error": "body too large"}, 413)
                        )
                        return None
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    return None
        if head is None or conn.their_state is not h11.DONE:
            return None
        target = head.target.decode("latin-1")
        parts = urlsplit(target)
        return Request(
            method=head.method.decode("ascii"),
            target=target,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head.headers},
            body=b"".join(chunks),
            client_host=peer[0],
            client_port=peer[1],
            local_port=local_port,
        )

    async def _send(
        self, conn: h11.Connection, stream: trio.SocketStream, response: Response
    ) -> bool:
        headers = [
            (b"content-type", response.content_type.encode()),
            (b"content-length", str(len(response.body)).encode()),
            *((k.encode(), v.encode()) for k, v in response.headers),
        ]
        head = conn.send(
            h11.Response(
                status_code=response.status,
                headers=headers,
                reason=_REASONS.get(response.status, b""),
            )
        )
        if response.truncate_at is not None:
            await stream.send_all(head + response.body[: response.truncate_at])
            return False
        body = conn.send(h11.Data(data=response.body)) if response.body else b""
        end = conn.send(h11.EndOfMessage())
        await stream.send_all(head + body + end)
        return True
