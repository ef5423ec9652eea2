"""What transaction building hands out: a signed transaction, or the reason it was not built."""

from __future__ import annotations

import enum

import attrs


class RouteMode(enum.Enum):
    """How the two legs become instructions. Values are the ``route_mode`` config values."""

    MERGED = "merged"
    """One circular quote (buy legs + sell legs) → one Jupiter swap instruction."""
    TWO_SWAP = "two_swap"
    """Two /swap-instructions calls (buy, sell) → two swap instructions in one transaction,
    for providers that cannot merge circular routes."""


class TxSkipReason(enum.Enum):
    """Why an opportunity did not become a transaction. Values are the ``reason`` label of
    ``galileo_tx_skips_total``."""

    NO_ROUTE = "no_route"
    """/swap-instructions found no route for the (merged) quote."""
    INSTRUCTIONS_FAILED = "instructions_failed"
    """/swap-instructions failed (timeout, rate limit, 4xx/5xx, malformed answer)."""
    SIMULATION_ERROR = "simulation_error"
    """The API simulated the swap and it failed."""
    MALFORMED_INSTRUCTIONS = "malformed_instructions"
    """An instruction in the answer has a bad public key or base64 data."""
    UNPROFITABLE = "unprofitable"
    """The minimum-out (size + fees + tip + min profit) exceeds what the sell leg returns."""
    FEES_EXCEED_ESTIMATE = "fees_exceed_estimate"
    """The API's compute-unit limit prices the priority fee above what the minimum-out
    covers."""
    ALT_UNAVAILABLE = "alt_unavailable"
    """An address lookup table could not be fetched."""
    BLOCKHASH_STALE = "blockhash_stale"
    """No blockhash that is safe to sign with."""
    COMPILE_FAILED = "compile_failed"
    """The v0 message did not compile (e.g. too many accounts)."""
    TOO_LARGE = "too_large"
    """The signed transaction exceeds 1232 bytes."""
    BUILD_TIMEOUT = "build timeout"
    """Building did not finish within the executor's build deadline."""


@attrs.frozen
class TxSkip:
    """The opportunity was not built; ``detail`` is a short human explanation."""

    reason: TxSkipReason
    detail: str = ""
    opportunity_id: str = ""


@attrs.frozen
class BuiltTx:
    """A signed v0 transaction ready for the landers.

    ``min_out`` is the on-chain minimum the route must return (size + base fee + priority
    fee + tip + min profit) — below it the swap instruction fails and nothing is lost but,
    outside a bundle, the fee. ``priority_fee_lamports`` = ⌈compute_unit_limit ×
    compute_unit_price_micro_lamports / 10⁶⌉, what the runtime charges on top of
    ``base_fee_lamports``.
    """

    opportunity_id: str
    wire: bytes = attrs.field(repr=False)
    base64: str = attrs.field(repr=False)
    signature: str
    blockhash: str
    last_valid_block_height: int
    route_mode: RouteMode
    size: int
    expected_out: int
    min_out: int
    tip_lamports: int
    tip_account: str
    base_fee_lamports: int
    priority_fee_lamports: int
    compute_unit_limit: int
    compute_unit_price_micro_lamports: int

    @property
    def wire_size(self) -> int:
        """Bytes on the wire (≤ 1232)."""
        return len(self.wire)

    @property
    def fees_lamports(self) -> int:
        """Base fee + priority fee (what the runtime charges; the tip is separate)."""
        return self.base_fee_lamports + self.priority_fee_lamports

    @property
    def expected_profit(self) -> int:
        """Net lamports if the route returns exactly ``expected_out`` (the sell quote)."""
        return self.expected_out - self.size - self.fees_lamports - self.tip_lamports
