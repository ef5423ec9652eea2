"""The Jupiter face: /quote, /swap-instructions, /swap, /program-id-to-label, /tokens with the
v6 response shapes (see docs/sim.md for what is and is not imitated)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs
import trio
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from galileo._httpserver import Request, Response
from galileo.sim._constants import WSOL_MINT
from galileo.sim._market import Market, Pool, QuoteParams, Route
from galileo.sim._program import (
    EncodedHop,
    EncodedRoute,
    ata,
    close_account,
    compute_unit_limit,
    compute_unit_price,
    create_ata_idempotent,
    instruction_json,
    route_instruction,
    sync_native,
    system_transfer,
)

_log = logging.getLogger("galileo.sim")

U64_MAX = 2**64 - 1
DEFAULT_COMPUTE_UNIT_LIMIT = 1_400_000
AUTO_COMPUTE_UNIT_PRICE = 10_000  # micro-lamports used for "auto"


class ChainView(Protocol):
    """What the Jupiter face needs from the chain (in-process or over the RPC)."""

    async def context_slot(self) -> int: ...

    async def latest_blockhash(self) -> tuple[str, int]: ...

    async def missing_accounts(self, pubkeys: Sequence[str]) -> set[str]: ...

    def lookup_tables(self) -> list[str]: ...

    def tip_accounts(self) -> Sequence[str]: ...


@attrs.frozen
class JupiterOptions:
    """The flags of the real binary that change the API's behaviour."""

    allow_circular_arbitrage: bool = False
    enable_tokens: bool = True


class ApiError(Exception):
    def __init__(self, status: int, error: str, code: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.code = code

    def response(self) -> Response:
        return Response.json({"error": self.error, "errorCode": self.code}, status=self.status)


def _bad(error: str) -> ApiError:
    return ApiError(400, error, "INVALID_REQUEST")


def _pubkey(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"{name} is required")
    try:
        Pubkey.from_string(value)
    except ValueError as exc:
        raise _bad(f"{name} is not a valid public key: {value!r}") from exc
    return value


def _uint(value: Any, name: str, *, maximum: int = U64_MAX) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise _bad(f"{name} must be an unsigned integer: {value!r}") from exc
    if isinstance(value, bool) or not 0 <= number <= maximum:
        raise _bad(f"{name} out of range: {value!r}")
    return number


def _flag(value: str | None, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise _bad(f"{name} must be true or false: {value!r}")


def _labels(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def _pct(fraction: float) -> str:
    text = f"{fraction:.12f}".rstrip("0").rstrip(".")
    return text or "0"


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
                return Response.json(await self.swap_instructions(_body(request)))
            if route == ("POST", "/swap"):
                return Response.json(await self.swap(_body(request)))
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
        input_mint = _pubkey(q.get("inputMint"), "inputMint")
        output_mint = _pubkey(q.get("outputMint"), "outputMint")
        if "amount" not in q:
            raise _bad("amount is required")
        amount = _uint(q["amount"], "amount")
        if amount == 0:
            raise _bad("amount must be greater than 0")
        slippage_bps = _uint(q.get("slippageBps", "50"), "slippageBps", maximum=10_000)
        swap_mode = q.get("swapMode", "ExactIn") or "ExactIn"
        if swap_mode not in ("ExactIn", "ExactOut"):
            raise _bad(f"swapMode must be ExactIn or ExactOut: {swap_mode!r}")
        if swap_mode == "ExactOut":
            raise ApiError(400, "ExactOut is not supported by this market", "NOT_SUPPORTED")
        platform_fee_bps = _uint(q.get("platformFeeBps", "0"), "platformFeeBps", maximum=10_000)
        if platform_fee_bps:
            raise ApiError(400, "platformFeeBps is not supported", "NOT_SUPPORTED")
        dexes = _labels(q.get("dexes")) or None
        params = QuoteParams(
            input_mint=input_mint,
            output_mint=output_mint,
            amount=amount,
            only_direct_routes=_flag(q.get("onlyDirectRoutes"), "onlyDirectRoutes", False),
            dexes=dexes,
            exclude_dexes=_labels(q.get("excludeDexes")),
            max_accounts=_uint(q.get("maxAccounts", "64"), "maxAccounts", maximum=256),
            restrict_intermediate_tokens=_flag(
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
        ixs: list[Instruction] = [*plan.compute_budget, *plan.setup, plan.swap]
        if plan.cleanup is not None:
            ixs.append(plan.cleanup)
        ixs += plan.other
        message = MessageV0.try_compile(
            Pubkey.from_string(plan.user), ixs, [], Hash.from_string(blockhash)
        )
        unsigned = VersionedTransaction.populate(
            message, [Signature.default()] * message.header.num_required_signatures
        )
        return {
            "swapTransaction": base64.b64encode(bytes(unsigned)).decode(),
            "lastValidBlockHeight": last_valid,
            "prioritizationFeeLamports": plan.prioritization_fee,
            "computeUnitLimit": plan.compute_unit_limit,
            "prioritizationType": plan.prioritization_type,
            "dynamicSlippageReport": None,
            "simulationError": None,
        }

    async def _plan(self, body: dict[str, Any]) -> _SwapPlan:
        user = _pubkey(body.get("userPublicKey"), "userPublicKey")
        quote = body.get("quoteResponse")
        if not isinstance(quote, dict):
            raise _bad("quoteResponse is required")
        try:
            input_mint = _pubkey(quote["inputMint"], "quoteResponse.inputMint")
            output_mint = _pubkey(quote["outputMint"], "quoteResponse.outputMint")
            in_amount = _uint(quote["inAmount"], "quoteResponse.inAmount")
            out_amount = _uint(quote["outAmount"], "quoteResponse.outAmount")
            threshold = _uint(quote["otherAmountThreshold"], "quoteResponse.otherAmountThreshold")
            slippage_bps = _uint(quote.get("slippageBps", 0), "slippageBps", maximum=10_000)
            steps = quote["routePlan"]
        except KeyError as exc:
            raise _bad(f"quoteResponse.{exc.args[0]} is required") from exc
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
        wrap = body.get("wrapAndUnwrapSol", True) is not False
        destination = body.get("destinationTokenAccount")
        if destination is not None:
            destination = _pubkey(destination, "destinationTokenAccount")

        hops: list[EncodedHop] = []
        for i, (pool, mint_in) in enumerate(legs):
            mint_out = pool.other(mint_in)
            vault_in, vault_out = pool.vaults(mint_in)
            user_dest = str(ata(user, mint_out))
            if destination is not None and i == len(legs) - 1:
                user_dest = destination
            hops.append(
                EncodedHop(
                    pool.program_id,
                    pool.address,
                    vault_in,
                    vault_out,
                    str(ata(user, mint_in)),
                    user_dest,
                )
            )
        swap = route_instruction(
            EncodedRoute(user, in_amount, out_amount, threshold, slippage_bps, tuple(hops))
        )

        # Setup: the user's token accounts (idempotent creation), and wrapping SOL.
        mints: list[str] = []
        for pool, mint_in in legs:
            for mint in (mint_in, pool.other(mint_in)):
                if mint not in mints:
                    mints.append(mint)
        if body.get("skipUserAccountsRpcCalls"):
            create = mints
        else:
            missing = await self.chain.missing_accounts([str(ata(user, m)) for m in mints])
            create = [m for m in mints if str(ata(user, m)) in missing]
        setup = [create_ata_idempotent(user, user, m) for m in create]
        cleanup: Instruction | None = None
        wsol_ata = ata(user, WSOL_MINT)
        if wrap and WSOL_MINT in (input_mint, output_mint):
            if WSOL_MINT not in create:
                setup.append(create_ata_idempotent(user, user, WSOL_MINT))
            if input_mint == WSOL_MINT:
                setup += [system_transfer(user, wsol_ata, in_amount), sync_native(wsol_ata)]
            cleanup = close_account(wsol_ata, user, user)

        # Compute budget and prioritization.
        hop_count = len(legs)
        if body.get("dynamicComputeUnitLimit"):
            cu_limit = 60_000 + 40_000 * hop_count + 25_000 * len(setup)
        else:
            cu_limit = DEFAULT_COMPUTE_UNIT_LIMIT
        price_param = body.get("computeUnitPriceMicroLamports")
        fee_param = body.get("prioritizationFeeLamports")
        if price_param is not None and fee_param is not None:
            raise ApiError(
                400,
                "computeUnitPriceMicroLamports and prioritizationFeeLamports are exclusive",
                "INVALID_COMPUTE_UNIT_PRICE_AND_PRIORITIZATION_FEE",
            )
        other: list[Instruction] = []
        price = 0
        prioritization_type: dict[str, Any]
        if price_param is not None:
            if price_param == "auto":
                price = AUTO_COMPUTE_UNIT_PRICE
            else:
                price = _uint(price_param, "computeUnitPriceMicroLamports")
        elif isinstance(fee_param, dict) and "jitoTipLamports" in fee_param:
            tip = _uint(fee_param["jitoTipLamports"], "jitoTipLamports")
            tips = self.chain.tip_accounts()
            tip_account = tips[(in_amount + tip) % len(tips)]
            other.append(system_transfer(user, tip_account, tip))
            budget = [compute_unit_limit(cu_limit)]
            return _SwapPlan(
                user,
                budget,
                setup,
                swap,
                cleanup,
                other,
                tip,
                cu_limit,
                {"jito": {"lamports": tip}},
            )
        elif fee_param == "auto":
            price = AUTO_COMPUTE_UNIT_PRICE
        elif isinstance(fee_param, dict) and "priorityLevelWithMaxLamports" in fee_param:
            level = fee_param["priorityLevelWithMaxLamports"]
            max_lamports = _uint(level.get("maxLamports", 0), "maxLamports")
            price = min(AUTO_COMPUTE_UNIT_PRICE, max_lamports * 1_000_000 // cu_limit)
        elif fee_param is not None:
            lamports = _uint(fee_param, "prioritizationFeeLamports")
            price = lamports * 1_000_000 // cu_limit
        budget = [compute_unit_limit(cu_limit)]
        if price:
            budget.append(compute_unit_price(price))
        fee = -(-cu_limit * price // 1_000_000)  # the runtime rounds the priority fee up
        prioritization_type = {
            "computeBudget": {"microLamports": price, "estimatedMicroLamports": price}
        }
        return _SwapPlan(
            user, budget, setup, swap, cleanup, other, fee, cu_limit, prioritization_type
        )

    def _legs(self, steps: Any, input_mint: str, output_mint: str) -> list[tuple[Pool, str]]:
        if not isinstance(steps, list) or not steps:
            raise _bad("quoteResponse.routePlan must be a non-empty list")
        legs: list[tuple[Pool, str]] = []
        current = input_mint
        for step in steps:
            try:
                info = step["swapInfo"]
                amm = info["ammKey"]
                mint_in = info["inputMint"]
                mint_out = info["outputMint"]
            except (KeyError, TypeError) as exc:
                raise _bad("malformed routePlan step") from exc
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


@attrs.frozen
class _SwapPlan:
    user: str
    compute_budget: list[Instruction]
    setup: list[Instruction]
    swap: Instruction
    cleanup: Instruction | None
    other: list[Instruction]
    prioritization_fee: int
    compute_unit_limit: int
    prioritization_type: dict[str, Any]


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
        "priceImpactPct": _pct(route.price_impact()),
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


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise _bad(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise _bad("request body must be a JSON object")
    return body
