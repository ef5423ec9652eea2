"""The DFlow face: DFlow's shapes (strict), its own DEX subset over one or two hops, no
circular routes, DFlow's error codes, a per-IP /quote limit, and a minimum out the chain
enforces."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from galileo._config import SimConfig, SimFaultsConfig
from galileo._config_load import check
from galileo.sim import JUPITER_PROGRAM_ID, WSOL_MINT, World
from galileo.sim._program import instruction_from_json
from tests.sim.dflow_schema import (
    STRICT,
    DflowError,
    DflowQuoteResponse,
    DflowSwapInstructionsResponse,
    DflowSwapResponse,
)
from tests.sim.sim_helpers import Api, b64
from tests.sim.sim_schema import amount
from tests.worlds import first_token, quiet_world

DFLOW_VENUES = {"Orca Whirlpool", "Meteora DLMM"}
"""The default subset: every DEX of sim.dexes but the first (Raydium)."""


async def dflow_get(
    world: World, path: str, local_address: str | None = None, **params: Any
) -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(local_address=local_address)
    async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
        return await client.get(world.dflow_url + path, params=params)


async def dflow_post(world: World, path: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.post(world.dflow_url + path, json=body)


async def dflow_quote(
    world: World, input_mint: str, output_mint: str, size: int, **params: Any
) -> Any:
    response = await dflow_get(
        world, "/quote", inputMint=input_mint, outputMint=output_mint, amount=size, **params
    )
    assert response.status_code == 200, response.text
    return response.json()


def refusal(response: httpx.Response, status: int = 400) -> str:
    """The DFlow error code of a refused request (its body checked strictly)."""
    assert response.status_code == status, response.text
    error = STRICT.structure(response.json(), DflowError)
    assert error.msg == error.error
    return error.code


def swap_body(world: World, quote: Any, **options: Any) -> dict[str, Any]:
    return {
        "quoteResponse": quote,
        "userPublicKey": str(world.wallet_pubkey),
        "wrapAndUnwrapSol": False,
        "dynamicComputeUnitLimit": True,
        "prioritizationFeeLamports": "disabled",
        **options,
    }


async def leg_transaction(api: Api, answer: Any) -> tuple[VersionedTransaction, int]:
    """A transaction of one leg from a /swap-instructions answer, signed by the world's
    wallet, and the index of its swap instruction."""
    ixs = [
        instruction_from_json(ix)
        for ix in [*answer["computeBudgetInstructions"], *answer["setupInstructions"]]
    ]
    swap_index = len(ixs)
    ixs.append(instruction_from_json(answer["swapInstruction"]))
    ixs += [instruction_from_json(ix) for ix in answer["cleanupInstructions"]]
    tables = await api.lookup_tables(answer["addressLookupTableAddresses"])
    wallet = api.world.wallet
    message = MessageV0.try_compile(wallet.pubkey(), ixs, tables, await api.blockhash())
    return VersionedTransaction(message, [wallet]), swap_index


# --- /quote -----------------------------------------------------------------------------------


async def test_quote_matches_the_dflow_schema_exactly(world: World) -> None:
    mint = first_token(world)
    doc = await dflow_quote(world, WSOL_MINT, mint, 10**9, slippageBps=30)
    quote = STRICT.structure(doc, DflowQuoteResponse)
    out = amount(quote.outAmount)
    assert amount(quote.inAmount) == 10**9
    assert amount(quote.otherAmountThreshold) == out * (10_000 - 30) // 10_000
    assert quote.minOutAmount == quote.otherAmountThreshold
    assert quote.slippageBps == 30
    assert quote.platformFee is None
    assert quote.contextSlot == world.slot
    assert float(quote.priceImpactPct) >= 0
    assert quote.simulatedComputeUnits > 0
    assert re.fullmatch(r"[0-9a-f-]{36}", quote.requestId)
    assert quote.routePlan[0].inputMint == WSOL_MINT
    assert quote.routePlan[-1].outputMint == mint
    assert quote.routePlan[-1].outAmount == quote.outAmount
    for leg in quote.routePlan:
        assert leg.venue in DFLOW_VENUES
        pool = world.market.by_address[leg.marketKey]
        assert pool.label == leg.venue
        assert leg.inputMintDecimals == world.market.tokens[leg.inputMint].decimals
        assert leg.outputMintDecimals == world.market.tokens[leg.outputMint].decimals


async def test_it_routes_only_over_its_own_dexes_so_prices_differ_from_jupiter(
    world: World,
) -> None:
    mint = first_token(world)
    # Tokens are cheap on Raydium now: Jupiter buys there, DFlow cannot.
    world.dislocate(world.pool(mint, "Raydium"), -300)
    dflow = await dflow_quote(world, WSOL_MINT, mint, 10**9, onlyDirectRoutes="true")
    async with Api.connect(world) as api:
        jupiter = await api.quote(WSOL_MINT, mint, 10**9, onlyDirectRoutes="true")
    (leg,) = dflow["routePlan"]
    assert leg["venue"] in DFLOW_VENUES
    assert jupiter["routePlan"][0]["swapInfo"]["label"] == "Raydium"
    assert int(jupiter["outAmount"]) > int(dflow["outAmount"])
    # The answer is exactly the best DFlow pool's math.
    best = max(world.pool(mint, label).quote(WSOL_MINT, 10**9)[0] for label in sorted(DFLOW_VENUES))
    assert int(dflow["outAmount"]) == best


async def test_dexes_and_exclude_dexes_narrow_its_subset(world: World) -> None:
    mint = first_token(world)
    only_orca = await dflow_quote(world, WSOL_MINT, mint, 10**9, dexes="Orca Whirlpool")
    assert {leg["venue"] for leg in only_orca["routePlan"]} == {"Orca Whirlpool"}
    no_orca = await dflow_quote(world, WSOL_MINT, mint, 10**9, excludeDexes="Orca Whirlpool")
    assert {leg["venue"] for leg in no_orca["routePlan"]} == {"Meteora DLMM"}
    # A DEX of the market that DFlow does not route: no route, not an unknown DEX.
    raydium = await dflow_get(
        world, "/quote", inputMint=WSOL_MINT, outputMint=mint, amount=10**9, dexes="Raydium"
    )
    assert refusal(raydium) == "route_not_found"
    unknown = await dflow_get(
        world, "/quote", inputMint=WSOL_MINT, outputMint=mint, amount=10**9, dexes="Nope"
    )
    assert refusal(unknown) == "invalid_dex"


async def test_its_subset_is_configurable(tmp_path: Path) -> None:
    async with quiet_world(tmp_path, dflow_dexes=["Raydium"]) as world:
        mint = first_token(world)
        doc = await dflow_quote(world, WSOL_MINT, mint, 10**9)
        assert {leg["venue"] for leg in doc["routePlan"]} == {"Raydium"}


def test_the_default_subset_is_every_dex_but_the_first_and_unknown_ones_are_refused() -> None:
    assert SimConfig().dflow_venues() == ("Orca Whirlpool", "Meteora DLMM")
    assert SimConfig(dflow_dexes=["Raydium"]).dflow_venues() == ("Raydium",)
    problems = list(check(SimConfig(dflow_dexes=["Raydium", "Phoenix"])))
    assert problems == [("dflow_dexes", "not in sim.dexes: Phoenix")]


async def test_routes_have_one_or_two_legs(world: World) -> None:
    tokens = [m for m in world.market.tokens if m != WSOL_MINT]
    a, b = tokens[0], tokens[2]  # no pool between them: through SOL (or a ring token)
    assert not world.market.by_pair.get((a, b))
    doc = await dflow_quote(world, a, b, 10**6)
    assert len(doc["routePlan"]) == 2
    assert doc["routePlan"][0]["outputMint"] == doc["routePlan"][1]["inputMint"]
    direct = await dflow_get(
        world, "/quote", inputMint=a, outputMint=b, amount=10**6, maxRouteLength=1
    )
    assert refusal(direct) == "route_not_found"
    only_direct = await dflow_get(
        world, "/quote", inputMint=a, outputMint=b, amount=10**6, onlyDirectRoutes="true"
    )
    assert refusal(only_direct) == "route_not_found"


async def test_same_mint_routes_are_refused(world: World) -> None:
    response = await dflow_get(
        world, "/quote", inputMint=WSOL_MINT, outputMint=WSOL_MINT, amount=10**9
    )
    assert refusal(response) == "same_input_and_output_mint"
    # Nor can a merged circular quote be sent back for instructions.
    mint = first_token(world)
    leg = await dflow_quote(world, WSOL_MINT, mint, 10**9)
    circular = dict(leg, outputMint=WSOL_MINT)
    answer = await dflow_post(world, "/swap-instructions", swap_body(world, circular))
    assert refusal(answer) == "same_input_and_output_mint"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"inputMint": "nope"}, "invalid_input_mint"),
        ({"outputMint": "nope"}, "invalid_output_mint"),
        ({"amount": "0"}, "requested_input_amount_is_zero"),
        ({"amount": "-1"}, "invalid_request"),
        ({"amount": None}, "invalid_request"),
        ({"slippageBps": "10001"}, "invalid_slippage_bps"),
        ({"platformFeeBps": "10"}, "invalid_platform_fee_bps"),
        ({"onlyDirectRoutes": "maybe"}, "invalid_request"),
        ({"outputMint": "11111111111111111111111111111112"}, "route_not_found"),
    ],
)
async def test_bad_parameters_are_400_with_a_dflow_code(
    world: World, params: dict[str, Any], code: str
) -> None:
    query = {"inputMint": WSOL_MINT, "outputMint": first_token(world), "amount": "1000"}
    query.update(params)
    query = {k: v for k, v in query.items() if v is not None}
    assert refusal(await dflow_get(world, "/quote", **query)) == code


async def test_unknown_paths_are_404_and_wrong_methods_405(world: World) -> None:
    assert refusal(await dflow_get(world, "/order"), 404) == "not_found"
    assert refusal(await dflow_get(world, "/swap-instructions"), 405) == "method_not_allowed"
    answer = await dflow_post(world, "/swap-instructions", [1, 2])
    assert refusal(answer) == "invalid_request"


async def test_quote_is_rate_limited_per_source_ip(
    world: World, mock_clock: trio.testing.MockClock
) -> None:
    mint = first_token(world)
    params = {"inputMint": WSOL_MINT, "outputMint": mint, "amount": 10**6}
    limit = world.config.dflow_quote_rps_per_ip
    assert limit == 20
    for _ in range(int(limit)):
        assert (await dflow_get(world, "/quote", "127.0.0.2", **params)).status_code == 200
    limited = await dflow_get(world, "/quote", "127.0.0.2", **params)
    assert refusal(limited, 429) == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert 0 < int(limited.headers["retry-after-ms"]) <= 1000
    # Another source IP has its own budget; the limit is on /quote only.
    assert (await dflow_get(world, "/quote", "127.0.0.3", **params)).status_code == 200
    assert (await dflow_get(world, "/order", "127.0.0.2")).status_code == 404
    stats = world.faults["dflow"].stats.by_ip["127.0.0.2"]
    assert (stats.served, stats.rate_limited) == (int(limit) + 1, 1)
    mock_clock.jump(1.0)
    assert (await dflow_get(world, "/quote", "127.0.0.2", **params)).status_code == 200


async def test_its_faults_are_its_own(tmp_path: Path, mock_clock: trio.testing.MockClock) -> None:
    faults = SimFaultsConfig(error_5xx_rate=1.0, quote_rps_per_ip=0.5)
    async with quiet_world(tmp_path, dflow_faults=faults) as world:
        mint = first_token(world)
        response = await dflow_get(
            world, "/quote", inputMint=WSOL_MINT, outputMint=mint, amount=10**6
        )
        assert response.status_code == 500
        assert world.faults["dflow"].stats.errors_5xx == 1
        assert world.faults["dflow"].limiter.rate == 20  # sim.dflow_quote_rps_per_ip
        async with Api.connect(world) as api:
            assert (await api.get("/program-id-to-label")).status_code == 200


async def test_same_seed_same_requests_same_clock_give_the_same_quotes(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    bodies = []
    for run in range(2):
        async with quiet_world(tmp_path / str(run)) as world:
            mint = first_token(world)
            mock_clock.jump(3.0)
            response = await dflow_get(
                world, "/quote", inputMint=WSOL_MINT, outputMint=mint, amount=10**9
            )
            bodies.append(response.content)
    assert bodies[0] == bodies[1]


# --- /swap-instructions and /swap -------------------------------------------------------------


async def test_swap_instructions_match_the_dflow_schema(world: World, api: Api) -> None:
    mint = first_token(world)
    quote = await dflow_quote(world, WSOL_MINT, mint, 10**9)
    response = await dflow_post(world, "/swap-instructions", swap_body(world, quote))
    assert response.status_code == 200, response.text
    answer = STRICT.structure(response.json(), DflowSwapInstructionsResponse)
    assert answer.swapInstruction.programId == JUPITER_PROGRAM_ID  # the world's swap program
    assert answer.cleanupInstructions == []  # nothing to unwrap without wrapAndUnwrapSol
    assert answer.setupInstructions == []  # the prepared wallet has its token accounts
    assert answer.prioritizationFeeLamports == 0
    assert answer.computeUnitLimit == 60_000 + 40_000 * len(quote["routePlan"])
    assert answer.addressLookupTableAddresses == [str(world.chain.alt_address)]
    latest = await api.rpc("getLatestBlockhash", [])
    assert answer.blockhashWithMetadata.blockhash == latest["value"]["blockhash"]
    assert (
        answer.blockhashWithMetadata.lastValidBlockHeight == latest["value"]["lastValidBlockHeight"]
    )


async def test_wrapping_sol_puts_the_unwrap_in_cleanup_instructions(world: World) -> None:
    mint = first_token(world)
    quote = await dflow_quote(world, WSOL_MINT, mint, 10**9)
    body = swap_body(
        world, quote, wrapAndUnwrapSol=True, prioritizationFeeLamports={"lamports": 5000}
    )
    response = await dflow_post(world, "/swap-instructions", body)
    answer = STRICT.structure(response.json(), DflowSwapInstructionsResponse)
    (close,) = answer.cleanupInstructions
    assert close.programId.startswith("Tokenkeg")
    assert answer.prioritizationFeeLamports > 0
    assert len(answer.computeBudgetInstructions) == 2  # limit and price


async def test_swap_instructions_refuse_routes_it_would_not_quote(world: World) -> None:
    mint = first_token(world)
    quote = await dflow_quote(world, WSOL_MINT, mint, 10**9, onlyDirectRoutes="true")
    raydium = world.pool(mint, "Raydium").address
    foreign = dict(quote, routePlan=[dict(quote["routePlan"][0], marketKey=raydium)])
    answer = await dflow_post(world, "/swap-instructions", swap_body(world, foreign))
    assert refusal(answer) == "invalid_route_plan_leg"
    empty = dict(quote, routePlan=[])
    answer = await dflow_post(world, "/swap-instructions", swap_body(world, empty))
    assert refusal(answer) == "route_is_empty"
    long = dict(quote, routePlan=quote["routePlan"] * 3)
    answer = await dflow_post(world, "/swap-instructions", swap_body(world, long))
    assert refusal(answer) == "route_too_long"
    both = swap_body(world, quote, computeUnitPriceMicroLamports=1)
    answer = await dflow_post(world, "/swap-instructions", both)
    assert refusal(answer) == "both_priority_fee_params_specified"
    stranger = swap_body(world, quote, userPublicKey="nope")
    answer = await dflow_post(world, "/swap-instructions", stranger)
    assert refusal(answer) == "invalid_user_public_key"


async def test_swap_returns_an_unsigned_v0_transaction(world: World) -> None:
    mint = first_token(world)
    quote = await dflow_quote(world, WSOL_MINT, mint, 10**9)
    response = await dflow_post(world, "/swap", swap_body(world, quote))
    answer = STRICT.structure(response.json(), DflowSwapResponse)
    tx = VersionedTransaction.from_bytes(base64.b64decode(answer.swapTransaction))
    assert isinstance(tx.message, MessageV0)
    assert answer.lastValidBlockHeight > 0


# --- the minimum out, on chain ----------------------------------------------------------------


async def test_a_floor_above_what_the_route_returns_fails_on_chain(world: World, api: Api) -> None:
    mint = first_token(world)
    quote = await dflow_quote(world, WSOL_MINT, mint, 10**9, slippageBps=0)
    out = int(quote["outAmount"])
    greedy = dict(quote, otherAmountThreshold=str(out + 1), minOutAmount=str(out + 1))
    answer = (await dflow_post(world, "/swap-instructions", swap_body(world, greedy))).json()
    tx, swap_index = await leg_transaction(api, answer)
    before = world.balances()
    sent = await api.rpc(
        "sendTransaction", [b64(tx), {"encoding": "base64", "skipPreflight": True}]
    )
    (status,) = (await api.rpc("getSignatureStatuses", [[sent]]))["value"]
    assert status["err"] == {"InstructionError": [swap_index, {"Custom": 6001}]}
    after = world.balances()
    assert after.tokens == before.tokens
    assert after.lamports < before.lamports  # only the fee


async def test_raising_only_min_out_amount_is_enforced_too(world: World, api: Api) -> None:
    mint = first_token(world)
    quote = await dflow_quote(world, WSOL_MINT, mint, 10**9, slippageBps=0)
    greedy = dict(quote, minOutAmount=str(int(quote["outAmount"]) + 1))
    answer = (await dflow_post(world, "/swap-instructions", swap_body(world, greedy))).json()
    tx, _ = await leg_transaction(api, answer)
    doc = (await api.rpc_raw("sendTransaction", [b64(tx), {"encoding": "base64"}])).json()
    assert doc["error"]["code"] == -32002  # preflight: slippage


async def test_a_floor_the_route_meets_lands_exactly_the_quote(world: World, api: Api) -> None:
    mint = first_token(world)
    quote = await dflow_quote(world, WSOL_MINT, mint, 10**9, slippageBps=0)
    out = int(quote["outAmount"])
    exact = dict(quote, otherAmountThreshold=str(out), minOutAmount=str(out))
    answer = (await dflow_post(world, "/swap-instructions", swap_body(world, exact))).json()
    tx, _ = await leg_transaction(api, answer)
    before = world.balances()
    sent = await api.rpc("sendTransaction", [b64(tx), {"encoding": "base64"}])
    (status,) = (await api.rpc("getSignatureStatuses", [[sent]]))["value"]
    assert status["err"] is None
    after = world.balances()
    assert after.tokens[mint] - before.tokens[mint] == out
    assert after.wsol - before.wsol == -(10**9)


# --- served by `galileo sim` ------------------------------------------------------------------


async def test_galileo_sim_prints_and_serves_the_dflow_face(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "galileo", "sim", "--seed", "7", "--jupiter-port", "0",
        "--rpc-port", "0", "--jito-port", "0", "--dflow-port", "0",
        "--wallet-path", str(tmp_path / "w.json"),
    ]  # fmt: skip
    process = await trio.lowlevel.open_process(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        text = ""
        with trio.fail_after(60):
            while "ready" not in text:
                chunk = await process.stdout.receive_some(4096)
                assert chunk, text
                text += chunk.decode()
        urls = dict(re.findall(r"^(\w+)\s+(http://\S+)", text, re.MULTILINE))
        assert {"jupiter", "dflow", "rpc", "jito"} <= set(urls)
        async with httpx.AsyncClient(trust_env=False) as client:
            order = await client.get(urls["dflow"] + "/order")
            assert order.status_code == 404
            assert order.json()["code"] == "not_found"
        process.send_signal(signal.SIGINT)
        with trio.fail_after(30):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
