"""From a planned batch to an opportunity: what the strategy asks the engine to quote, how a
batch ended, and the profitable round trip handed to execution."""

from __future__ import annotations

import enum

import attrs

from galileo.model._legs import LegQuote


@attrs.frozen
class QuoteBatch:
    """One buy+sell pair to quote: ``base_mint → mint`` for ``size``, then back."""

    batch_id: int
    base_mint: str
    mint: str
    size: int
    lane: int
    min_profit_lamports: int


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

    ``buy`` and ``sell`` are the quoted legs (each knows its provider); the money fields
    are the engine's estimate at quote time, in lamports of the base mint. ``tip_lamports``
    follows execution.tip; ``compute_unit_limit`` is the estimate the fee was priced with.
    """

    id: str
    batch_id: int
    base_mint: str
    mint: str
    size: int
    buy: LegQuote
    sell: LegQuote
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

    @property
    def pair(self) -> str:
        """The venues of the legs, ``buy>sell`` (the ledger's and the metrics' label)."""
        return f"{self.buy.provider.value}>{self.sell.provider.value}"

    @property
    def min_out(self) -> int:
        """Size + base fee + priority fee + tip + min profit: what the route must return on
        chain (all in lamports of the base mint), so a trade that would lose money fails."""
        return (
            self.size
            + self.base_fee_lamports
            + self.priority_fee_lamports
            + self.tip_lamports
            + self.min_profit_lamports
        )
