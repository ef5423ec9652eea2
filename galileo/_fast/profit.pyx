# cython: language_level=3
"""Route profit math in integer lamports. Twin: ``galileo._fast._reference``."""

from libc.stdint cimport int64_t, uint64_t


cdef inline uint64_t c_priority_fee_lamports(
    uint64_t cu_limit, uint64_t cu_price_micro_lamports
) noexcept nogil:
    return (cu_limit * cu_price_micro_lamports + 999999) // 1000000


def priority_fee_lamports(cu_limit: int, cu_price_micro_lamports: int) -> int:
    if cu_limit < 0 or cu_price_micro_lamports < 0:
        raise ValueError("cu_limit and cu_price_micro_lamports must be non-negative")
    if cu_limit * cu_price_micro_lamports + 999999 >= 2**64:
        # Outside u64: answer exactly like the twin rather than wrapping.
        return (cu_limit * cu_price_micro_lamports + 999999) // 1000000
    return c_priority_fee_lamports(cu_limit, cu_price_micro_lamports)


def net_profit(
    sell_out: int,
    size: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip: int,
) -> int:
    return (
        sell_out
        - size
        - signatures * lamports_per_signature
        - priority_fee_lamports(cu_limit, cu_price_micro_lamports)
        - tip
    )
