"""The DFlow face: ``GET /quote``, ``POST /swap-instructions`` and ``POST /swap`` with the
shapes of DFlow's swap API (``quote-api.dflow.net``), over the same market and chain as the
Jupiter face (see docs/sim.md).

Its quirks, so that the two aggregators quote different prices (cross-venue spreads): it
routes only over its own DEX subset (``sim.dflow_dexes``), over one or two hops, and refuses
same-mint (circular) routes. Its swap instruction is the world's swap-program instruction, so
it fails on chain below the quote's ``otherAmountThreshold`` exactly like Jupiter's.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection
from typing import Any, TypeVar

import attrs

from galileo._config import SimConfig, SimFaultsConfig
from galileo._httpserver import Request, Response
from galileo.sim._faults import faults_for, retry_after_headers
from galileo.sim._market import Market, Pool, QuoteParams, Route
from galileo.sim._program import ata, instruction_json
from galileo.sim._swap_plan import (
    AUTO_COMPUTE_UNIT_PRICE,
    ApiError,
    ChainView,
    SwapPlan,
    flag_param,
    json_body,
    labels_param,
    pct,
    plan_swap,
    pubkey_param,
    uint_param,
)

MAX_ROUTE_LEGS = 2
"""The face routes over one or two hops (a real aggregator goes further)."""
AUTO_SLIPPAGE_BPS = 50
"""What ``slippageBps=auto`` (and no slippageBps) stands for."""

# Codes of the checks shared with the Jupiter face, as DFlow names them; any other shared
# code is sent lower-cased (INVALID_REQUEST → invalid_request).
_DFLOW_CODES = {
    "INVALID_COMPUTE_UNIT_PRICE_AND_PRIORITIZATION_FEE": "both_priority_fee_params_specified",
}

_T = TypeVar("_T")


def dflow_faults(config: SimConfig) -> SimFaultsConfig:
    """The DFlow face's faults: ``sim.faults`` merged with ``sim.dflow_faults``, with the
    hosted API's own per-IP /quote limit (``sim.dflow_quote_rps_per_ip``) in place of the
    Jupiter binary's ``quote_rps_per_ip``."""
    return attrs.evolve(faults_for(config, "dflow"), quote_rps_per_ip=config.dflow_quote_rps_per_ip)


def error_response(error: ApiError) -> Response:
    """DFlow's error body: ``msg`` and ``code`` as its API sends them, and ``error`` (the same
    text) for clients written against Jupiter-style bodies."""
    code = _DFLOW_CODES.get(error.code, error.code.lower())
    return Response.json(
        {"error": error.error, "msg": error.error, "code": code}, status=error.status
    )


def rate_limited_response(retry_after_ms: int) -> Response:
    """The 429 of the per-IP /quote limit."""
    return attrs.evolve(
        error_response(ApiError(429, "Too many requests", "rate_limited")),
        headers=retry_after_headers(retry_after_ms),
    )


def _checked(code: str, parse: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``parse(*args)``, its refusal re-coded with DFlow's ``code`` for that parameter."""
    try:
        return parse(*args, **kwargs)
    except ApiError as exc:
        raise ApiError(exc.status, exc.error, code) from exc


def _refused(error: str, code: str) -> ApiError:
    return ApiError(400, error, code)


class DflowFace:
    """Request handlers of the DFlow-compatible swap API over a ``Market``; ``venues`` are the
    DEX labels it routes over."""

    def __init__(
        self,
        market: Market,
        chain: ChainView,
        *,
        venues: Collection[str],
        before_request: Callable[[], None] | None = None,
    ) -> None:
        self.market = market
        self.chain = chain
        self.venues = frozenset(venues)
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
        except ApiError as err:
            return error_response(err)
        if route[1] in ("/quote", "/swap", "/swap-instructions"):
            return error_response(ApiError(405, "Method Not Allowed", "method_not_allowed"))
        return error_response(ApiError(404, "Not Found", "not_found"))

    # --- /quote ---------------------------------------------------------------------------

    async def quote(self, request: Request) -> Response:
        q = request.query
        input_mint = _checked("invalid_input_mint", pubkey_param, q.get("inputMint"), "inputMint")
        output_mint = _checked(
            "invalid_output_mint", pubkey_param, q.get("outputMint"), "outputMint"
        )
        if "amount" not in q:
            raise _refused("amount is required", "invalid_request")
        amount = uint_param(q["amount"], "amount")
        if amount == 0:
            raise _refused("amount must be greater than 0", "requested_input_amount_is_zero")
        slippage = q.get("slippageBps", "auto") or "auto"
        slippage_bps = (
            AUTO_SLIPPAGE_BPS
            if slippage == "auto"
            else _checked(
                "invalid_slippage_bps", uint_param, slippage, "slippageBps", maximum=10_000
            )
        )
        fee_bps = _checked(
            "invalid_platform_fee_bps", uint_param, q.get("platformFeeBps", "0"), "platformFeeBps"
        )
        if fee_bps:
            raise _refused("platformFeeBps is not supported", "invalid_platform_fee_bps")
        if input_mint == output_mint:
            raise _refused(
                "inputMint and outputMint must be different", "same_input_and_output_mint"
            )
        dexes = labels_param(q.get("dexes"))
        exclude = labels_param(q.get("excludeDexes"))
        known = set(self.market.labels().values())
        unknown = sorted((dexes | exclude) - known)
        if unknown:
            raise _refused(f"unknown dex: {', '.join(unknown)}", "invalid_dex")
        only_direct = flag_param(q.get("onlyDirectRoutes"), "onlyDirectRoutes", False)
        max_legs = MAX_ROUTE_LEGS
        if q.get("maxRouteLength"):
            max_legs = min(max_legs, uint_param(q["maxRouteLength"], "maxRouteLength"))
        if max_legs < 1:
            raise _refused("no route of zero legs", "route_not_found")
        for mint in (input_mint, output_mint):
            if mint not in self.market.tokens:
                raise _refused(f"no route: unknown mint {mint}", "route_not_found")
        params = QuoteParams(
            input_mint=input_mint,
            output_mint=output_mint,
            amount=amount,
            only_direct_routes=only_direct or max_legs == 1,
            dexes=(dexes & self.venues) if dexes else self.venues,
            exclude_dexes=exclude,
        )
        route = self.market.best_route(params)
        if route is None:
            raise _refused("no route found", "route_not_found")
        slot = await self.chain.context_slot()
        self.quotes_served += 1
        return Response.json(
            quote_json(route, self.market, slippage_bps, slot, _request_id(self.quotes_served))
        )

    # --- /swap-instructions and /swap ---------------------------------------------------

    async def swap_instructions(self, body: dict[str, Any]) -> dict[str, Any]:
        plan = await self._plan(body)
        blockhash, last_valid = await self.chain.latest_blockhash()
        return {
            "computeBudgetInstructions": [instruction_json(ix) for ix in plan.compute_budget],
            "setupInstructions": [instruction_json(ix) for ix in plan.setup],
            "swapInstruction": instruction_json(plan.swap),
            "cleanupInstructions": (
                [instruction_json(plan.cleanup)] if plan.cleanup is not None else []
            ),
            "otherInstructions": [instruction_json(ix) for ix in plan.other],
            "addressLookupTableAddresses": self.chain.lookup_tables(),
            "prioritizationFeeLamports": plan.prioritization_fee,
            "computeUnitLimit": plan.compute_unit_limit,
            "prioritizationType": plan.prioritization_type,
            "blockhashWithMetadata": {"blockhash": blockhash, "lastValidBlockHeight": last_valid},
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
        }

    async def _plan(self, body: dict[str, Any]) -> SwapPlan:
        user = _checked(
            "invalid_user_public_key", pubkey_param, body.get("userPublicKey"), "userPublicKey"
        )
        quote = body.get("quoteResponse")
        if not isinstance(quote, dict):
            raise _refused("quoteResponse is required", "invalid_request")
        try:
            input_mint = pubkey_param(quote["inputMint"], "quoteResponse.inputMint")
            output_mint = pubkey_param(quote["outputMint"], "quoteResponse.outputMint")
            in_amount = uint_param(quote["inAmount"], "quoteResponse.inAmount")
            out_amount = _checked(
                "invalid_out_amount", uint_param, quote["outAmount"], "quoteResponse.outAmount"
            )
            threshold = _checked(
                "invalid_out_amount",
                uint_param,
                quote["otherAmountThreshold"],
                "quoteResponse.otherAmountThreshold",
            )
            slippage_bps = uint_param(quote.get("slippageBps", 0), "slippageBps", maximum=10_000)
            steps = quote["routePlan"]
        except KeyError as exc:
            raise _refused(f"quoteResponse.{exc.args[0]} is required", "invalid_request") from exc
        if quote.get("minOutAmount") is not None:
            # Documented as the same value; a caller that raised only one still gets its floor.
            min_out_amount = _checked(
                "invalid_out_amount",
                uint_param,
                quote["minOutAmount"],
                "quoteResponse.minOutAmount",
            )
            threshold = max(threshold, min_out_amount)
        if input_mint == output_mint:
            raise _refused(
                "inputMint and outputMint must be different", "same_input_and_output_mint"
            )
        legs = self._legs(steps, input_mint, output_mint)
        return await plan_swap(
            self.chain,
            self._plan_options(body, output_mint),
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
        if not isinstance(steps, list):
            raise _refused("quoteResponse.routePlan must be a list", "invalid_request")
        if not steps:
            raise _refused("quoteResponse.routePlan is empty", "route_is_empty")
        if len(steps) > MAX_ROUTE_LEGS:
            raise _refused(f"at most {MAX_ROUTE_LEGS} legs", "route_too_long")
        legs: list[tuple[Pool, str]] = []
        current = input_mint
        for i, step in enumerate(steps):
            try:
                market_key = step["marketKey"]
                mint_in = step["inputMint"]
                mint_out = step["outputMint"]
            except (KeyError, TypeError) as exc:
                raise _refused(f"routePlan[{i}] is malformed", "invalid_route_plan_leg") from exc
            if not all(isinstance(v, str) for v in (market_key, mint_in, mint_out)):
                raise _refused(f"routePlan[{i}] is malformed", "invalid_route_plan_leg")
            pool = self.market.by_address.get(market_key)
            if pool is None or pool.label not in self.venues:
                raise _refused(
                    f"routePlan[{i}]: unknown market {market_key}", "invalid_route_plan_leg"
                )
            if mint_in != current or {mint_in, mint_out} != {pool.mint_a, pool.mint_b}:
                raise _refused(
                    f"routePlan[{i}] does not continue the route", "invalid_route_plan_leg"
                )
            legs.append((pool, mint_in))
            current = mint_out
        if current != output_mint:
            raise _refused("routePlan does not end in outputMint", "invalid_route_plan_leg")
        return legs

    def _plan_options(self, body: dict[str, Any], output_mint: str) -> dict[str, Any]:
        """DFlow's request options as the Jupiter-style options of :func:`plan_swap`."""
        options: dict[str, Any] = {
            key: body[key] for key in ("wrapAndUnwrapSol", "dynamicComputeUnitLimit") if key in body
        }
        destination = body.get("destinationTokenAccount")
        if isinstance(destination, dict):
            by_owner = destination.get("associatedTokenAccount")
            owner = by_owner.get("owner") if isinstance(by_owner, dict) else None
            address = destination.get("address")
            if isinstance(owner, str):
                owner = _checked("invalid_destination_token_account", pubkey_param, owner, "owner")
                destination = str(ata(owner, output_mint))
            elif isinstance(address, str):
                destination = address
            else:
                raise _refused(
                    "destinationTokenAccount needs an address or an associatedTokenAccount owner",
                    "invalid_destination_token_account",
                )
        if destination is not None:
            options["destinationTokenAccount"] = _checked(
                "invalid_destination_token_account",
                pubkey_param,
                destination,
                "destinationTokenAccount",
            )
        price = body.get("computeUnitPriceMicroLamports")
        fee = body.get("prioritizationFeeLamports")
        if price is not None and fee is not None:
            raise _refused(
                "computeUnitPriceMicroLamports and prioritizationFeeLamports are exclusive",
                "both_priority_fee_params_specified",
            )
        if price is not None:
            options["computeUnitPriceMicroLamports"] = uint_param(
                price, "computeUnitPriceMicroLamports"
            )
        elif fee is None or fee == "auto":  # DFlow's default is "auto"
            options["prioritizationFeeLamports"] = "auto"
        elif fee == "disabled":
            pass
        elif isinstance(fee, dict) and "lamports" in fee:
            options["prioritizationFeeLamports"] = uint_param(fee["lamports"], "lamports")
        elif isinstance(fee, dict) and "autoMultiplier" in fee:
            multiplier = uint_param(fee["autoMultiplier"], "autoMultiplier", maximum=1_000)
            options["computeUnitPriceMicroLamports"] = AUTO_COMPUTE_UNIT_PRICE * multiplier
        elif isinstance(fee, dict) and isinstance(fee.get("priorityLevelWithMaxLamports"), dict):
            options["prioritizationFeeLamports"] = fee
        else:
            options["prioritizationFeeLamports"] = uint_param(fee, "prioritizationFeeLamports")
        return options


def quote_json(
    route: Route, market: Market, slippage_bps: int, slot: int, request_id: str
) -> dict[str, Any]:
    """DFlow's QuoteResponse of a route (amounts as decimal strings)."""
    threshold = route.out_amount * (10_000 - slippage_bps) // 10_000
    return {
        "inputMint": route.input_mint,
        "inAmount": str(route.in_amount),
        "outputMint": route.output_mint,
        "outAmount": str(route.out_amount),
        "otherAmountThreshold": str(threshold),
        "minOutAmount": str(threshold),
        "slippageBps": slippage_bps,
        "priceImpactPct": pct(route.price_impact()),
        "platformFee": None,
        "routePlan": [
            {
                "venue": hop.pool.label,
                "marketKey": hop.pool.address,
                "inputMint": hop.input_mint,
                "outputMint": hop.output_mint,
                "inAmount": str(hop.in_amount),
                "outAmount": str(hop.out_amount),
                "inputMintDecimals": market.tokens[hop.input_mint].decimals,
                "outputMintDecimals": market.tokens[hop.output_mint].decimals,
            }
            for hop in route.hops
        ],
        "contextSlot": slot,
        # The same estimate as the swap's dynamic compute-unit limit, without setup.
        "simulatedComputeUnits": 60_000 + 40_000 * len(route.hops),
        "requestId": request_id,
    }


def _request_id(serial: int) -> str:
    """A UUID that is a pure function of the quote's serial number (deterministic worlds)."""
    digest = hashlib.sha256(f"galileo-sim-dflow:{serial}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
