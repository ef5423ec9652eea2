"""What to quote. The blind strategy plans endless buy+sell batches over base mints ×
intermediate mints × trade sizes (see docs/quote-engine.md)."""

from galileo.strategy._blind import (
    BasePlan,
    BlindStrategy,
    needs_token_list,
    plans_summary,
    read_mints_file,
    trade_sizes,
)

__all__ = [
    "BasePlan",
    "BlindStrategy",
    "needs_token_list",
    "plans_summary",
    "read_mints_file",
    "trade_sizes",
]
