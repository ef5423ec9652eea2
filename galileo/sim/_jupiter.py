"""The Jupiter face: /quote, /swap-instructions, /swap, /program-id-to-label, /tokens with the
v6 response shapes (see docs/sim.md for what is and is not imitated)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
import trio

from galileo._httpserver import Request, Response
from galileo.sim._market import Market, Pool, QuoteParams, Route
from galileo.sim._program import instruction_json
from galileo.sim._swap_plan import (
    ApiError,
    ChainView,
    SwapPlan,
    bad_request,
    flag_param,
    json_body,
    labels_param,
    pct,
    plan_swap,
    pubkey_param,
    uint_param,
)

_log = logging.getLogger("galileo.sim")


@attrs.frozen
class JupiterOptions:
    """The flags of the real binary that change the API's behaviour."""

    allow_circular_arbitrage: bool = False
    enable_tokens: bool = True


class JupiterFace:
    """Request handlers of the Jupiter-compatible API over a ``Market``."""

    def __init__(
        self,
        market: Market,
        chain: ChainView,
        options: JupiterOptions,
        *,
        before_request: Callable[[], None] | None = None,
    ) -> None:
        self.market = market
        self.chain = chain
        self.options = options
        # Called (synchronously) before serving, e.g. to advance the world to "now".
        self._before = before_request
        self.quotes_served = 0

    async def handle(self, request: Request) -> Response:
        if self._before is not None:
            self._before()
        try:
            route = (request.method, request.path.rstrip("/") or "/")
            if route == ("GET", "/quote"):
                return await self.quote(request)
            if route == ("POST", "/swap-instructions"):
                return Response.json(await self.swap_instructions(json_body(request)))
            if route == ("POST", "/swap"):
                return Response.json(await self.swap(json_body(request)))
            if route == ("GET", "/program-id-to-label"):
                return Response.json(self.market.labels())
            if route == ("GET", "/tokens") and self.options.enable_tokens:
                return Response.json(list(self.market.tokens))
            if request.path in ("/quote", "/swap", "/swap-instructions"):
                return Response.json({"error": "Method Not Allowed"}, status=405)
            return Response.json({"error": "Not Found"}, status=404)
        except ApiError as err:
            return err.response()

    # --- /quote ---------------------------------------------------------------------------

    async def quote(self, request: Request) -> Response:
        started = trio.current_time()
        q = request.query
        input_mint = pubkey_param(q.get("inputMint"), "inputMint")
        output_mint = pubkey_param(q.get("outputMint"), "outputMint")
        if "amount" not in q:
            raise bad_request("amount is required")
        amount = uint_param(q["amount"], "amount")
        if amount == 0:
            raise bad_request("amount must be greater than 0")
        slippage_bps = uint_param(q.get("slippageBps", "50"), "slippageBps", maximum=10_000)
        swap_mode = q.get("swapMode", "ExactIn") or "ExactIn"
        if swap_mode not in ("ExactIn", "ExactOut"):
            raise bad_request(f"swapMode must be ExactIn or ExactOut: {swap_mode!r}")
        if swap_mode == "ExactOut":
            raise ApiError(400, "ExactOut is not supported by this market", "NOT_SUPPORTED")
        platform_fee_bps = uint_param(
            q.get("platformFeeBps", "0"), "platformFeeBps", maximum=10_000
        )
        if platform_fee_bps:
            raise ApiError(400, "platformFeeBps is not supported", "NOT_SUPPORTED")
        dexes = labels_param(q.get("dexes")) or None
        params = QuoteParams(
            input_mint=input_mint,
            output_mint=output_mint,
            amount=amount,
            only_direct_routes=flag_param(q.get("onlyDirectRoutes"), "onlyDirectRoutes", False),
            dexes=dexes,
            exclude_dexes=labels_param(q.get("excludeDexes")),
            max_accounts=uint_param(q.get("maxAccounts", "64"), "maxAccounts", maximum=256),
            restrict_intermediate_tokens=flag_param(
                q.get("restrictIntermediateTokens"), "restrictIntermediateTokens", True
            ),
        )
        if input_mint == output_mint and not self.options.allow_circular_arbitrage:
            raise ApiError(
                400,
                "Input and output mints are not allowed to be equal",
                "CIRCULAR_ARBITRAGE_IS_DISABLED",
            )
        for mint in (input_mint, output_mint):
            if mint not in self.market.tokens:
                raise ApiError(400, f"The token {mint} is not tradable", "TOKEN_NOT_TRADABLE")
        route = self.market.best_route(params)
        if route is None:
            raise ApiError(400, "Could not find any route", "COULD_NOT_FIND_ANY_ROUTE")
        slot = await self.chain.context_slot()
        self.quotes_served += 1
        return Response.json(quote_json(route, slippage_bps, slot, trio.current_time() - started))

    # --- /swap-instructions and /swap ---------------------------------------------------

    async def swap_instructions(self, body: dict[str, Any]) -> dict[str, Any]:
        plan = await self._plan(body)
        return {
            "tokenLedgerInstruction": None,
            "computeBudgetInstructions": [instruction_json(ix) for ix in plan.compute_budget],
            "setupInstructions": [instruction_json(ix) for ix in plan.setup],
            "swapInstruction": instruction_json(plan.swap),
            "cleanupInstruction": (
                instruction_json(plan.cleanup) if plan.cleanup is not None else None
            ),
            "otherInstructions": [instruction_json(ix) for ix in plan.other],
            "addressLookupTableAddresses": self.chain.lookup_tables(),
            "prioritizationFeeLamports": plan.prioritization_fee,
            "computeUnitLimit": plan.compute_unit_limit,
            "prioritizationType": plan.prioritization_type,
            "dynamicSlippageReport": None,
            "simulationError": None,
        }

    async def swap(self, body: dict[str, Any]) -> dict[str, Any]:
        plan = await self._plan(body)
        blockhash, last_valid = await self.chain.latest_blockhash()
        return {
            "swapTransaction": plan.unsigned_transaction(blockhash),
            "lastValidBlockHeight": last_valid,
            "prioritizationFeeLamports": plan.prioritization_fee,
            "computeUnitLimit": plan.compute_unit_limit,
            "prioritizationType": plan.prioritization_type,
            "dynamicSlippageReport": None,
            "simulationError": None,
        }

    async def _plan(self, body: dict[str, Any]) -> SwapPlan:
        user = pubkey_param(body.get("userPublicKey"), "userPublicKey")
        quote = body.get("quoteResponse")
        if not isinstance(quote, dict):
            raise bad_request("quoteResponse is required")
        try:
            input_mint = pubkey_param(quote["inputMint"], "quoteResponse.inputMint")
            output_mint = pubkey_param(quote["outputMint"], "quoteResponse.outputMint")
            in_amount = uint_param(quote["inAmount"], "quoteResponse.inAmount")
            out_amount = uint_param(quote["outAmount"], "quoteResponse.outAmount")
            threshold = uint_param(
                quote["otherAmountThreshold"], "quoteResponse.otherAmountThreshold"
            )
            slippage_bps = uint_param(quote.get("slippageBps", 0), "slippageBps", maximum=10_000)
            steps = quote["routePlan"]
        except KeyError as exc:
            raise bad_request(f"quoteResponse.{exc.args[0]} is required") from exc
        if quote.get("swapMode", "ExactIn") != "ExactIn":
            raise ApiError(400, "ExactOut is not supported by this market", "NOT_SUPPORTED")
        if input_mint == output_mint and not self.options.allow_circular_arbitrage:
            raise ApiError(
                400,
                "Input and output mints are not allowed to be equal",
                "CIRCULAR_ARBITRAGE_IS_DISABLED",
            )
        if body.get("useTokenLedger"):
            raise ApiError(400, "useTokenLedger is not supported", "NOT_SUPPORTED")
        legs = self._legs(steps, input_mint, output_mint)
        return await plan_swap(
            self.chain,
            body,
            user=user,
            legs=legs,
            input_mint=input_mint,
            output_mint=output_mint,
            in_amount=in_amount,
            out_amount=out_amount,
            threshold=threshold,
            slippage_bps=slippage_bps,
        )

    def _legs(self, steps: Any, input_mint: str, output_mint: str) -> list[tuple[Pool, str]]:
        if not isinstance(steps, list) or not steps:
            raise bad_request("quoteResponse.routePlan must be a non-empty list")
        legs: list[tuple[Pool, str]] = []
        current = input_mint
        for step in steps:
            try:
                info = step["swapInfo"]
                amm = info["ammKey"]
                mint_in = info["inputMint"]
                mint_out = info["outputMint"]
            except (KeyError, TypeError) as exc:
                raise bad_request("malformed routePlan step") from exc
            if step.get("percent", 100) not in (100, None):
                raise ApiError(400, "split routes are not supported", "NOT_SUPPORTED")
            pool = self.market.by_address.get(amm)
            if pool is None:
                raise ApiError(400, f"Market {amm} not found", "MARKET_NOT_FOUND")
            if mint_in != current or {mint_in, mint_out} != {pool.mint_a, pool.mint_b}:
                raise ApiError(
                    400,
                    "The route plan does not consume all the amount",
                    "ROUTE_PLAN_DOES_NOT_CONSUME_ALL_THE_AMOUNT",
                )
            legs.append((pool, mint_in))
            current = mint_out
        if current != output_mint:
            raise ApiError(
                400,
                "The route plan does not end in the output mint",
                "ROUTE_PLAN_DOES_NOT_CONSUME_ALL_THE_AMOUNT",
            )
        return legs


def quote_json(route: Route, slippage_bps: int, slot: int, time_taken: float) -> dict[str, Any]:
    """The v6 QuoteResponse of a route (amounts as decimal strings)."""
    threshold = route.out_amount * (10_000 - slippage_bps) // 10_000
    return {
        "inputMint": route.input_mint,
        "inAmount": str(route.in_amount),
        "outputMint": route.output_mint,
        "outAmount": str(route.out_amount),
        "otherAmountThreshold": str(threshold),
        "swapMode": "ExactIn",
        "slippageBps": slippage_bps,
        "platformFee": None,
        "priceImpactPct": pct(route.price_impact()),
        "routePlan": [
            {
                "swapInfo": {
                    "ammKey": hop.pool.address,
                    "label": hop.pool.label,
                    "inputMint": hop.input_mint,
                    "outputMint": hop.output_mint,
                    "inAmount": str(hop.in_amount),
                    "outAmount": str(hop.out_amount),
                    "feeAmount": str(hop.fee_amount),
                    "feeMint": hop.input_mint,
                },
                "percent": 100,
            }
            for hop in route.hops
        ],
        "contextSlot": slot,
        "timeTaken": time_taken,
    }
