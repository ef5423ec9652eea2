"""A fake DFlow swap API for the client tests: answers /quote and /swap-instructions with
valid bodies by default, or with whatever ``reply`` is set to; records every request (its
headers included). Served by galileo's own HTTP server (the ``dflow`` fixture)."""

from __future__ import annotations

import base64
from typing import Any, TypeAlias

import attrs
import trio

from galileo._httpserver import Request, Response
from galileo._solana import WSOL_MINT

SOL = WSOL_MINT
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
MARKET = "8sLbNZoA1cfnvMJLPfp98ZLAnFSYCFApfJKMbiXNLwxj"
USER = "Cczbm1TSXdVoai3FekbmjyCs1ve5WDoWaEadaFvTGxoJ"
PROGRAM = "DF1ow4tspfHX9JwWJsAb9epbkA8hmpSEAtxXy1V27QBH"


def quote_doc(
    input_mint: str = SOL, output_mint: str = BONK, amount: int = 1_000, out: int = 2_000
) -> dict[str, Any]:
    """A quote as DFlow documents it (amounts as strings)."""
    return {
        "inputMint": input_mint,
        "inAmount": str(amount),
        "outputMint": output_mint,
        "outAmount": str(out),
        "otherAmountThreshold": str(out),
        "minOutAmount": str(out),
        "slippageBps": 0,
        "priceImpactPct": "0.001",
        "platformFee": None,
        "routePlan": [
            {
                "venue": "Orca Whirlpool",
                "marketKey": MARKET,
                "inputMint": input_mint,
                "outputMint": output_mint,
                "inAmount": str(amount),
                "outAmount": str(out),
                "inputMintDecimals": 9,
                "outputMintDecimals": 5,
            }
        ],
        "contextSlot": 42,
        "simulatedComputeUnits": 100_000,
        "requestId": "0b9a4a8e-5d37-4bb5-9d42-6f3b2b1c0d11",
    }


def instruction_doc(program: str = PROGRAM, data: str = "AQ==") -> dict[str, Any]:
    return {
        "programId": program,
        "accounts": [{"pubkey": USER, "isSigner": True, "isWritable": True}],
        "data": data,
    }


def swap_instructions_doc(cleanups: int = 0) -> dict[str, Any]:
    return {
        "computeBudgetInstructions": [],
        "setupInstructions": [instruction_doc(data="Ag==")],
        "swapInstruction": instruction_doc(),
        "cleanupInstructions": [
            instruction_doc(data=base64.b64encode(bytes([9, i])).decode()) for i in range(cleanups)
        ],
        "otherInstructions": [],
        "addressLookupTableAddresses": [MARKET],
        "prioritizationFeeLamports": 0,
        "computeUnitLimit": 140_000,
        "prioritizationType": None,
        "blockhashWithMetadata": {
            "blockhash": "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N",
            "lastValidBlockHeight": 350_000_150,
        },
    }


@attrs.define
class FakeDflow:
    """Handler state: ``reply`` (when set) answers every request; ``stall`` never answers."""

    reply: Response | None = None
    stall: bool = False
    requests: list[Request] = attrs.field(factory=list)

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if self.stall:
            await trio.sleep_forever()
        if self.reply is not None:
            return self.reply
        if request.path == "/quote":
            q = request.query
            return Response.json(
                quote_doc(q["inputMint"], q["outputMint"], int(q["amount"]), 2 * int(q["amount"]))
            )
        if request.path == "/swap-instructions":
            return Response.json(swap_instructions_doc())
        return Response.json({"msg": "not found", "code": "not_found"}, status=404)


DflowFixture: TypeAlias = tuple[FakeDflow, str]
"""The fake and its base URL."""
