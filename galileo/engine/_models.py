"""Values the quote engine hands out: opportunities, skip reasons, live stats."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from galileo.jupiter._models import Quote
from galileo.net import IpSnapshot


class BatchOutcome(enum.Enum):
    """How a buy+sell batch ended. Values are the ``result`` label of
    ``galileo_opportunities_total``."""

    PROFITABLE = "profitable"
    BELOW_MIN_PROFIT = "below_min_profit"
    NEGATIVE = "negative"
    STALE = "stale"
    NO_ROUTE = "no_route"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    QUOTE_ERROR = "quote_error"
    DEADLINE = "deadline"
    DROPPED = "dropped"  # profitable, but the execution stage did not take it while fresh


@attrs.frozen
class Opportunity:
    """A profitable round trip ``base → mint → base`` of ``size``, ready for execution.

    ``buy`` and ``sell`` keep the raw quotes (send them back unchanged); the money fields
    are the engine's estimate at quote time, in lamports of the base mint. ``tip_lamports``
    follows execution.tip; ``compute_unit_limit`` is the estimate the fee was priced with.
    """

    id: str
    batch_id: int
    base_mint: str
    mint: str
    size: int
    buy: Quote
    sell: Quote
    gross_profit: int
    net_profit: int
    tip_lamports: int
    priority_fee_lamports: int
    base_fee_lamports: int
    compute_unit_limit: int
    min_profit_lamports: int
    ip: str
    quoted_at: float
    evaluated_at: float

    @property
    def age(self) -> float:
        """Seconds between the buy quote and the evaluation."""
        return self.evaluated_at - self.quoted_at

    def circular_quote(self, min_out: int | None = None) -> dict[str, Any]:
        """The two legs merged into one ``base → base`` quote for /swap-instructions
        (needs --allow-circular-arbitrage): routePlan = buy + sell, and outAmount =
        otherAmountThreshold = ``min_out`` (default size + tip), so the transaction reverts
        on chain unless it returns at least that."""
        merged = self.buy.raw_json()
        sell = self.sell.raw_json()
        floor = self.size + self.tip_lamports if min_out is None else min_out
        merged["outputMint"] = sell.get("outputMint", self.base_mint)
        merged["outAmount"] = str(floor)
        merged["otherAmountThreshold"] = str(floor)
        merged["priceImpactPct"] = "0"
        merged["routePlan"] = list(merged.get("routePlan") or []) + list(
            sell.get("routePlan") or []
        )
        return merged


@attrs.frozen
class IpStats:
    """One source IP in the live view."""

    ip: str
    state: str
    inflight: int
    cooldown_remaining: float
    requests: int
    rate_limited: int
    timeouts: int


@attrs.frozen
class EngineStats:
    """``QuoteEngine.stats()``: totals since start plus the recent quote rate."""

    running_for: float
    quotes: int
    quotes_per_second: float
    recent_quotes_per_second: float
    batches: int
    opportunities: int
    outcomes: dict[str, int]
    errors: dict[str, int]
    ips: tuple[IpStats, ...]

    @staticmethod
    def ip_stats(snapshots: list[IpSnapshot]) -> tuple[IpStats, ...]:
        return tuple(
            IpStats(
                ip=s.ip or "default",
                state=s.state.value,
                inflight=s.inflight,
                cooldown_remaining=s.cooldown_remaining,
                requests=s.requests,
                rate_limited=s.rate_limited,
                timeouts=s.timeouts,
            )
            for s in snapshots
        )

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)
