"""A small HTTP/1.1 server on trio streams (h11), shared by the metrics endpoint and the
simulated world's faces.

Handlers are ``async def handler(request) -> Response``. Besides normal responses a handler
can ask the server to misbehave on purpose (reset the connection, truncate the body), which is
how the simulated world injects transport faults without touching sockets itself.
Keep-alive is honoured; every connection is owned by the server's nursery.

Any local user can reach a loopback port, so the server protects the process it lives in
(docs/security.md):

* HTTP/1.0 and ``Connection: close`` requests are answered, then the connection is closed;
* a request head beyond ``max_head`` bytes is answered 431, a malformed one 400, a body beyond
  ``max_body`` 413 — and the rest of what the client sends is drained for a moment, so it reads
  the answer rather than a connection reset;
* ``max_connections``: once that many are open, further clients are not accepted: they wait in
  the kernel's accept queue, costing no descriptor and no CPU;
* ``idle_timeout``: a connection that does not complete a request (or read its response) for
  that long is closed;
* ``max_requests_per_s``: requests beyond that rate wait for their turn, so no request rate
  can take more than a bounded share of the event loop;
* running out of descriptors while accepting (EMFILE and kin) is logged once per episode as a
  structured warning, then retried every 0.1 s — never a traceback per attempt.
"""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
    408: b"Request Timeout",
    413: b"Payload Too Large",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
}

# accept() failures that mean "no resources right now", not "this listener is broken".
_ACCEPT_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_ACCEPT_RETRY_S = 0.1
# After refusing a request: how long, and how much, to read and discard before closing.
_LINGER_S = 1.0
_LINGER_BYTES = 1024 * 1024


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

    ``idle_timeout`` bounds how long a connection may wait for a request (or for the client to
    read a response); ``max_body`` bounds request bodies (413 beyond it) and ``max_head`` the
    request line plus headers (431 beyond it). ``max_connections`` (None: no cap) bounds the
    connections served at once; ``max_requests_per_s`` (None: no limit) paces requests across
    all connections. See the module docstring.
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
        max_head: int = 64 * 1024,
        max_connections: int | None = None,
        max_requests_per_s: float | None = None,
    ) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self.name = name
        self._idle_timeout = idle_timeout
        self._max_body = max_body
        self._max_head = max_head
        self._slots = trio.Semaphore(max_connections) if max_connections else None
        self._turn_interval = 1.0 / max_requests_per_s if max_requests_per_s else 0.0
        self._next_turn = 0.0
        self._accept_failures = 0
        self.open_connections = 0
        """Connections being served right now."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen, report the bound port through ``task_status``, serve until cancelled."""
        listeners = await trio.open_tcp_listeners(self.port, host=self.host)
        self.port = listeners[0].socket.getsockname()[1]
        _log.debug("listening", extra={"fields": {"server": self.name, "url": self.url}})
        await self.serve(listeners, task_status=task_status)

    async def serve(
        self,
        listeners: Sequence[trio.abc.Listener[trio.SocketStream]],
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve connections from ``listeners`` until cancelled (``run`` opens them; tests
        hand in their own). Reports ``.port`` through ``task_status``."""
        async with trio.open_nursery() as nursery:
            for listener in listeners:
                nursery.start_soon(self._accept_loop, listener, nursery)
            task_status.started(self.port)

    async def _accept_loop(
        self, listener: trio.abc.Listener[trio.SocketStream], nursery: trio.Nursery
    ) -> None:
        async with listener:
            while True:
                if self._slots is not None:
                    await self._slots.acquire()  # at the cap: leave clients in the backlog
                try:
                    stream = await self._accept(listener)
                except BaseException:
                    if self._slots is not None:
                        self._slots.release()
                    raise
                nursery.start_soon(self._connection, stream)

    async def _accept(self, listener: trio.abc.Listener[trio.SocketStream]) -> trio.SocketStream:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _ACCEPT_CAPACITY_ERRNOS:
                    raise
                self._accept_failed(exc)
                await trio.sleep(_ACCEPT_RETRY_S)
                continue
            if self._accept_failures:
                _log.info(
                    "accepting again",
                    extra={
                        "fields": {"server": self.name, "failed_accepts": self._accept_failures}
                    },
                )
                self._accept_failures = 0
            return stream

    def _accept_failed(self, exc: OSError) -> None:
        self._accept_failures += 1
        if self._accept_failures > 1:
            return  # one line per episode: the retry loop would otherwise flood the log
        _log.warning(
            "cannot accept connections",
            extra={
                "fields": {
                    "server": self.name,
                    "errno": errno.errorcode.get(exc.errno or 0, str(exc.errno)),
                    "error": exc.strerror or str(exc),
                    "retry_every_s": _ACCEPT_RETRY_S,
                    "hint": "raise the open-file limit (ulimit -n / LimitNOFILE)"
                    if exc.errno in (errno.EMFILE, errno.ENFILE)
                    else "",
                }
            },
        )

    async def _connection(self, stream: trio.SocketStream) -> None:
        self.open_connections += 1
        try:
            await self._serve_connection(stream)
        finally:
            self.open_connections -= 1
            if self._slots is not None:
                self._slots.release()

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self._max_head)
        try:
            peer = stream.socket.getpeername()
            local = stream.socket.getsockname()
            while True:
                try:
                    request = await self._read_request(conn, stream, peer, local[1])
                except h11.RemoteProtocolError as exc:
                    await self._refuse(conn, stream, exc.error_status_hint)
                    return
                if request is None:
                    return
                await self._wait_turn()
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
        except (
            trio.BrokenResourceError,
            trio.ClosedResourceError,
            h11.ProtocolError,
            OSError,  # getpeername() of a client that is already gone
        ):
            return
        finally:
            with trio.move_on_after(1) as cleanup:
                cleanup.shield = True
                await stream.aclose()

    async def _wait_turn(self) -> None:
        """Pace requests across all connections to ``max_requests_per_s``."""
        if not self._turn_interval:
            return
        now = trio.current_time()
        turn = max(now, self._next_turn)
        self._next_turn = turn + self._turn_interval
        if turn > now:
            await trio.sleep_until(turn)

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
                        await self._refuse(conn, stream, 413)
                        return None
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    return None
        # MUST_CLOSE: an HTTP/1.0 or `Connection: close` request, complete all the same.
        if head is None or conn.their_state not in (h11.DONE, h11.MUST_CLOSE):
            return None
        target = head.target.decode("latin-1")
        parts = urlsplit(target)
        return Request(
            method=head.method.decode("ascii"),
            target=target,
            path=parts.path,
            query=_query(parts.query),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head.headers},
            body=b"".join(chunks),
            client_host=peer[0],
            client_port=peer[1],
            local_port=local_port,
        )

    async def _refuse(self, conn: h11.Connection, stream: trio.SocketStream, status: int) -> None:
        """Answer a request that will not be served, then close gently: stop sending and read
        (and drop) what the client still sends for a moment — closing a socket with unread
        input resets the connection, and the client would never see the answer."""
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        reason = _REASONS.get(status, b"Bad Request").decode().lower()
        response = Response.json({"error": reason}, status, headers=(("connection", "close"),))
        with trio.move_on_after(_LINGER_S):
            if not await self._send(conn, stream, response):
                return
            await stream.send_eof()
            drained = 0
            while drained < _LINGER_BYTES:
                data = await stream.receive_some(65536)
                if not data:
                    break
                drained += len(data)

    async def _send(
        self, conn: h11.Connection, stream: trio.SocketStream, response: Response
    ) -> bool:
        """Send ``response``; False when the connection must close (truncated on purpose, or
        the client did not read it within ``idle_timeout``)."""
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
        with trio.move_on_after(self._idle_timeout):
            if response.truncate_at is not None:
                await stream.send_all(head + response.body[: response.truncate_at])
                return False
            body = conn.send(h11.Data(data=response.body)) if response.body else b""
            end = conn.send(h11.EndOfMessage())
            await stream.send_all(head + body + end)
            return True
        return False


def _query(text: str) -> dict[str, str]:
    """The query's parameters; a key repeated (``dexes=A&dexes=B``, how array parameters are
    sent by generated clients) keeps every value, joined with ``","`` as the comma form is."""
    query: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    return query
