"""A small fake Jupiter API (``/quote``, ``/swap-instructions``, ``/tokens``) for the client,
strategy and engine tests, served by galileo's own HTTP server on 127.0.0.1 (the ``jupiter``
fixture of tests/engine/conftest.py).

Prices are fixed ratios per (input, output) pair, so tests know which round trips pay.
Faults are switched per source IP or per mint.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs
import trio

from galileo._httpserver import Request, Response
from galileo._solana import WSOL_MINT

SOL = WSOL_MINT
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
WIF = "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"


@attrs.define
class QuoteRecord:
    ip: str
    input_mint: str
    output_mint: str
    amount: int


@attrs.define
class FakeJupiter:
    """Handler state. ``rates[(a, b)] = (num, den)``: a quote of ``amount`` a returns
    ``amount * num // den`` b."""

    rates: dict[tuple[str, str], tuple[int, int]] = attrs.field(factory=dict)
    rate_limited_ips: set[str] = attrs.field(factory=set)
    malformed_mints: set[str] = attrs.field(factory=set)
    no_route_mints: set[str] = attrs.field(factory=set)
    refused_mints: set[str] = attrs.field(factory=set)
    server_error: bool = False
    stall: bool = False
    tokens: list[str] = attrs.field(factory=lambda: [USDC, BONK])
    quotes: list[QuoteRecord] = attrs.field(factory=list)
    requests: list[Request] = attrs.field(factory=list)

    def set_round_trip(self, mint: str, buy: tuple[int, int], sell: tuple[int, int]) -> None:
        self.rates[(SOL, mint)] = buy
        self.rates[(mint, SOL)] = sell

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if self.stall:
            await trio.sleep_forever()
        if self.server_error:
            return Response.json({"error": "boom"}, status=500)
        if request.client_host in self.rate_limited_ips:
            return Response.json({"error": "Too many requests"}, status=429)
        if request.path == "/quote":
            return self._quote(request)
        if request.path == "/swap-instructions":
            return Response.json(swap_instructions_json(request.json()))
        if request.path == "/tokens":
            return Response.json(self.tokens)
        return Response.json({"error": "not found"}, status=404)

    def _quote(self, request: Request) -> Response:
        q = request.query
        input_mint, output_mint, amount = q["inputMint"], q["outputMint"], int(q["amount"])
        self.quotes.append(QuoteRecord(request.client_host, input_mint, output_mint, amount))
        if input_mint in self.malformed_mints or output_mint in self.malformed_mints:
            return Response(status=200, body=b'{"inputMint": "truncated...')
        if output_mint in self.refused_mints:
            return Response.json(
                {
                    "error": "Input and output mints are not allowed to be equal",
                    "errorCode": "CIRCULAR_ARBITRAGE_IS_DISABLED",
                },
                status=400,
            )
        rate = self.rates.get((input_mint, output_mint))
        if rate is None or output_mint in self.no_route_mints:
            return Response.json(
                {"error": "Could not find any route", "errorCode": "COULD_NOT_FIND_ANY_ROUTE"},
                status=400,
            )
        out = amount * rate[0] // rate[1]
        return Response.json(quote_json(input_mint, output_mint, amount, out, q))


def quote_json(
    input_mint: str, output_mint: str, amount: int, out: int, query: Any = None
) -> dict[str, Any]:
    return {
        "inputMint": input_mint,
        "inAmount": str(amount),
        "outputMint": output_mint,
        "outAmount": str(out),
        "otherAmountThreshold": str(out),
        "swapMode": "ExactIn",
        "slippageBps": int((query or {}).get("slippageBps", 0)),
        "platformFee": None,
        "priceImpactPct": "0.0001",
        "routePlan": [
            {
                "swapInfo": {
                    "ammKey": "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
                    "label": "Raydium",
                    "inputMint": input_mint,
                    "outputMint": output_mint,
                    "inAmount": str(amount),
                    "outAmount": str(out),
                    "feeAmount": "25",
                    "feeMint": input_mint,
                },
                "percent": 100,
                "bps": 10000,
            }
        ],
        "contextSlot": 299_999_999,
        "timeTaken": 0.0012,
        "swapUsdValue": "12.5",  # an extra field the client must tolerate
        "mostReliableAmmsQuoteReport": {"info": {"x": "1"}},
    }


def _ix(program: str, data: str = "AQ==") -> dict[str, Any]:
    return {
        "programId": program,
        "accounts": [{"pubkey": SOL, "isSigner": False, "isWritable": True}],
        "data": data,
    }


def swap_instructions_json(request_body: dict[str, Any]) -> dict[str, Any]:
    return {
        "tokenLedgerInstruction": None,
        "computeBudgetInstructions": [_ix("ComputeBudget111111111111111111111111111111")],
        "setupInstructions": [],
        "swapInstruction": _ix("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"),
        "cleanupInstruction": None,
        "otherInstructions": [],
        "addressLookupTableAddresses": ["GxS6FiQ3mNnAar9HGQ6mxP7t6FcwmHkU7peSeQDUHmpN"],
        "prioritizationFeeLamports": 1000,
        "computeUnitLimit": 250_000,
        # echo, so tests can check the quote went back unchanged
        "echo": request_body,
    }


# What the ``jupiter`` fixture yields: the handler state and the server's base URL.
JupiterFixture: TypeAlias = tuple[FakeJupiter, str]
