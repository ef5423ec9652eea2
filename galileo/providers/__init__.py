"""Leg providers: the venues that quote legs and yield their instructions
(:class:`galileo.model.LegProvider`).

Today: the self-hosted ``jupiter-swap-api`` binary (:class:`JupiterClient`, the quote hot path,
with its wire format in :class:`Quote` and :func:`parse_swap_instructions`), and DFlow's hosted
swap API (:class:`DflowClient`, one leg of a cross-venue trade, wire format in
:class:`DflowQuote`). Managing the binary itself (install, launch, supervise) is
:mod:`galileo.jupiter_binary`.
"""

from galileo.providers._dflow import (
    DFLOW_URL,
    DflowClient,
    DflowQuoteOptions,
)
from galileo.providers._dflow_wire import (
    DflowLeg,
    DflowQuote,
    parse_dflow_swap_instructions,
    quote_with_floor,
)
from galileo.providers._jupiter import (
    SWAP_INSTRUCTIONS_OPTIONS,
    JupiterClient,
    QuoteMetrics,
    QuoteOptions,
    no_route_codes,
)
from galileo.providers._jupiter_wire import (
    PlatformFee,
    Quote,
    RoutePlanStep,
    SwapInfo,
    circular_quote,
    leg_quote_with_floor,
    parse_swap_instructions,
)
from galileo.providers._leg_metrics import LegMetrics

__all__ = [
    "DFLOW_URL",
    "SWAP_INSTRUCTIONS_OPTIONS",
    "DflowClient",
    "DflowLeg",
    "DflowQuote",
    "DflowQuoteOptions",
    "JupiterClient",
    "LegMetrics",
    "PlatformFee",
    "Quote",
    "QuoteMetrics",
    "QuoteOptions",
    "RoutePlanStep",
    "SwapInfo",
    "circular_quote",
    "leg_quote_with_floor",
    "no_route_codes",
    "parse_dflow_swap_instructions",
    "parse_swap_instructions",
    "quote_with_floor",
]
