"""JupiterClient over both transports: models, raw quotes, typed errors counted per IP."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from galileo.model import (
    BadRequest,
    Malformed,
    MalformedBody,
    NoRoute,
    RateLimited,
    ServerError,
    SwapInstructions,
    Timeout,
    TransportFailed,
)
from galileo.net import make_transport
from galileo.obs import Recorder
from galileo.providers import JupiterClient, Quote, QuoteMetrics, QuoteOptions
from tests.engine.fake_api import SOL, USDC, JupiterFixture, quote_json
from tests.logs import fields_of
from tests.ports import free_port


def make_client(url: str, kind: str = "fast") -> tuple[JupiterClient, CollectorRegistry]:
    registry = CollectorRegistry()
    transport = make_transport(kind, url, connect_timeout=1.0, max_connections_per_ip=4)
    client = JupiterClient(transport, metrics=QuoteMetrics(registry), recorder=Recorder(registry))
    return client, registry


@pytest.mark.parametrize("kind", ["fast", "httpx"])
async def test_quote_amounts_are_ints_and_the_raw_json_is_kept(
    kind: str, jupiter: JupiterFixture
) -> None:
    fake, url = jupiter
    fake.set_round_trip(USDC, (150, 1), (1, 150))
    client, registry = make_client(url, kind)
    try:
        quote = await client.quote(
            ip="127.0.0.2", input_mint=SOL, output_mint=USDC, amount=1_000_000_000, leg="buy"
        )
    finally:
        await client.transport.aclose()
    assert quote.in_amount == 1_000_000_000
    assert quote.out_amount == 150_000_000_000
    assert isinstance(quote.other_amount_threshold, int)
    assert quote.route_plan[0].swap_info.label == "Raydium"
    assert quote.route_plan[0].swap_info.fee_amount == 25
    # byte for byte what the server sent (so it can go back as quoteResponse)
    expected = quote_json(SOL, USDC, 1_000_000_000, 150_000_000_000, {"slippageBps": "0"})
    assert quote.raw == json.dumps(expected, separators=(",", ":")).encode()
    assert quote.raw_json()["swapUsdValue"] == "12.5"
    assert quote.received_at > 0
    assert fake.quotes[0].ip == "127.0.0.2"
    assert (
        registry.get_sample_value(
            "galileo_quote_latency_seconds_count", {"ip": "127.0.0.2", "leg": "buy"}
        )
        == 1
    )


async def test_quote_options_become_query_parameters(jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    fake.set_round_trip(USDC, (1, 1), (1, 1))
    client, _ = make_client(url)
    options = QuoteOptions(
        slippage_bps=7,
        max_accounts=24,
        only_direct_routes=True,
        restrict_intermediate_tokens=False,
        dexes=("Raydium", "Orca V2"),
    )
    try:
        await client.quote(ip="", input_mint=SOL, output_mint=USDC, amount=5, options=options)
    finally:
        await client.transport.aclose()
    query = fake.requests[0].query
    assert query["slippageBps"] == "7"
    assert query["maxAccounts"] == "24"
    assert query["onlyDirectRoutes"] == "true"
    assert query["restrictIntermediateTokens"] == "false"
    assert query["dexes"] == "Raydium,Orca V2"


async def test_swap_instructions_send_the_quote_back_unchanged(jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    fake.set_round_trip(USDC, (3, 1), (1, 3))
    client, _ = make_client(url)
    try:
        quote = await client.quote(ip="", input_mint=SOL, output_mint=USDC, amount=10)
        result = await client.swap_instructions(
            ip="",
            user_public_key=SOL,
            quote_response=quote,
            options={"wrapAndUnwrapSol": False, "skipUserAccountsRpcCalls": True},
        )
    finally:
        await client.transport.aclose()
    assert isinstance(result, SwapInstructions)
    sent = json.loads(fake.requests[-1].body)
    assert sent["quoteResponse"] == json.loads(quote.raw)
    assert sent["wrapAndUnwrapSol"] is False
    assert sent["userPublicKey"] == SOL
    assert result.compute_unit_limit == 250_000
    assert result.prioritization_fee_lamports == 1000
    assert result.swap_instruction.program_id.startswith("JUP6")
    assert result.address_lookup_table_addresses == (
        "GxS6FiQ3mNnAar9HGQ6mxP7t6FcwmHkU7peSeQDUHmpN",
    )


@pytest.mark.parametrize("kind", ["fast", "httpx"])
async def test_errors_are_typed_and_counted_per_ip(kind: str, jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    client, registry = make_client(url, kind)
    try:
        with pytest.raises(NoRoute) as no_route:
            await client.quote(ip="127.0.0.2", input_mint=SOL, output_mint=USDC, amount=1)
        assert no_route.value.status == 400
        assert no_route.value.error_code == "COULD_NOT_FIND_ANY_ROUTE"
        fake.rate_limited_ips.add("127.0.0.3")
        with pytest.raises(RateLimited):
            await client.quote(ip="127.0.0.3", input_mint=SOL, output_mint=USDC, amount=1)
        fake.server_error = True
        with pytest.raises(ServerError):
            await client.quote(ip="127.0.0.2", input_mint=SOL, output_mint=USDC, amount=1)
    finally:
        await client.transport.aclose()

    def count(ip: str, kind: str) -> float | None:
        return registry.get_sample_value("galileo_quote_errors_total", {"ip": ip, "kind": kind})

    assert count("127.0.0.2", "no_route") == 1
    assert count("127.0.0.3", "rate_limited") == 1
    assert count("127.0.0.2", "server_error") == 1


async def test_a_malformed_body_is_logged_with_context(
    jupiter: JupiterFixture, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = jupiter
    fake.malformed_mints.add(USDC)
    client, registry = make_client(url)
    caplog.set_level(logging.WARNING, logger="galileo.jupiter")
    try:
        with pytest.raises(Malformed):
            await client.quote(ip="127.0.0.2", input_mint=SOL, output_mint=USDC, amount=1)
    finally:
        await client.transport.aclose()
    record = next(r for r in caplog.records if r.getMessage() == "malformed response")
    fields = fields_of(record)
    assert fields["ip"] == "127.0.0.2"
    assert fields["endpoint"] == "quote"
    assert "truncated" in fields["body"]
    assert (
        registry.get_sample_value(
            "galileo_quote_errors_total", {"ip": "127.0.0.2", "kind": "malformed"}
        )
        == 1
    )


async def test_a_stalled_api_is_a_timeout(
    jupiter: JupiterFixture, autojump_clock: trio.testing.MockClock
) -> None:
    fake, url = jupiter
    fake.stall = True
    client, _ = make_client(url)
    try:
        with pytest.raises(Timeout):
            await client.quote(
                ip="",
                input_mint=SOL,
                output_mint=USDC,
                amount=1,
                deadline=trio.current_time() + 1,
            )
    finally:
        await client.transport.aclose()


async def test_unreachable_api_is_a_transport_failure() -> None:
    client, _ = make_client(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(TransportFailed):
            await client.quote(ip="", input_mint=SOL, output_mint=USDC, amount=1)
    finally:
        await client.transport.aclose()


async def test_other_client_errors_are_bad_requests(jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    fake.refused_mints.add(SOL)
    client, _ = make_client(url)
    try:
        with pytest.raises(BadRequest) as caught:
            await client.quote(ip="", input_mint=SOL, output_mint=SOL, amount=1)
    finally:
        await client.transport.aclose()
    assert caught.value.error_code == "CIRCULAR_ARBITRAGE_IS_DISABLED"
    assert caught.value.kind.value == "bad_request"


async def test_tokens_lists_mints(jupiter: JupiterFixture) -> None:
    fake, url = jupiter
    client, _ = make_client(url)
    try:
        assert await client.tokens() == fake.tokens
    finally:
        await client.transport.aclose()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"outAmount": "12.5"}, "outAmount"),
        ({"outAmount": -3}, "outAmount"),
        ({"inAmount": None}, "inAmount"),
        ({"routePlan": "nope"}, "routePlan"),
        ({"inputMint": 5}, "inputMint"),
    ],
)
def test_quote_parsing_rejects_bad_amounts_and_shapes(patch: dict[str, Any], field: str) -> None:
    body = {
        "inputMint": SOL,
        "outputMint": USDC,
        "inAmount": "1",
        "outAmount": "2",
        "otherAmountThreshold": "2",
        "routePlan": [],
        **patch,
    }
    with pytest.raises(MalformedBody) as caught:
        Quote.parse(json.dumps(body).encode())
    assert caught.value.field.startswith(field)


def test_quote_parsing_rejects_non_json() -> None:
    with pytest.raises(MalformedBody):
        Quote.parse(b"<html>")
    with pytest.raises(MalformedBody):
        Quote.parse(b"[1, 2]")
