"""One attempt per dislocation: the key that says two opportunities trade the same thing.

The engine sweeps the same mints and sizes over and over; while a dislocation lasts, every
sweep finds it again. Identical signed bytes were already caught (the signature), but a later
sweep quotes fresh amounts and builds another transaction for the same trade — which, once
the first lands, can only fail or pay nothing. So an opportunity whose key is in flight is
suppressed until the attempt holding the key has its outcome.
"""

from __future__ import annotations

import attrs

from galileo.model import LegQuote, Opportunity
from galileo.providers import Quote


@attrs.frozen
class DislocationKey:
    """``base → mint → base`` for ``size`` along ``route``: the pools (AMM keys) of the buy
    leg, then of the sell leg — empty when the provider does not say, the key is then (base,
    mint, size)."""

    base_mint: str
    mint: str
    size: int
    route: tuple[str, ...]

    @classmethod
    def of(cls, opportunity: Opportunity) -> DislocationKey:
        return cls(
            opportunity.base_mint,
            opportunity.mint,
            opportunity.size,
            _pools(opportunity.buy) + _pools(opportunity.sell),
        )


def _pools(leg: LegQuote) -> tuple[str, ...]:
    if not isinstance(leg, Quote):
        return ()
    try:
        return tuple(step.swap_info.amm_key for step in leg.route_plan)
    except ValueError:  # a hop that does not parse: key on what is known
        return ()
