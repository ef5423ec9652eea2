"""What the aggregator faces share: request-parameter checks, and turning a validated route
(``(pool, input mint)`` legs) into the instructions of one swap for the world's swap program.

The Jupiter face and the DFlow face differ in their wire shapes (quote fields, route plans,
error bodies) but build the same plan: the user's token accounts, wrapping SOL, the sim swap
instruction carrying the route and its minimum out, compute budget and prioritization.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Protocol

import attrs
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from galileo._httpserver import Request, Response
from galileo.sim._constants import WSOL_MINT
from galileo.sim._market import Pool
from galileo.sim._program import (
    EncodedHop,
    EncodedRoute,
    ata,
    close_account,
    compute_unit_limit,
    compute_unit_price,
    create_ata_idempotent,
    route_instruction,
    sync_native,
    system_transfer,
)

U64_MAX = 2**64 - 1
DEFAULT_COMPUTE_UNIT_LIMIT = 1_400_000
AUTO_COMPUTE_UNIT_PRICE = 10_000  # micro-lamports used for "auto"


class ChainView(Protocol):
    """What an aggregator face needs from the chain (in-process or over the RPC)."""

    async def context_slot(self) -> int: ...

    async def latest_blockhash(self) -> tuple[str, int]: ...

    async def missing_accounts(self, pubkeys: Sequence[str]) -> set[str]: ...

    def lookup_tables(self) -> list[str]: ...

    def tip_accounts(self) -> Sequence[str]: ...


class ApiError(Exception):
    """A refused request: HTTP ``status``, a message and a Jupiter-style error code (each face
    renders it in its own body shape)."""

    def __init__(self, status: int, error: str, code: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.code = code

    def response(self) -> Response:
        return Response.json({"error": self.error, "errorCode": self.code}, status=self.status)


def bad_request(error: str) -> ApiError:
    return ApiError(400, error, "INVALID_REQUEST")


def pubkey_param(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{name} is required")
    try:
        Pubkey.from_string(value)
    except ValueError as exc:
        raise bad_request(f"{name} is not a valid public key: {value!r}") from exc
    return value


def uint_param(value: Any, name: str, *, maximum: int = U64_MAX) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"{name} must be an unsigned integer: {value!r}") from exc
    if isinstance(value, bool) or not 0 <= number <= maximum:
        raise bad_request(f"{name} out of range: {value!r}")
    return number


def flag_param(value: str | None, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise bad_request(f"{name} must be true or false: {value!r}")


def labels_param(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def pct(fraction: float) -> str:
    text = f"{fraction:.12f}".rstrip("0").rstrip(".")
    return text or "0"


def json_body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise bad_request(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body


@attrs.frozen
class SwapPlan:
    """The instructions of one swap, in transaction order, with what the answer reports."""

    user: str
    compute_budget: list[Instruction]
    setup: list[Instruction]
    swap: Instruction
    cleanup: Instruction | None
    other: list[Instruction]
    prioritization_fee: int
    compute_unit_limit: int
    prioritization_type: dict[str, Any]

    def unsigned_transaction(self, blockhash: str) -> str:
        """The plan as an unsigned v0 transaction, base64 (the /swap answer)."""
        ixs: list[Instruction] = [*self.compute_budget, *self.setup, self.swap]
        if self.cleanup is not None:
            ixs.append(self.cleanup)
        ixs += self.other
        message = MessageV0.try_compile(
            Pubkey.from_string(self.user), ixs, [], Hash.from_string(blockhash)
        )
        unsigned = VersionedTransaction.populate(
            message, [Signature.default()] * message.header.num_required_signatures
        )
        return base64.b64encode(bytes(unsigned)).decode()


async def plan_swap(
    chain: ChainView,
    body: dict[str, Any],
    *,
    user: str,
    legs: Sequence[tuple[Pool, str]],
    input_mint: str,
    output_mint: str,
    in_amount: int,
    out_amount: int,
    threshold: int,
    slippage_bps: int,
) -> SwapPlan:
    """The swap of ``in_amount`` along ``legs`` that fails on chain below ``threshold``.

    ``body`` carries the Jupiter-style options: ``wrapAndUnwrapSol``, ``destinationTokenAccount``,
    ``skipUserAccountsRpcCalls``, ``dynamicComputeUnitLimit``, ``computeUnitPriceMicroLamports``
    and ``prioritizationFeeLamports``."""
    wrap = body.get("wrapAndUnwrapSol", True) is not False
    destination = body.get("destinationTokenAccount")
    if destination is not None:
        destination = pubkey_param(destination, "destinationTokenAccount")

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
        missing = await chain.missing_accounts([str(ata(user, m)) for m in mints])
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
            price = uint_param(price_param, "computeUnitPriceMicroLamports")
    elif isinstance(fee_param, dict) and "jitoTipLamports" in fee_param:
        tip = uint_param(fee_param["jitoTipLamports"], "jitoTipLamports")
        tips = chain.tip_accounts()
        tip_account = tips[(in_amount + tip) % len(tips)]
        other.append(system_transfer(user, tip_account, tip))
        budget = [compute_unit_limit(cu_limit)]
        return SwapPlan(
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
        max_lamports = uint_param(level.get("maxLamports", 0), "maxLamports")
        price = min(AUTO_COMPUTE_UNIT_PRICE, max_lamports * 1_000_000 // cu_limit)
    elif fee_param is not None:
        lamports = uint_param(fee_param, "prioritizationFeeLamports")
        price = lamports * 1_000_000 // cu_limit
    budget = [compute_unit_limit(cu_limit)]
    if price:
        budget.append(compute_unit_price(price))
    fee = -(-cu_limit * price // 1_000_000)  # the runtime rounds the priority fee up
    prioritization_type = {
        "computeBudget": {"microLamports": price, "estimatedMicroLamports": price}
    }
    return SwapPlan(user, budget, setup, swap, cleanup, other, fee, cu_limit, prioritization_type)
