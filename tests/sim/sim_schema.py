"""The official Jupiter v6 / Jito response schemas as strict attrs models.

Structuring with ``STRICT`` fails on a missing field, an extra field, or a value of the wrong
JSON type (no coercion), so ``STRICT.structure(doc, QuoteResponse)`` is a conformance check.
Field names are the wire names on purpose.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
import cattrs

STRICT = cattrs.Converter(forbid_extra_keys=True)


def _exact(tp: type) -> Any:
    def hook(value: Any, _: Any) -> Any:
        ok = type(value) is tp or (tp is float and type(value) is int)
        if not ok:
            raise TypeError(f"expected {tp.__name__}, got {type(value).__name__}: {value!r}")
        return value

    return hook


for _tp in (str, int, bool, float):
    STRICT.register_structure_hook(_tp, _exact(_tp))


def amount(text: str) -> int:
    """Amounts are decimal strings of u64s."""
    assert text.isdigit(), text
    value = int(text)
    assert 0 <= value < 2**64
    return value


# --- Jupiter --------------------------------------------------------------------------------


@attrs.frozen
class AccountMeta:
    pubkey: str
    isSigner: bool
    isWritable: bool


@attrs.frozen
class Instruction:
    programId: str
    accounts: list[AccountMeta]
    data: str


@attrs.frozen
class SwapInfo:
    ammKey: str
    label: str
    inputMint: str
    outputMint: str
    inAmount: str
    outAmount: str
    feeAmount: str
    feeMint: str


@attrs.frozen
class RoutePlanStep:
    swapInfo: SwapInfo
    percent: int


@attrs.frozen
class PlatformFee:
    amount: str
    feeBps: int


@attrs.frozen
class QuoteResponse:
    inputMint: str
    inAmount: str
    outputMint: str
    outAmount: str
    otherAmountThreshold: str
    swapMode: Literal["ExactIn", "ExactOut"]
    slippageBps: int
    platformFee: PlatformFee | None
    priceImpactPct: str
    routePlan: list[RoutePlanStep]
    contextSlot: int
    timeTaken: float


@attrs.frozen
class SimulationError:
    errorCode: str
    error: str


@attrs.frozen
class SwapInstructionsResponse:
    tokenLedgerInstruction: Instruction | None
    computeBudgetInstructions: list[Instruction]
    setupInstructions: list[Instruction]
    swapInstruction: Instruction
    cleanupInstruction: Instruction | None
    otherInstructions: list[Instruction]
    addressLookupTableAddresses: list[str]
    prioritizationFeeLamports: int
    computeUnitLimit: int
    prioritizationType: dict[str, dict[str, int]] | None
    dynamicSlippageReport: dict[str, Any] | None
    simulationError: SimulationError | None


@attrs.frozen
class SwapResponse:
    swapTransaction: str
    lastValidBlockHeight: int
    prioritizationFeeLamports: int
    computeUnitLimit: int
    prioritizationType: dict[str, dict[str, int]] | None
    dynamicSlippageReport: dict[str, Any] | None
    simulationError: SimulationError | None


@attrs.frozen
class ErrorResponse:
    error: str
    errorCode: str


# --- Jito -----------------------------------------------------------------------------------


@attrs.frozen
class BundleStatus:
    bundle_id: str
    transactions: list[str]
    slot: int
    confirmation_status: Literal["processed", "confirmed", "finalized"]
    confirmationStatus: Literal["processed", "confirmed", "finalized"]
    err: dict[str, Any]


@attrs.frozen
class JitoContext:
    slot: int


@attrs.frozen
class BundleStatuses:
    context: JitoContext
    value: list[BundleStatus | None]


@attrs.frozen
class InflightStatus:
    bundle_id: str
    status: Literal["Invalid", "Pending", "Failed", "Landed"]
    landed_slot: int | None


@attrs.frozen
class InflightStatuses:
    context: JitoContext
    value: list[InflightStatus]


@attrs.frozen
class JsonRpcError:
    code: int
    message: str
    data: Any = None


@attrs.frozen
class JsonRpcErrorEnvelope:
    jsonrpc: Literal["2.0"]
    error: JsonRpcError
    id: Any
