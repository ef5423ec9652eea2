"""Issue 13 end to end on the simulated world: buy on DFlow, sell on Jupiter, both legs'
instructions in ONE transaction (two-swap mode) that lands atomically: either both swaps
happen and the wallet gains exactly the quoted profit, or neither does. Built both from
instructions fetched here (``TxBuilder.assemble_two_swap``) and by the builder itself from
the two venues (``TxBuilder(..., venues=[dflow])``)."""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest
import trio
from prometheus_client import CollectorRegistry
from solders.transaction import VersionedTransaction

from galileo._config import ExecutionConfig, NetworkConfig
from galileo.engine import Evaluator
from galileo.model import BuiltTx, Opportunity, QuoteBatch, RouteMode
from galileo.net import FastTransport, JsonRpcClient
from galileo.providers import DflowClient, DflowQuote, JupiterClient, Quote, QuoteOptions
from galileo.sim import JUPITER_PROGRAM_ID, WSOL_MINT, World
from galileo.tx import AltCache, BlockhashRefresher, TxBuilder, Wallet
from tests.worlds import SIZE, first_token


@attrs.define
class Venues:
    """The two providers on one world, and what a build needs."""

    world: World
    dflow: DflowClient
    jupiter: JupiterClient
    rpc: JsonRpcClient
    wallet: Wallet
    builder: TxBuilder
    builder_blockhashes: BlockhashRefresher
    alts: AltCache


@pytest.fixture
async def venues(world: World) -> AsyncIterator[Venues]:
    rpc = JsonRpcClient(world.rpc_url)
    transport = FastTransport(world.jupiter_url)
    blockhashes = BlockhashRefresher(rpc, interval_s=0.4)
    assert await blockhashes.refresh_once()
    dflow = DflowClient.for_url(
        world.dflow_url, network_config=NetworkConfig(), registry=CollectorRegistry()
    )
    jupiter = JupiterClient(transport, options=QuoteOptions(slippage_bps=0))
    wallet = Wallet.load(world.wallet_path)
    alts = AltCache(rpc)
    builder = TxBuilder(
        ExecutionConfig(compute_unit_price_micro_lamports=1000),
        wallet=wallet,
        provider=jupiter,  # unused: assemble_two_swap takes the instructions fetched here
        blockhashes=blockhashes,
        alts=alts,
        route_mode=RouteMode.TWO_SWAP,
        rng=random.Random(1),
    )
    try:
        yield Venues(world, dflow, jupiter, rpc, wallet, builder, blockhashes, alts)
    finally:
        await dflow.aclose()
        await transport.aclose()
        await rpc.aclose()


async def cross_venue_opportunity(v: Venues, mint: str) -> Opportunity:
    """Buy ``mint`` on DFlow, sell it on Jupiter; evaluated like the engine does."""
    deadline = trio.current_time() + 5
    buy = await v.dflow.quote_leg(
        ip="", input_mint=WSOL_MINT, output_mint=mint, amount=SIZE, leg="buy", deadline=deadline
    )
    sell = await v.jupiter.quote_leg(
        ip="",
        input_mint=mint,
        output_mint=WSOL_MINT,
        amount=buy.out_amount,
        leg="sell",
        deadline=deadline,
    )
    assert isinstance(buy, DflowQuote) and isinstance(sell, Quote)
    # Different pools: each swap is priced on reserves the other does not move.
    assert not {leg.market_key for leg in buy.route_plan} & {
        step.swap_info.amm_key for step in sell.route_plan
    }
    batch = QuoteBatch(
        batch_id=1, base_mint=WSOL_MINT, mint=mint, size=SIZE, lane=0, min_profit_lamports=0
    )
    evaluator = Evaluator(ExecutionConfig(compute_unit_price_micro_lamports=1000), max_quote_age=5)
    found = evaluator.evaluate(batch, buy, sell, ip="", now=trio.current_time())
    assert isinstance(found, Opportunity), found
    return found


async def build(v: Venues, opportunity: Opportunity) -> BuiltTx:
    """Both legs' instructions, each from its own venue, in one signed transaction: the buy
    must return what the sell spends, the sell the opportunity's minimum out."""
    deadline = trio.current_time() + 5
    buy = await v.dflow.leg_instructions(
        ip="",
        quote=opportunity.buy,
        min_out=opportunity.sell.in_amount,
        user_public_key=v.wallet.pubkey_str,
        deadline=deadline,
    )
    sell = await v.jupiter.leg_instructions(
        ip="",
        quote=opportunity.sell,
        min_out=v.builder.min_out(opportunity),
        user_public_key=v.wallet.pubkey_str,
        deadline=deadline,
    )
    addresses = list(
        dict.fromkeys([*buy.address_lookup_table_addresses, *sell.address_lookup_table_addresses])
    )
    tables = await v.alts.get(addresses)
    built = v.builder.assemble_two_swap(opportunity, buy, sell, tables)
    assert isinstance(built, BuiltTx), built
    return built


async def rpc(world: World, method: str, params: list[Any]) -> Any:
    async with httpx.AsyncClient(trust_env=False) as client:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return (await client.post(world.rpc_url, json=body)).json()


async def jito(world: World, method: str, params: list[Any]) -> Any:
    async with httpx.AsyncClient(trust_env=False) as client:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return (await client.post(world.jito_url + "/api/v1/bundles", json=body)).json()


def swap_indexes(built: BuiltTx) -> list[int]:
    message = VersionedTransaction.from_bytes(built.wire).message
    keys = [str(k) for k in message.account_keys]
    return [
        i
        for i, ix in enumerate(message.instructions)
        if keys[ix.program_id_index] == JUPITER_PROGRAM_ID
    ]


async def test_a_dflow_buy_and_a_jupiter_sell_land_in_one_transaction(
    world: World, venues: Venues
) -> None:
    mint = first_token(world)
    # The token is dear on Raydium, which only Jupiter routes: buy elsewhere, sell there.
    world.dislocate(world.pool(mint, "Raydium"), 300)
    opportunity = await cross_venue_opportunity(venues, mint)
    built = await build(venues, opportunity)
    assert len(swap_indexes(built)) == 2
    assert built.route_mode is RouteMode.TWO_SWAP
    before = world.balances()
    doc = await jito(world, "sendBundle", [[built.base64], {"encoding": "base64"}])
    assert "result" in doc, doc
    inflight = await jito(world, "getInflightBundleStatuses", [[doc["result"]]])
    assert inflight["result"]["value"][0]["status"] == "Landed"
    after = world.balances()
    # Both swaps ran, to the atomic unit of their quotes.
    assert after.tokens[mint] == before.tokens[mint]
    assert after.wsol - before.wsol == opportunity.sell.out_amount - SIZE
    assert after.total_sol - before.total_sol == built.expected_profit > 0


async def test_when_the_sell_leg_falls_short_the_buy_leg_is_undone_too(
    world: World, venues: Venues
) -> None:
    mint = first_token(world)
    world.dislocate(world.pool(mint, "Raydium"), 300)
    opportunity = await cross_venue_opportunity(venues, mint)
    built = await build(venues, opportunity)
    buy_index, sell_index = swap_indexes(built)
    # Someone closes the spread first: the DFlow buy would still succeed, the Jupiter sell
    # no longer meets the minimum out.
    world.dislocate(world.pool(mint, "Raydium"), -300)
    before = world.balances()
    sent = await rpc(
        world,
        "sendTransaction",
        [base64.b64encode(built.wire).decode(), {"encoding": "base64", "skipPreflight": True}],
    )
    assert sent["result"] == built.signature
    status = (await rpc(world, "getSignatureStatuses", [[built.signature]]))["result"]["value"][0]
    assert status["err"] == {"InstructionError": [sell_index, {"Custom": 6001}]}
    assert buy_index < sell_index
    after = world.balances()
    assert after.tokens == before.tokens  # the buy's tokens never arrived, its SOL never left
    assert after.lamports == before.lamports - built.fees_lamports  # the fee only, no tip


async def test_the_builder_fetches_each_leg_from_its_own_venue(
    world: World, venues: Venues
) -> None:
    mint = first_token(world)
    world.dislocate(world.pool(mint, "Raydium"), 300)
    opportunity = await cross_venue_opportunity(venues, mint)
    builder = TxBuilder(
        ExecutionConfig(compute_unit_price_micro_lamports=1000),
        wallet=venues.wallet,
        provider=venues.jupiter,
        venues=[venues.dflow],
        blockhashes=venues.builder_blockhashes,
        alts=venues.alts,
        rng=random.Random(1),
    )
    built = await builder.build(opportunity, ip="", route_mode=RouteMode.TWO_SWAP)
    assert isinstance(built, BuiltTx), built
    assert built.route_mode is RouteMode.TWO_SWAP
    assert len(swap_indexes(built)) == 2
    before = world.balances()
    doc = await jito(world, "sendBundle", [[built.base64], {"encoding": "base64"}])
    assert "result" in doc, doc
    after = world.balances()
    assert after.tokens[mint] == before.tokens[mint]
    assert after.total_sol - before.total_sol == built.expected_profit > 0
