"""DflowClient: DFlow's quotes parsed into int amounts with the raw body kept, the floor sent
back, typed errors with DFlow's codes, metrics per provider, and an API key that only ever
travels in its header."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from galileo._config import NetworkConfig
from galileo._httpserver import Response
from galileo._secret import Secret
from galileo.model import (
    BadRequest,
    Malformed,
    MalformedBody,
    NoRoute,
    Provider,
    QuoteError,
    RateLimited,
    ServerError,
    SwapInstructions,
    Timeout,
    TransportFailed,
)
from galileo.net import FastTransport, HttpxTransport
from galileo.providers import (
    DflowClient,
    DflowQuote,
    DflowQuoteOptions,
    LegMetrics,
    Quote,
    parse_dflow_swap_instructions,
)
from galileo.sim import WSOL_MINT, World
from tests.logs import fields_of
from tests.ports import free_port
from tests.providers.fake_dflow import (
    BONK,
    SOL,
    USER,
    DflowFixture,
    quote_doc,
    swap_instructions_doc,
)
from tests.worlds import first_token

KEY = "dflow-test-key-5f3a9c"


def make_client(
    url: str, *, api_key: Secret | None = None, options: DflowQuoteOptions | None = None
) -> tuple[DflowClient, CollectorRegistry]:
    registry = CollectorRegistry()
    client = DflowClient.for_url(
        url, network_config=NetworkConfig(), registry=registry, api_key=api_key, options=options
    )
    return client, registry


def quotes_counted(registry: CollectorRegistry, result: str) -> float | None:
    return registry.get_sample_value(
        "galileo_leg_quotes_total", {"provider": "dflow", "result": result}
    )


async def quote(client: DflowClient, ip: str = "", **kwargs: Any) -> DflowQuote:
    params: dict[str, Any] = {"input_mint": SOL, "output_mint": BONK, "amount": 1_000}
    params.update(kwargs)
    return await client.quote_leg(ip=ip, leg="buy", deadline=trio.current_time() + 5, **params)


# --- quotes -----------------------------------------------------------------------------------


async def test_a_quote_of_the_simulated_face_has_int_amounts_and_is_counted(
    world: World,
) -> None:
    mint = first_token(world)
    client, registry = make_client(world.dflow_url)
    try:
        leg = await quote(client, "127.0.0.2", input_mint=WSOL_MINT, output_mint=mint, amount=10**9)
    finally:
        await client.aclose()
    assert leg.provider is Provider.DFLOW
    assert (leg.input_mint, leg.output_mint, leg.in_amount) == (WSOL_MINT, mint, 10**9)
    assert leg.out_amount > 0
    assert leg.other_amount_threshold == leg.min_out_amount == leg.out_amount  # slippage 0
    assert set(leg.venues) <= {"Orca Whirlpool", "Meteora DLMM"}
    assert leg.route_plan[-1].out_amount == leg.out_amount
    assert leg.context_slot == world.slot
    assert leg.request_id
    assert leg.raw_json()["outAmount"] == str(leg.out_amount)
    assert quotes_counted(registry, "ok") == 1
    latency = registry.get_sample_value(
        "galileo_leg_quote_latency_seconds_count", {"provider": "dflow", "ip": "127.0.0.2"}
    )
    assert latency == 1


async def test_quote_options_become_query_parameters(dflow: DflowFixture) -> None:
    fake, url = dflow
    options = DflowQuoteOptions(
        slippage_bps=7,
        dexes=("Orca Whirlpool", "Meteora DLMM"),
        exclude_dexes=("Raydium",),
        only_direct_routes=True,
        max_route_length=2,
    )
    client, _ = make_client(url, options=options)
    try:
        await quote(client, amount=123)
    finally:
        await client.aclose()
    (request,) = fake.requests
    assert dict(request.query) == {
        "inputMint": SOL,
        "outputMint": BONK,
        "amount": "123",
        "slippageBps": "7",
        "dexes": "Orca Whirlpool,Meteora DLMM",
        "excludeDexes": "Raydium",
        "onlyDirectRoutes": "true",
        "maxRouteLength": "2",
    }


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "route_not_found", NoRoute),
        (400, "price_impact_too_high", NoRoute),
        (400, "same_input_and_output_mint", BadRequest),
        (400, "invalid_dex", BadRequest),
        (404, "", BadRequest),
        (500, "failed_to_compute_route", ServerError),
        (503, "amm_map_lagging", ServerError),
    ],
)
async def test_refusals_become_typed_errors_counted_by_kind(
    dflow: DflowFixture, status: int, code: str, error: type[QuoteError]
) -> None:
    fake, url = dflow
    fake.reply = Response.json({"msg": "refused", "code": code} if code else {}, status)
    client, registry = make_client(url)
    try:
        with pytest.raises(error) as caught:
            await quote(client, "127.0.0.2")
    finally:
        await client.aclose()
    assert caught.value.error_code == code
    assert caught.value.status == status
    assert caught.value.ip == "127.0.0.2"
    assert quotes_counted(registry, error.kind.value) == 1
    assert quotes_counted(registry, "ok") is None


async def test_an_error_body_in_jupiter_style_is_read_too(dflow: DflowFixture) -> None:
    fake, url = dflow
    fake.reply = Response.json({"error": "no route", "code": "route_not_found"}, 400)
    client, _ = make_client(url)
    try:
        with pytest.raises(NoRoute) as caught:
            await quote(client)
    finally:
        await client.aclose()
    assert "no route" in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ((("retry-after", "2"), ("retry-after-ms", "1500")), 1.5),
        ((("retry-after", "3"),), 3.0),
        ((), None),
    ],
)
async def test_429_is_rate_limited_with_the_wait_it_asks_for(
    dflow: DflowFixture, headers: tuple[tuple[str, str], ...], seconds: float | None
) -> None:
    fake, url = dflow
    fake.reply = Response.json({"msg": "slow down"}, 429, headers=headers)
    client, registry = make_client(url)
    try:
        with pytest.raises(RateLimited) as caught:
            await quote(client)
    finally:
        await client.aclose()
    assert caught.value.retry_after == seconds
    assert quotes_counted(registry, "rate_limited") == 1


async def test_the_simulated_face_rate_limits_a_source_ip(
    world: World, mock_clock: trio.testing.MockClock
) -> None:
    mint = first_token(world)
    client, registry = make_client(world.dflow_url)
    try:
        for _ in range(20):
            await quote(client, "127.0.0.2", input_mint=WSOL_MINT, output_mint=mint)
        with pytest.raises(RateLimited) as caught:
            await quote(client, "127.0.0.2", input_mint=WSOL_MINT, output_mint=mint)
    finally:
        await client.aclose()
    assert caught.value.error_code == "rate_limited"
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 1
    assert quotes_counted(registry, "ok") == 20
    assert quotes_counted(registry, "rate_limited") == 1


async def test_a_malformed_body_is_counted_and_logged_each_time_with_context(
    dflow: DflowFixture, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = dflow
    fake.reply = Response(status=200, body=b'{"inputMint": "truncated...')
    client, registry = make_client(url)
    caplog.set_level(logging.WARNING, logger="galileo.dflow")
    try:
        for _ in range(2):
            with pytest.raises(Malformed):
                await quote(client, "127.0.0.2")
    finally:
        await client.aclose()
    records = [r for r in caplog.records if r.getMessage() == "malformed response"]
    assert len(records) == 2
    fields = fields_of(records[0])
    assert fields["provider"] == "dflow"
    assert fields["endpoint"] == "quote"
    assert fields["ip"] == "127.0.0.2"
    assert fields["field"] == "body"
    assert "truncated" in fields["body"]
    assert quotes_counted(registry, "malformed") == 2


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"outAmount": "12.5"}, "outAmount"),
        ({"outAmount": -3}, "outAmount"),
        ({"inAmount": None}, "inAmount"),
        ({"otherAmountThreshold": "x"}, "otherAmountThreshold"),
        ({"minOutAmount": "1e3"}, "minOutAmount"),
        ({"routePlan": "nope"}, "routePlan"),
        ({"inputMint": 5}, "inputMint"),
        ({"contextSlot": "42"}, "contextSlot"),
    ],
)
def test_quote_parsing_rejects_bad_amounts_and_shapes(patch: dict[str, Any], field: str) -> None:
    body = json.dumps({**quote_doc(), **patch}).encode()
    with pytest.raises(MalformedBody) as caught:
        DflowQuote.parse(body)
    assert caught.value.field == field


def test_a_quote_without_min_out_amount_takes_the_threshold() -> None:
    doc = quote_doc(out=500)
    del doc["minOutAmount"], doc["requestId"], doc["simulatedComputeUnits"]
    parsed = DflowQuote.parse(json.dumps(doc).encode())
    assert parsed.min_out_amount == parsed.other_amount_threshold == 500
    assert parsed.request_id is None and parsed.simulated_compute_units is None


async def test_a_stalled_api_is_a_timeout(
    dflow: DflowFixture, autojump_clock: trio.testing.MockClock
) -> None:
    fake, url = dflow
    fake.stall = True
    client, registry = make_client(url)
    try:
        with pytest.raises(Timeout):
            await client.quote_leg(
                ip="",
                input_mint=SOL,
                output_mint=BONK,
                amount=1,
                leg="buy",
                deadline=trio.current_time() + 1,
            )
    finally:
        await client.aclose()
    assert quotes_counted(registry, "timeout") == 1


async def test_an_unreachable_api_is_a_transport_failure() -> None:
    client, registry = make_client(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(TransportFailed):
            await quote(client)
    finally:
        await client.aclose()
    assert quotes_counted(registry, "transport") == 1


# --- instructions -----------------------------------------------------------------------------


async def test_leg_instructions_send_the_quote_back_with_the_floor(dflow: DflowFixture) -> None:
    fake, url = dflow
    client, registry = make_client(url)
    try:
        leg = await quote(client, amount=1_000)
        answer = await client.leg_instructions(
            ip="", quote=leg, min_out=1_777, user_public_key=USER, deadline=trio.current_time() + 5
        )
    finally:
        await client.aclose()
    assert isinstance(answer, SwapInstructions)
    sent = fake.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/swap-instructions")
    body = sent.json()
    assert body["userPublicKey"] == USER
    assert body["wrapAndUnwrapSol"] is False
    assert body["dynamicComputeUnitLimit"] is True
    assert body["prioritizationFeeLamports"] == "disabled"
    expected = {**leg.raw_json(), "otherAmountThreshold": "1777", "minOutAmount": "1777"}
    assert body["quoteResponse"] == expected  # everything else exactly as quoted
    assert (
        registry.get_sample_value(
            "galileo_leg_instructions_total", {"provider": "dflow", "result": "ok"}
        )
        == 1
    )


async def test_instruction_failures_are_typed_and_counted(dflow: DflowFixture) -> None:
    fake, url = dflow
    client, registry = make_client(url)
    try:
        leg = await quote(client)
        fake.reply = Response.json({"msg": "bad leg", "code": "invalid_route_plan_leg"}, 400)
        with pytest.raises(BadRequest) as caught:
            await client.leg_instructions(
                ip="", quote=leg, min_out=1, user_public_key=USER, deadline=trio.current_time() + 5
            )
    finally:
        await client.aclose()
    assert caught.value.error_code == "invalid_route_plan_leg"
    assert (
        registry.get_sample_value(
            "galileo_leg_instructions_total", {"provider": "dflow", "result": "bad_request"}
        )
        == 1
    )


async def test_circular_instructions_are_refused_and_foreign_legs_rejected(
    dflow: DflowFixture,
) -> None:
    _, url = dflow
    client, _ = make_client(url)
    try:
        leg = await quote(client)
        with pytest.raises(BadRequest):
            await client.round_trip_instructions(
                ip="", buy=leg, sell=leg, min_out=1, user_public_key=USER, deadline=1e9
            )
        jupiter_leg = Quote.parse(
            json.dumps(
                {
                    "inputMint": SOL,
                    "outputMint": BONK,
                    "inAmount": "1",
                    "outAmount": "2",
                    "otherAmountThreshold": "2",
                    "routePlan": [],
                }
            ).encode()
        )
        with pytest.raises(TypeError):
            await client.leg_instructions(
                ip="", quote=jupiter_leg, min_out=1, user_public_key=USER, deadline=1e9
            )
    finally:
        await client.aclose()


@pytest.mark.parametrize("cleanups", [0, 1, 2])
def test_cleanup_instructions_fill_the_one_cleanup_slot_or_go_to_other(cleanups: int) -> None:
    doc = swap_instructions_doc(cleanups=cleanups)
    parsed = parse_dflow_swap_instructions(json.dumps(doc).encode())
    assert parsed.compute_unit_limit == 140_000
    assert parsed.address_lookup_table_addresses == (doc["addressLookupTableAddresses"][0],)
    assert len(parsed.setup_instructions) == 1
    assert parsed.token_ledger_instruction is None
    datas = [ix["data"] for ix in doc["cleanupInstructions"]]
    if cleanups == 1:
        assert parsed.cleanup_instruction is not None
        assert parsed.cleanup_instruction.data == datas[0]
        assert parsed.other_instructions == ()
    else:
        assert parsed.cleanup_instruction is None
        assert [ix.data for ix in parsed.other_instructions] == datas


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"swapInstruction": None}, "swapInstruction"),
        ({"cleanupInstructions": {}}, "cleanupInstructions"),
        ({"computeUnitLimit": "1"}, "computeUnitLimit"),
        ({"addressLookupTableAddresses": [1]}, "addressLookupTableAddresses"),
        ({"blockhashWithMetadata": {"blockhash": 5}}, "blockhashWithMetadata.blockhash"),
    ],
)
def test_instruction_parsing_rejects_bad_shapes(patch: dict[str, Any], field: str) -> None:
    body = json.dumps({**swap_instructions_doc(), **patch}).encode()
    with pytest.raises(MalformedBody) as caught:
        parse_dflow_swap_instructions(body)
    assert caught.value.field == field


# --- the API key ------------------------------------------------------------------------------


async def test_the_api_key_goes_in_its_header_and_never_into_logs_or_errors(
    dflow: DflowFixture, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = dflow
    client, _ = make_client(url, api_key=Secret(KEY))
    caplog.set_level(logging.DEBUG)
    errors: list[QuoteError] = []
    try:
        leg = await quote(client)
        await client.leg_instructions(
            ip="", quote=leg, min_out=1, user_public_key=USER, deadline=trio.current_time() + 5
        )
        for reply in (
            Response(status=200, body=b"<html>502</html>"),
            Response.json({"msg": "no", "code": "route_not_found"}, 400),
            Response.json({"msg": "boom"}, 500),
        ):
            fake.reply = reply
            with pytest.raises(QuoteError) as caught:
                await quote(client)
            errors.append(caught.value)
    finally:
        await client.aclose()
    assert [r.headers.get("x-api-key") for r in fake.requests] == [KEY] * len(fake.requests)
    assert len(fake.requests) == 5
    assert KEY not in caplog.text
    assert any(r.getMessage() == "malformed response" for r in caplog.records)
    for error in errors:
        assert KEY not in str(error) and KEY not in repr(error.body)
    assert KEY not in repr(client.__dict__)  # the Secret stays masked where it is kept


async def test_without_a_key_no_header_is_sent(dflow: DflowFixture) -> None:
    fake, url = dflow
    client, _ = make_client(url)
    try:
        await quote(client)
    finally:
        await client.aclose()
    assert "x-api-key" not in fake.requests[0].headers


# --- construction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "expected"),
    [
        ("http://127.0.0.1:1", "fast", FastTransport),
        ("http://127.0.0.1:1", "httpx", HttpxTransport),
        ("https://quote-api.dflow.net", "fast", HttpxTransport),  # fast is http-only
    ],
)
async def test_for_url_picks_the_transport(url: str, kind: str, expected: type) -> None:
    network = NetworkConfig(transport=kind)  # type: ignore[arg-type]
    client = DflowClient.for_url(url, network_config=network, registry=CollectorRegistry())
    try:
        assert isinstance(client.transport, expected)
        assert client.provider is Provider.DFLOW
    finally:
        await client.aclose()


def test_providers_share_the_leg_metrics_of_a_registry() -> None:
    registry = CollectorRegistry()
    assert LegMetrics.on(registry) is LegMetrics.on(registry)
    assert LegMetrics.on(CollectorRegistry()) is not LegMetrics.on(registry)
