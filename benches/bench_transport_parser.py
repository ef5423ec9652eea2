"""CPU per response: galileo's ResponseParser against h11 on the same bytes (an nginx-style
head + a ~1.7 KB quote JSON), measured in the same run; plus Quote.parse on top.

    .venv/bin/python -m pytest benches/bench_transport_parser.py -p no:cacheprovider -s
"""

from __future__ import annotations

import json
from typing import Any

import h11
import pytest

from galileo.net import ResponseParser
from galileo.providers import Quote

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
_times: dict[str, float] = {}


def _body() -> bytes:
    step = {
        "swapInfo": {
            "ammKey": "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
            "label": "Raydium",
            "inputMint": SOL,
            "outputMint": USDC,
            "inAmount": "500000000",
            "outAmount": "75123456",
            "feeAmount": "1250",
            "feeMint": SOL,
        },
        "percent": 50,
    }
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
        "routePlan": [step, step, step],
        "contextSlot": 299999999,
        "timeTaken": 0.00123,
    }
    return json.dumps(body, indent=1).encode()


BODY = _body()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov 2026 02:20:00 GMT\r\n"
    b"Content-Type: application/json\r\nContent-Length: %d\r\n"
    b"Last-Modified: Sun, 22 Nov 2026 02:19:00 GMT\r\nConnection: keep-alive\r\n"
    b'ETag: "abc-123"\r\nAccept-Ranges: bytes\r\n\r\n' % len(BODY)
) + BODY
BATCH = 100  # responses per benchmark call, back to back on one connection
STREAM = RESPONSE * BATCH


def parse_galileo() -> int:
    parser = ResponseParser()
    parser.feed(STREAM)
    count = 0
    while parser.next_response() is not None:
        count += 1
    return count


def parse_h11() -> int:
    conn = h11.Connection(h11.CLIENT)
    request = h11.Request(method="GET", target="/quote", headers=[("host", "x")])
    conn.send(request)
    conn.send(h11.EndOfMessage())
    conn.receive_data(STREAM)
    count = 0
    while count < BATCH:
        event = conn.next_event()
        if isinstance(event, h11.EndOfMessage):
            count += 1
            conn.start_next_cycle()
            if count < BATCH:
                conn.send(request)
                conn.send(h11.EndOfMessage())
    return count


@pytest.mark.benchmark(group="transport-parser")
def test_baseline_h11(benchmark: Any) -> None:
    assert benchmark(parse_h11) == BATCH
    if benchmark.stats is not None:  # None under --benchmark-disable: the call ran once
        _times["h11"] = benchmark.stats.stats.median / BATCH


@pytest.mark.benchmark(group="transport-parser")
def test_galileo_parser(benchmark: Any) -> None:
    assert benchmark(parse_galileo) == BATCH
    if benchmark.stats is not None:  # None under --benchmark-disable: the call ran once
        _times["galileo ResponseParser"] = benchmark.stats.stats.median / BATCH


@pytest.mark.benchmark(group="transport-parser")
def test_quote_parse(benchmark: Any) -> None:
    benchmark(Quote.parse, BODY)
    if benchmark.stats is not None:  # None under --benchmark-disable: the call ran once
        _times["Quote.parse (JSON → attrs, ints)"] = benchmark.stats.stats.median


def test_zz_report() -> None:
    base = _times.get("h11")
    print(f"\nper response ({len(RESPONSE)} bytes):")
    for name, seconds in _times.items():
        ratio = f"{base / seconds:4.1f}x faster than h11" if base and name != "h11" else ""
        print(f"  {name:36s} {seconds * 1e6:7.2f} µs  {ratio}")
