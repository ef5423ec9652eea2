"""The leg-provider seam: what a venue must do for the engine and the transaction builder.

A provider quotes a leg from a leased source IP and turns quoted legs into instructions. The
self-hosted Jupiter binary is one (``galileo.providers.JupiterClient``); hosted venues plug in
here without the engine or the builder learning their wire formats.
"""

from __future__ import annotations

from typing import Protocol

from galileo.model._legs import LegQuote, Provider, SwapInstructions


class LegProvider(Protocol):
    """Quotes legs and yields their instructions. Errors are :class:`~galileo.model.QuoteError`
    subclasses; every call runs from ``ip`` and ends by ``deadline`` (trio clock)."""

    @property
    def provider(self) -> Provider: ...

    async def quote_leg(
        self,
        *,
        ip: str,
        input_mint: str,
        output_mint: str,
        amount: int,
        leg: str,
        deadline: float,
    ) -> LegQuote:
        """Quote ``amount`` of ``input_mint`` into ``output_mint``; ``leg`` labels metrics."""
        ...

    async def leg_instructions(
        self, *, ip: str, quote: LegQuote, min_out: int, user_public_key: str, deadline: float
    ) -> SwapInstructions:
        """Instructions for one quoted leg that fail on chain below ``min_out``."""
        ...

    async def round_trip_instructions(
        self,
        *,
        ip: str,
        buy: LegQuote,
        sell: LegQuote,
        min_out: int,
        user_public_key: str,
        deadline: float,
    ) -> SwapInstructions:
        """One instruction for ``buy`` then ``sell`` (a circular route) that fails on chain
        unless it returns at least ``min_out`` of the starting mint."""
        ...
