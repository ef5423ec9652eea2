"""Leg providers: the venues that quote legs and yield their instructions
(:class:`galileo.model.LegProvider`).

Today: the self-hosted ``jupiter-swap-api`` binary (:class:`JupiterClient`, the quote hot path,
with its wire format in :class:`Quote` and :func:`parse_swap_instructions`). Managing the
binary itself (install, launch, supervise) is :mod:`galileo.jupiter_binary`.
"""

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

__all__ = [
    "SWAP_INSTRUCTIONS_OPTIONS",
    "JupiterClient",
    "PlatformFee",
    "Quote",
    "QuoteMetrics",
    "QuoteOptions",
    "RoutePlanStep",
    "SwapInfo",
    "circular_quote",
    "leg_quote_with_floor",
    "no_route_codes",
    "parse_swap_instructions",
]
