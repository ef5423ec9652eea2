"""DFlow's swap-API response schemas (pond.dflow.net, the reference's §6) as strict attrs
models: ``STRICT.structure(doc, DflowQuoteResponse)`` fails on a missing field, an extra
field or a JSON value of the wrong type. Field names are the wire names on purpose."""

from __future__ import annotations

from typing import Any

import attrs

from tests.sim.sim_schema import STRICT, Instruction

__all__ = [
    "STRICT",
    "DflowBlockhash",
    "DflowError",
    "DflowQuoteResponse",
    "DflowRoutePlanLeg",
    "DflowSwapInstructionsResponse",
    "DflowSwapResponse",
]


@attrs.frozen
class DflowRoutePlanLeg:
    venue: str
    marketKey: str
    inputMint: str
    outputMint: str
    inAmount: str
    outAmount: str
    inputMintDecimals: int
    outputMintDecimals: int


@attrs.frozen
class DflowQuoteResponse:
    inputMint: str
    inAmount: str
    outputMint: str
    outAmount: str
    otherAmountThreshold: str
    minOutAmount: str
    slippageBps: int
    priceImpactPct: str
    platformFee: dict[str, Any] | None
    routePlan: list[DflowRoutePlanLeg]
    contextSlot: int
    simulatedComputeUnits: int
    requestId: str


@attrs.frozen
class DflowBlockhash:
    blockhash: str
    lastValidBlockHeight: int


@attrs.frozen
class DflowSwapInstructionsResponse:
    computeBudgetInstructions: list[Instruction]
    setupInstructions: list[Instruction]
    swapInstruction: Instruction
    cleanupInstructions: list[Instruction]
    otherInstructions: list[Instruction]
    addressLookupTableAddresses: list[str]
    prioritizationFeeLamports: int
    computeUnitLimit: int
    prioritizationType: dict[str, dict[str, int]] | None
    blockhashWithMetadata: DflowBlockhash


@attrs.frozen
class DflowSwapResponse:
    swapTransaction: str
    lastValidBlockHeight: int
    prioritizationFeeLamports: int
    computeUnitLimit: int
    prioritizationType: dict[str, dict[str, int]] | None


@attrs.frozen
class DflowError:
    """DFlow's ``{msg, code}``, plus ``error`` (the same text) as the simulated face sends it."""

    error: str
    msg: str
    code: str
