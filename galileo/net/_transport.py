"""The quote-path HTTP transports: galileo's own keep-alive HTTP/1.1 client on trio streams
(``FastTransport``) and an httpx fallback with the same interface (``HttpxTransport``).

Both serve one origin (the Jupiter API) from several source IPs: a request names the IP it
must leave from, and each IP has its own pool of connections whose sockets are bound to it.
Failures are typed (:class:`TransportError` and subclasses) so the allocator can tell a
timeout from a reset from a protocol violation.
"""

from __future__ import annotations

import enum
import logging
import socket as _stdlib_socket
from collections.abc import Mapping, Sequence
from typing import Protocol
from urllib.parse import urlsplit

import attrs
import trio

from galileo._errors import GalileoError
from galileo.net._http11 import ProtocolError, RawResponse, ResponseParser

Headers = Sequence[tuple[str, str]]

_log = logging.getLogger("galileo.net")

_RECEIVE_SIZE = 65536


class TransportErrorKind(enum.Enum):
    """Why a request failed below HTTP. Values double as metric labels."""

    CONNECT = "connect"
    TIMEOUT = "timeout"
    RESET = "reset"
    PROTOCOL = "protocol"
    CLOSED = "closed"


class TransportError(GalileoError):
    """A request failed before a complete HTTP response arrived."""

    kind: TransportErrorKind = TransportErrorKind.RESET

    def __init__(self, message: str, *, ip: str = "") -> None:
        super().__init__(message)
        self.ip = ip


class ConnectFailed(TransportError):
    """The TCP connection could not be opened (refused, unreachable, bind failure)."""

    kind = TransportErrorKind.CONNECT


class TransportTimeout(TransportError):
    """The connect or the whole request exceeded its deadline."""

    kind = TransportErrorKind.TIMEOUT


class ConnectionReset(TransportError):
    """The peer reset or closed the connection before the response was complete."""

    kind = TransportErrorKind.RESET


class MalformedResponse(TransportError):
    """The bytes received are not a valid HTTP/1.1 response."""

    kind = TransportErrorKind.PROTOCOL


class TransportClosed(TransportError):
    """The transport was closed."""

    kind = TransportErrorKind.CLOSED


@attrs.frozen
class HttpResponse:
    """Status, lower-case headers and the full body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found


class QuoteTransport(Protocol):
    """What JupiterClient needs: one request to the origin, from a given source IP."""

    async def request(
        self,
        ip: str,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        headers: Headers = (),
        deadline: float,
    ) -> HttpResponse: ...

    async def aclose(self) -> None: ...

    def faults(self) -> Mapping[str, TransportFaults]:
        """Per source IP, the transport faults counted so far (empty when not tracked)."""
        ...


def _origin(base_url: str) -> tuple[str, int, str]:
    parts = urlsplit(base_url)
    if parts.scheme != "http":
        raise ValueError(f"the fast transport speaks plain http only, got {base_url!r}")
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    return host, port, parts.path.rstrip("/")


def _from_raw(raw: RawResponse) -> HttpResponse:
    return HttpResponse(
        status=raw.status,
        headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw.headers),
        body=raw.body,
    )


class _Connection:
    """One keep-alive TCP connection: a trio stream and its response parser."""

    __slots__ = ("parser", "reused", "stream")

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.parser = ResponseParser()
        self.reused = False

    def close(self) -> None:
        # Synchronous close: safe inside a cancelled scope, never leaks the socket.
        self.stream.socket.close()

    async def roundtrip(self, request: bytes) -> RawResponse:
        await self.stream.send_all(request)
        parser = self.parser
        while True:
            response = parser.next_response()
            if response is not None:
                return response
            data = await self.stream.receive_some(_RECEIVE_SIZE)
            if data:
                parser.feed(data)
            else:
                parser.feed_eof()
                try:
                    response = parser.next_response()
                except ProtocolError as exc:
                    # Closed mid-message: a truncated response is a reset, not bad syntax.
                    raise ConnectionReset(f"connection closed mid-response: {exc}") from exc
                if response is not None:
                    return response
                raise ConnectionReset("connection closed before a response")


@attrs.define
class TransportFaults:
    """What went wrong on one source IP's connections, counted (the transport's own view:
    answers that never arrived are not the API's errors).

    ``resets_retried``: a reused keep-alive connection found dead before any answer byte and
    the request sent again on a new one; ``resets``: a connection reset or closed that failed
    the request; ``stalls``: requests still waiting for their answer when their deadline
    (or a stop) cancelled them."""

    resets_retried: int = 0
    resets: int = 0
    stalls: int = 0


class ConnectionPool:
    """Keep-alive connections to one origin from one source IP (``""`` = the OS's choice).

    At most ``max_connections`` are open; a request beyond that waits (FIFO, trio's
    semaphore) for one to come back. Idle connections are reused most-recent first.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        local_ip: str = "",
        max_connections: int = 8,
        connect_timeout: float = 1.0,
    ) -> None:
        self._host = host
        self._port = port
        self.local_ip = local_ip
        self._connect_timeout = connect_timeout
        self._slots = trio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self._closed = False
        self.connects = 0
        self.faults = TransportFaults()

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def _connect(self) -> _Connection:
        family = _stdlib_socket.AF_INET6 if ":" in self._host else _stdlib_socket.AF_INET
        sock = trio.socket.socket(family, _stdlib_socket.SOCK_STREAM)
        try:
            sock.setsockopt(_stdlib_socket.IPPROTO_TCP, _stdlib_socket.TCP_NODELAY, 1)
            if self.local_ip:
                await sock.bind((self.local_ip, 0))
            with trio.fail_after(self._connect_timeout):
                await sock.connect((self._host, self._port))
        except trio.TooSlowError:
            sock.close()
            raise TransportTimeout(
                f"connect to {self._host}:{self._port} timed out", ip=self.local_ip
            ) from None
        except OSError as exc:
            sock.close()
            raise ConnectFailed(
                f"connect to {self._host}:{self._port} failed: {exc}", ip=self.local_ip
            ) from exc
        except BaseException:
            sock.close()
            raise
        self.connects += 1
        return _Connection(trio.SocketStream(sock))

    async def roundtrip(self, request: bytes) -> RawResponse:
        """Send ``request`` on a pooled connection and read one response.

        A reused connection that turns out to be dead before any response byte arrived (the
        server closed it while idle, or restarted) is replaced by a fresh one once — and the
        other idle connections, as old as it, are dropped too rather than tried one by one;
        any other failure is raised.
        """
        if self._closed:
            raise TransportClosed("pool closed", ip=self.local_ip)
        async with self._slots:
            for attempt in (0, 1):
                conn = self._idle.pop() if self._idle and attempt == 0 else await self._connect()
                ok = False
                try:
                    response = await conn.roundtrip(request)
                    ok = True
                except ProtocolError as exc:
                    raise MalformedResponse(str(exc), ip=self.local_ip) from exc
                except trio.Cancelled:
                    self.faults.stalls += 1  # still waiting when its deadline (or a stop) came
                    raise
                except (trio.BrokenResourceError, ConnectionReset, OSError) as exc:
                    if conn.reused and not conn.parser.started and attempt == 0:
                        self.faults.resets_retried += 1
                        self._drop_idle()
                        continue  # stale keep-alive connection: retry on a new one
                    self.faults.resets += 1
                    if isinstance(exc, ConnectionReset):
                        exc.ip = self.local_ip
                        raise
                    raise ConnectionReset(f"connection reset: {exc}", ip=self.local_ip) from exc
                finally:
                    if not ok:
                        conn.close()
                if response.keep_alive and conn.parser.idle and not self._closed:
                    conn.reused = True
                    self._idle.append(conn)
                else:
                    conn.close()
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop_idle(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    def close(self) -> None:
        self._closed = True
        self._drop_idle()


class FastTransport:
    """galileo's HTTP/1.1 client: a :class:`ConnectionPool` per source IP to one origin."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 1.0,
        max_connections_per_ip: int = 8,
    ) -> None:
        self._host, self._port, self._prefix = _origin(base_url)
        self._host_header = (
            self._host if self._port == 80 else f"{self._host}:{self._port}"
        ).encode()
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections_per_ip
        self._pools: dict[str, ConnectionPool] = {}
        self._closed = False

    def faults(self) -> dict[str, TransportFaults]:
        """Per source IP, the transport faults counted so far."""
        return {ip: pool.faults for ip, pool in self._pools.items()}

    def pool(self, ip: str) -> ConnectionPool:
        pool = self._pools.get(ip)
        if pool is None:
            if self._closed:
                raise TransportClosed("transport closed", ip=ip)
            pool = ConnectionPool(
                self._host,
                self._port,
                local_ip=ip,
                max_connections=self._max_connections,
                connect_timeout=self._connect_timeout,
            )
            self._pools[ip] = pool
        return pool

    def build_request(
        self, method: str, target: str, body: bytes | None, headers: Headers
    ) -> bytes:
        parts = [
            method.encode("ascii"),
            b" ",
            self._prefix.encode() + target.encode("ascii"),
            b" HTTP/1.1\r\nHost: ",
            self._host_header,
            b"\r\nAccept: application/json\r\n",
        ]
        for name, value in headers:
            parts.append(f"{name}: {value}\r\n".encode("latin-1"))
        if body is not None:
            parts.append(b"Content-Length: %d\r\n" % len(body))
            if not any(name.lower() == "content-type" for name, _ in headers):
                parts.append(b"Content-Type: application/json\r\n")
        parts.append(b"\r\n")
        if body:
            parts.append(body)
        return b"".join(parts)

    async def request(
        self,
        ip: str,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        headers: Headers = (),
        deadline: float,
    ) -> HttpResponse:
        """One request from ``ip``; the whole exchange (connect included) must end by
        ``deadline`` (trio clock)."""
        raw = self.build_request(method, target, body, headers)
        with trio.move_on_at(deadline) as scope:
            response = await self.pool(ip).roundtrip(raw)
        if scope.cancelled_caught:
            raise TransportTimeout(f"{method} {target} missed its deadline", ip=ip)
        return _from_raw(response)

    async def aclose(self) -> None:
        self._closed = True
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        await trio.lowlevel.checkpoint()


class HttpxTransport:
    """The same interface over httpx: one ``AsyncClient`` with
    ``AsyncHTTPTransport(local_address=ip)`` per source IP (``network.transport = "httpx"``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 1.0,
        max_connections_per_ip: int = 8,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections_per_ip
        self._clients: dict[str, object] = {}

    def _client(self, ip: str) -> object:
        client = self._clients.get(ip)
        if client is None:
            import httpx

            client = httpx.AsyncClient(
                base_url=self._base_url,
                transport=httpx.AsyncHTTPTransport(
                    local_address=ip or None,
                    limits=httpx.Limits(
                        max_connections=self._max_connections,
                        max_keepalive_connections=self._max_connections,
                    ),
                    retries=0,
                ),
            )
            self._clients[ip] = client
        return client

    async def request(
        self,
        ip: str,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        headers: Headers = (),
        deadline: float,
    ) -> HttpResponse:
        import httpx

        client = self._client(ip)
        assert isinstance(client, httpx.AsyncClient)
        send_headers = dict(headers)
        if body is not None:
            send_headers.setdefault("content-type", "application/json")
        remaining = max(deadline - trio.current_time(), 0.0)
        try:
            with trio.fail_at(deadline):
                response = await client.request(
                    method,
                    target,
                    content=body,
                    headers=send_headers,
                    timeout=httpx.Timeout(remaining, connect=self._connect_timeout),
                )
        except (trio.TooSlowError, httpx.TimeoutException) as exc:
            raise TransportTimeout(f"{method} {target} timed out", ip=ip) from exc
        except httpx.ConnectError as exc:
            raise ConnectFailed(f"connect failed: {exc}", ip=ip) from exc
        except httpx.RemoteProtocolError as exc:
            text = str(exc)
            if "without sending" in text or "closed" in text:
                raise ConnectionReset(text, ip=ip) from exc
            raise MalformedResponse(text, ip=ip) from exc
        except (httpx.ReadError, httpx.WriteError) as exc:
            raise ConnectionReset(str(exc), ip=ip) from exc
        except httpx.HTTPError as exc:
            raise TransportError(str(exc), ip=ip) from exc
        return HttpResponse(
            status=response.status_code,
            headers=tuple((k.lower(), v) for k, v in response.headers.items()),
            body=response.content,
        )

    def faults(self) -> dict[str, TransportFaults]:
        """Not tracked: httpx hides its connection reuse."""
        return {}

    async def aclose(self) -> None:
        import httpx

        for client in self._clients.values():
            assert isinstance(client, httpx.AsyncClient)
            await client.aclose()
        self._clients.clear()


def make_transport(
    kind: str,
    base_url: str,
    *,
    connect_timeout: float,
    max_connections_per_ip: int,
) -> QuoteTransport:
    """``network.transport``: ``"fast"`` (default) or ``"httpx"``. The fast transport speaks
    plain http only; for an ``https://`` API ``"fast"`` falls back to httpx (logged)."""
    if kind == "fast" and base_url.startswith("https://"):
        _log.warning(
            "fast transport needs plain http; using httpx",
            extra={"fields": {"url": base_url}},
        )
        kind = "httpx"
    if kind == "fast":
        return FastTransport(
            base_url,
            connect_timeout=connect_timeout,
            max_connections_per_ip=max_connections_per_ip,
        )
    if kind == "httpx":
        return HttpxTransport(
            base_url,
            connect_timeout=connect_timeout,
            max_connections_per_ip=max_connections_per_ip,
        )
    raise ValueError(f"unknown transport {kind!r}")
