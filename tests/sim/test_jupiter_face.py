"""The Jupiter face: v6 shapes (strict), errors with official codes, determinism."""

from __future__ import annotations

import base64
from pathlib import Path

import trio.testing
from solders.transaction import VersionedTransaction

from galileo.sim import JUPITER_PROGRAM_ID, WSOL_MINT, World
from tests.sim.sim_helpers import Api
from tests.sim.sim_schema import (
    STRICT,
    ErrorResponse,
    QuoteResponse,
    SwapInstructionsResponse,
    SwapResponse,
    amount,
)
from tests.worlds import first_token, quiet_world


async def test_quote_matches_the_v6_schema_exactly(api: Api, world: World) -> None:
    mint = first_token(world)
    doc = await api.quote(WSOL_MINT, mint, 10**9, slippageBps=30)
    quote = STRICT.structure(doc, QuoteResponse)
    assert quote.swapMode == "ExactIn" and quote.slippageBps == 30
    out = amount(quote.outAmount)
    assert amount(quote.otherAmountThreshold) == out * (10_000 - 30) // 10_000
    assert amount(quote.inAmount) == 10**9
    assert quote.contextSlot == world.slot
    assert float(quote.priceImpactPct) >= 0
    for step in quote.routePlan:
        assert step.percent == 100
        assert amount(step.swapInfo.feeAmount) > 0
        assert step.swapInfo.label in world.market.labels().values()
    assert quote.routePlan[-1].swapInfo.outAmount == quote.outAmount


async def test_quote_amounts_are_exactly_the_pool_math(api: Api, world: World) -> None:
    mint = first_token(world)
    doc = await api.quote(WSOL_MINT, mint, 123_456_789, onlyDirectRoutes="true")
    (step,) = doc["routePlan"]
    pool = world.market.by_address[step["swapInfo"]["ammKey"]]
    assert int(doc["outAmount"]) == pool.quote(WSOL_MINT, 123_456_789)[0]


async def test_circular_quote_needs_the_flag(world: World, tmp_path: Path) -> None:
    async with Api.connect(world) as api:
        ok = await api.quote(WSOL_MINT, WSOL_MINT, 10**9)
        assert len(ok["routePlan"]) == 2
    async with (
        quiet_world(tmp_path, allow_circular_arbitrage=False) as strict_world,
        Api.connect(strict_world) as api,
    ):
        response = await api.get("/quote", inputMint=WSOL_MINT, outputMint=WSOL_MINT, amount=10**9)
        assert response.status_code == 400
        error = STRICT.structure(response.json(), ErrorResponse)
        assert error.errorCode == "CIRCULAR_ARBITRAGE_IS_DISABLED"
        _, _, merged = await api.circular_quote(first_token(strict_world), 10**9, 0)
        body = {"userPublicKey": str(strict_world.wallet_pubkey), "quoteResponse": merged}
        response = await api.post("/swap-instructions", body)
        assert response.status_code == 400
        assert response.json()["errorCode"] == "CIRCULAR_ARBITRAGE_IS_DISABLED"


async def test_bad_parameters_are_400_with_an_error_code(api: Api, world: World) -> None:
    mint = first_token(world)
    cases: list[dict[str, object]] = [
        {"outputMint": mint, "amount": 1},
        {"inputMint": "not-a-key", "outputMint": mint, "amount": 1},
        {"inputMint": WSOL_MINT, "outputMint": mint, "amount": "-5"},
        {"inputMint": WSOL_MINT, "outputMint": mint, "amount": "abc"},
        {"inputMint": WSOL_MINT, "outputMint": mint, "amount": 1, "slippageBps": 20_000},
        {"inputMint": WSOL_MINT, "outputMint": mint, "amount": 1, "swapMode": "Sideways"},
        {"inputMint": WSOL_MINT, "outputMint": mint, "amount": 1, "onlyDirectRoutes": "maybe"},
    ]
    for params in cases:
        response = await api.get("/quote", **params)
        assert response.status_code == 400, params
        STRICT.structure(response.json(), ErrorResponse)


async def test_no_route_and_unknown_token_use_official_codes(api: Api, world: World) -> None:
    mint = first_token(world)
    response = await api.get(
        "/quote", inputMint=WSOL_MINT, outputMint=mint, amount=10**6, dexes="Nope"
    )
    assert response.json()["errorCode"] == "COULD_NOT_FIND_ANY_ROUTE"
    stranger = str(world.wallet_pubkey)
    response = await api.get("/quote", inputMint=WSOL_MINT, outputMint=stranger, amount=10**6)
    assert response.json()["errorCode"] == "TOKEN_NOT_TRADABLE"
    response = await api.get(
        "/quote", inputMint=WSOL_MINT, outputMint=mint, amount=10**6, maxAccounts=12
    )
    assert response.json()["errorCode"] == "COULD_NOT_FIND_ANY_ROUTE"


async def test_dexes_and_exclude_dexes_filter_by_label(api: Api, world: World) -> None:
    mint = first_token(world)
    doc = await api.quote(WSOL_MINT, mint, 10**6, dexes="Meteora DLMM")
    assert {s["swapInfo"]["label"] for s in doc["routePlan"]} == {"Meteora DLMM"}
    doc = await api.quote(WSOL_MINT, mint, 10**6, excludeDexes="Raydium,Orca Whirlpool")
    assert {s["swapInfo"]["label"] for s in doc["routePlan"]} <= {"Meteora DLMM"}


async def test_swap_instructions_match_the_schema(api: Api, world: World) -> None:
    _, _, merged = await api.circular_quote(first_token(world), 10**9, 5000)
    body = {"userPublicKey": str(world.wallet_pubkey), "quoteResponse": merged}
    response = await api.post("/swap-instructions", body)
    assert response.status_code == 200, response.text
    si = STRICT.structure(response.json(), SwapInstructionsResponse)
    assert si.swapInstruction.programId == JUPITER_PROGRAM_ID
    assert si.computeUnitLimit > 0
    assert si.addressLookupTableAddresses == [str(world.chain.alt_address)]
    # wrapAndUnwrapSol defaults to true: SOL is wrapped in setup and unwrapped in cleanup.
    assert si.cleanupInstruction is not None


async def test_swap_returns_an_unsigned_v0_transaction(api: Api, world: World) -> None:
    doc = await api.quote(WSOL_MINT, first_token(world), 10**8)
    body = {"userPublicKey": str(world.wallet_pubkey), "quoteResponse": doc}
    response = await api.post("/swap", body)
    assert response.status_code == 200, response.text
    swap = STRICT.structure(response.json(), SwapResponse)
    tx = VersionedTransaction.from_bytes(base64.b64decode(swap.swapTransaction))
    assert tx.message.account_keys[0] == world.wallet_pubkey
    assert swap.lastValidBlockHeight > world.slot


async def test_swap_instructions_reject_unknown_markets(api: Api, world: World) -> None:
    doc = await api.quote(WSOL_MINT, first_token(world), 10**8)
    doc["routePlan"][0]["swapInfo"]["ammKey"] = str(world.wallet_pubkey)
    body = {"userPublicKey": str(world.wallet_pubkey), "quoteResponse": doc}
    response = await api.post("/swap-instructions", body)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "MARKET_NOT_FOUND"


async def test_labels_and_tokens(api: Api, world: World) -> None:
    labels = (await api.get("/program-id-to-label")).json()
    assert labels["whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc"] == "Orca Whirlpool"
    assert set(labels.values()) == {"Raydium", "Orca Whirlpool", "Meteora DLMM"}
    tokens = (await api.get("/tokens")).json()
    assert tokens[0] == WSOL_MINT and set(tokens) == set(world.market.tokens)


async def _transcript(tmp_path: Path, seed: int, clock: trio.testing.MockClock) -> list[str]:
    world = quiet_world(tmp_path, seed=seed, drift_bps_per_s=5, dislocation_rate_per_s=2.0)
    out = []
    async with world, Api.connect(world) as api:
        mints = [m for m in world.market.tokens if m != WSOL_MINT]
        for i in range(6):
            clock.jump(0.9)
            for mint in mints[:3]:
                response = await api.get(
                    "/quote", inputMint=WSOL_MINT, outputMint=mint, amount=10**8 * (i + 1)
                )
                out.append(response.text)
            out.append(
                (
                    await api.get("/quote", inputMint=WSOL_MINT, outputMint=WSOL_MINT, amount=10**9)
                ).text
            )
    return out


async def test_same_seed_same_requests_same_clock_give_the_same_responses(
    mock_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    first = await _transcript(tmp_path, 11, mock_clock)
    second = await _transcript(tmp_path, 11, mock_clock)
    other = await _transcript(tmp_path, 12, mock_clock)
    assert first == second
    assert first != other
