"""Quote-path transports on the same local server in the same run: galileo's FastTransport
(and the full JupiterClient.quote on top of it) against httpx and a minimal h11 client.

The server serves a ~1.2 KB quote JSON with keep-alive: nginx when installed (a static file,
like the issue's measurement), otherwise a raw trio server in a separate process. Each round
sends ``REQUESTS`` GETs with ``INFLIGHT`` in flight from one Python process.

    .venv/bin/python -m pytest benches/bench_transport_quote.py -p no:cacheprovider -s \
        --benchmark-json=benches/results/bench_transport_quote.json

``BENCH_SERVER=raw`` forces the Python server; ``BENCH_INFLIGHT`` / ``BENCH_REQUESTS``
change the load. The last test prints requests/s and the ratios to httpx (the numbers
quoted in docs/performance.md).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
import trio

from galileo.net import FastTransport
from galileo.providers import JupiterClient
from tests.ports import free_port

INFLIGHT = int(os.environ.get("BENCH_INFLIGHT", "8"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
ROUNDS = 3
SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TARGET = f"/quote?inputMint={SOL}&outputMint={USDC}&amount=1000000000&slippageBps=0"

_results: dict[str, float] = {}


def quote_body() -> bytes:
    steps = [
        {
            "swapInfo": {
                "ammKey": "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
                "label": label,
                "inputMint": SOL,
                "outputMint": USDC,
                "inAmount": "500000000",
                "outAmount": "75123456",
                "feeAmount": "1250",
                "feeMint": SOL,
            },
            "percent": 50,
            "bps": 5000,
        }
        for label in ("Raydium", "Orca Whirlpool", "Meteora DLMM")
    ]
    body = {
        "inputMint": SOL,
        "inAmount": "1000000000",
        "outputMint": USDC,
        "outAmount": "150246912",
        "otherAmountThreshold": "150246912",
        "swapMode": "ExactIn",
        "slippageBps": 0,
        "platformFee": None,
        "priceImpactPct": "0.000123",
        "routePlan": steps,
        "contextSlot": 299999999,
        "timeTaken": 0.00123,
        "swapUsdValue": "150.25",
        "simplerRouteUsed": False,
    }
    return json.dumps(body, indent=1).encode()


_RAW_SERVER = r"""
import sys, trio
body = open(sys.argv[1], 'rb').read()
resp = (b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n'
        % len(body)) + body
async def serve(stream):
    buf = b''
    try:
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            buf += data
            n = buf.count(b'\r\n\r\n')
            if n:
                buf = buf[buf.rindex(b'\r\n\r\n') + 4:]
                await stream.send_all(resp * n)
    except trio.BrokenResourceError:
        pass
async def main():
    listeners = await trio.open_tcp_listeners(0, host='127.0.0.1')
    print(listeners[0].socket.getsockname()[1], flush=True)
    await trio.serve_listeners(serve, listeners)
trio.run(main)
"""

_NGINX_CONF = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{port};
        location /quote {{
            default_type application/json;
            alias {root}/quote.json;
        }}
    }}
}}
"""


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server did not start")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="galileo-bench-"))
    root.chmod(0o755)  # nginx's worker runs as an unprivileged user
    (root / "quote.json").write_bytes(quote_body())
    (root / "tmp").mkdir()
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    kind = os.environ.get("BENCH_SERVER", "nginx" if nginx else "raw")
    if kind == "nginx" and nginx:
        port = free_port()
        conf = root / "nginx.conf"
        conf.write_text(_NGINX_CONF.format(root=root, port=port))
        proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(root)])
        _wait_listening(port, proc)
    else:
        kind = "raw"
        proc = subprocess.Popen(
            [sys.executable, "-c", _RAW_SERVER, str(root / "quote.json")],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
    _results["server"] = 0.0 if kind == "raw" else 1.0
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()  # the raw server's port pipe
        shutil.rmtree(root, ignore_errors=True)


def _drive(make: Callable[[], Any], call: Callable[[Any], Awaitable[None]]) -> None:
    async def main() -> None:
        client = make()
        per_worker = REQUESTS // INFLIGHT

        async def worker() -> None:
            for _ in range(per_worker):
                await call(client)

        async with trio.open_nursery() as nursery:
            for _ in range(INFLIGHT):
                nursery.start_soon(worker)
        await client.aclose()

    trio.run(main)


def _record(name: str, benchmark: Any) -> None:
    if benchmark.stats is not None:  # None under --benchmark-disable: the call ran once
        _results[name] = (REQUESTS // INFLIGHT * INFLIGHT) / benchmark.stats.stats.median


class H11Client:
    """The baseline: a minimal h11 client on trio streams, one connection per worker."""

    def __init__(self, url: str) -> None:
        host_port = url.removeprefix("http://")
        self._host, port = host_port.split(":")
        self._port = int(port)
        self._idle: list[tuple[trio.SocketStream, h11.Connection]] = []

    async def get(self, target: str) -> bytes:
        if self._idle:
            stream, conn = self._idle.pop()
        else:
            stream = await trio.open_tcp_stream(self._host, self._port)
            conn = h11.Connection(h11.CLIENT)
        request = h11.Request(method="GET", target=target, headers=[("host", self._host)])
        await stream.send_all(conn.send(request) + conn.send(h11.EndOfMessage()))
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                assert event.status_code == 200
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        conn.start_next_cycle()
        self._idle.append((stream, conn))
        return bytes(body)

    async def aclose(self) -> None:
        for stream, _ in self._idle:
            await stream.aclose()


@pytest.mark.benchmark(group="transport-quote")
def test_baseline_httpx(benchmark: Any, server: str) -> None:
    def make() -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=INFLIGHT, max_keepalive_connections=INFLIGHT)
        return httpx.AsyncClient(base_url=server, limits=limits)

    async def call(client: httpx.AsyncClient) -> None:
        response = await client.get(TARGET)
        assert response.status_code == 200

    benchmark.pedantic(_drive, args=(make, call), rounds=ROUNDS, iterations=1)
    _record("httpx on trio", benchmark)


@pytest.mark.benchmark(group="transport-quote")
def test_baseline_h11(benchmark: Any, server: str) -> None:
    async def call(client: H11Client) -> None:
        assert await client.get(TARGET)

    benchmark.pedantic(_drive, args=(lambda: H11Client(server), call), rounds=ROUNDS, iterations=1)
    _record("h11 on trio", benchmark)


@pytest.mark.benchmark(group="transport-quote")
def test_fast_transport(benchmark: Any, server: str) -> None:
    def make() -> FastTransport:
        return FastTransport(server, max_connections_per_ip=INFLIGHT)

    async def call(client: FastTransport) -> None:
        response = await client.request("", "GET", TARGET, deadline=trio.current_time() + 5)
        assert response.status == 200

    benchmark.pedantic(_drive, args=(make, call), rounds=ROUNDS, iterations=1)
    _record("galileo FastTransport", benchmark)


class _QuoteClient:
    def __init__(self, server: str) -> None:
        self.transport = FastTransport(server, max_connections_per_ip=INFLIGHT)
        self.client = JupiterClient(self.transport)

    async def aclose(self) -> None:
        await self.transport.aclose()


@pytest.mark.benchmark(group="transport-quote")
def test_fast_transport_with_quote_parsing(benchmark: Any, server: str) -> None:
    async def call(wrapper: _QuoteClient) -> None:
        quote = await wrapper.client.quote(
            ip="", input_mint=SOL, output_mint=USDC, amount=1_000_000_000
        )
        assert quote.out_amount == 150246912

    benchmark.pedantic(
        _drive, args=(lambda: _QuoteClient(server), call), rounds=ROUNDS, iterations=1
    )
    _record("galileo JupiterClient.quote (transport + Quote.parse)", benchmark)


def test_zz_report() -> None:
    kind = "nginx" if _results.pop("server", 0.0) else "raw trio server (separate process)"
    base = _results.get("httpx on trio")
    print(f"\nserver: {kind}; {REQUESTS} requests, {INFLIGHT} in flight, median of {ROUNDS}")
    for name, rate in _results.items():
        ratio = f"{rate / base:5.1f}x httpx" if base else ""
        print(f"  {name:55s} {rate:9.0f} req/s  {ratio}")
