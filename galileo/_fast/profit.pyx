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


# --- tips, evaluation, vectorised best size ------------------------------------------------

import numpy as np

TIP_STATIC = 0
TIP_PERCENT = 1
TIP_FLOOR = 2

REASON_OK = 0
REASON_NO_CANDIDATES = 1
REASON_STALE = 2
REASON_NEGATIVE = 3
REASON_BELOW_MIN_PROFIT = 4

cdef int64_t AMOUNT_LIMIT = 1LL << 62

cdef enum:
    C_TIP_STATIC = 0
    C_TIP_PERCENT = 1


cdef inline int64_t c_tip_lamports(
    int policy,
    int64_t gross_profit,
    int64_t static_lamports,
    int64_t percent_bps,
    int64_t floor_lamports,
    int64_t min_lamports,
    int64_t max_lamports,
) noexcept nogil:
    cdef int64_t raw, gross
    if policy == C_TIP_STATIC:
        raw = static_lamports
    elif policy == C_TIP_PERCENT:
        gross = gross_profit if gross_profit > 0 else 0
        # q·bps + ⌊r·bps / 10⁴⌋ == ⌊gross·bps / 10⁴⌋ without the int64 overflow of gross·bps.
        raw = (gross // 10000) * percent_bps + (gross % 10000) * percent_bps // 10000
    else:
        raw = floor_lamports
    if raw < min_lamports:
        raw = min_lamports
    if raw > max_lamports:
        raw = max_lamports
    return raw


cdef int _policy(int policy) except -1:
    if policy != TIP_STATIC and policy != TIP_PERCENT and policy != TIP_FLOOR:
        raise ValueError(f"unknown tip policy {policy}")
    return policy


cdef int64_t _amount(str name, object value) except -1:
    if not 0 <= value <= AMOUNT_LIMIT:
        raise ValueError(f"{name}={value} outside [0, 2**62]")
    return <int64_t>value


def _py_tip_lamports(policy, gross_profit, static_lamports, percent_bps, floor_lamports,
                     min_lamports, max_lamports):
    # Outside the kernel's range: the Python-integer answer, same as the twin.
    if policy == TIP_STATIC:
        raw = static_lamports
    elif policy == TIP_PERCENT:
        gross = max(gross_profit, 0)
        raw = (gross // 10000) * percent_bps + (gross % 10000) * percent_bps // 10000
    else:
        raw = floor_lamports
    return min(max(raw, min_lamports), max_lamports)


cdef inline bint _in_range(int64_t value) noexcept nogil:
    return -AMOUNT_LIMIT < value < AMOUNT_LIMIT


def tip_lamports(
    policy: int,
    gross_profit: int,
    static_lamports: int,
    percent_bps: int,
    floor_lamports: int,
    min_lamports: int,
    max_lamports: int,
) -> int:
    cdef int c_policy = _policy(policy)
    cdef int64_t g, st, bps, fl, lo, hi
    try:
        g = gross_profit
        st = static_lamports
        bps = percent_bps
        fl = floor_lamports
        lo = min_lamports
        hi = max_lamports
    except OverflowError:
        return _py_tip_lamports(policy, gross_profit, static_lamports, percent_bps,
                                floor_lamports, min_lamports, max_lamports)
    if not (_in_range(g) and _in_range(st) and _in_range(fl) and _in_range(lo)
            and _in_range(hi) and 0 <= bps <= 10000):
        return _py_tip_lamports(policy, gross_profit, static_lamports, percent_bps,
                                floor_lamports, min_lamports, max_lamports)
    return c_tip_lamports(c_policy, g, st, bps, fl, lo, hi)


cdef int64_t _fees(object signatures, object lamports_per_signature, object cu_limit,
                   object cu_price_micro_lamports) except -1:
    fees = signatures * lamports_per_signature + priority_fee_lamports(
        cu_limit, cu_price_micro_lamports
    )
    return _amount("fees", fees)


def evaluate(
    sell_out: int,
    size: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
) -> tuple[int, int]:
    cdef int64_t c_sell = _amount("sell_out", sell_out)
    cdef int64_t c_size = _amount("size", size)
    cdef int64_t c_static = _amount("tip_static", tip_static)
    cdef int64_t c_floor = _amount("tip_floor", tip_floor)
    cdef int64_t c_min = _amount("tip_min", tip_min)
    cdef int64_t c_max = _amount("tip_max", tip_max)
    if not 0 <= tip_percent_bps <= 10000:
        raise ValueError(f"tip_percent_bps={tip_percent_bps} outside [0, 10000]")
    cdef int64_t fees = _fees(signatures, lamports_per_signature, cu_limit,
                              cu_price_micro_lamports)
    cdef int policy = _policy(tip_policy)
    cdef int64_t tip = c_tip_lamports(policy, c_sell - c_size, c_static, tip_percent_bps,
                                      c_floor, c_min, c_max)
    return c_sell - c_size - fees - tip, tip


cdef void _check_array(const int64_t[:] values, str name) except *:
    cdef Py_ssize_t i
    for i in range(values.shape[0]):
        if values[i] < 0 or values[i] > AMOUNT_LIMIT:
            raise ValueError(f"{name}={values[i]} outside [0, 2**62]")


def evaluate_sizes(
    sizes,
    sell_outs,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
):
    cdef const int64_t[:] c_sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    cdef const int64_t[:] c_outs = np.ascontiguousarray(sell_outs, dtype=np.int64)
    if c_sizes.shape[0] != c_outs.shape[0]:
        raise ValueError("sizes and sell_outs differ in length")
    cdef Py_ssize_t n = c_sizes.shape[0], i
    nets_arr = np.empty(n, dtype=np.int64)
    tips_arr = np.empty(n, dtype=np.int64)
    cdef int64_t[:] nets = nets_arr
    cdef int64_t[:] tips = tips_arr
    if n == 0:
        return nets_arr, tips_arr
    _check_array(c_sizes, "size")
    _check_array(c_outs, "sell_out")
    cdef int64_t c_static = _amount("tip_static", tip_static)
    cdef int64_t c_floor = _amount("tip_floor", tip_floor)
    cdef int64_t c_min = _amount("tip_min", tip_min)
    cdef int64_t c_max = _amount("tip_max", tip_max)
    if not 0 <= tip_percent_bps <= 10000:
        raise ValueError(f"tip_percent_bps={tip_percent_bps} outside [0, 10000]")
    cdef int64_t c_bps = tip_percent_bps
    cdef int64_t fees = _fees(signatures, lamports_per_signature, cu_limit,
                              cu_price_micro_lamports)
    cdef int policy = _policy(tip_policy)
    cdef int64_t tip
    with nogil:
        for i in range(n):
            tip = c_tip_lamports(policy, c_outs[i] - c_sizes[i], c_static, c_bps, c_floor,
                                 c_min, c_max)
            tips[i] = tip
            nets[i] = c_outs[i] - c_sizes[i] - fees - tip
    return nets_arr, tips_arr


def best_size(
    sizes,
    sell_outs,
    ages_ms,
    max_age_ms: int,
    min_profit: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
) -> tuple[int, int, int, int]:
    cdef const int64_t[:] c_sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    cdef const int64_t[:] c_outs = np.ascontiguousarray(sell_outs, dtype=np.int64)
    cdef const int64_t[:] c_ages = np.ascontiguousarray(ages_ms, dtype=np.int64)
    if not (c_sizes.shape[0] == c_outs.shape[0] == c_ages.shape[0]):
        raise ValueError("sizes, sell_outs and ages_ms differ in length")
    cdef Py_ssize_t n = c_sizes.shape[0], i, best = -1
    if n == 0:
        return -1, 0, 0, REASON_NO_CANDIDATES
    _check_array(c_sizes, "size")
    _check_array(c_outs, "sell_out")
    cdef int64_t c_static = _amount("tip_static", tip_static)
    cdef int64_t c_floor = _amount("tip_floor", tip_floor)
    cdef int64_t c_min = _amount("tip_min", tip_min)
    cdef int64_t c_max = _amount("tip_max", tip_max)
    if not 0 <= tip_percent_bps <= 10000:
        raise ValueError(f"tip_percent_bps={tip_percent_bps} outside [0, 10000]")
    cdef int64_t c_bps = tip_percent_bps
    cdef int64_t fees = _fees(signatures, lamports_per_signature, cu_limit,
                              cu_price_micro_lamports)
    cdef int policy = _policy(tip_policy)
    if max_age_ms < 0:
        raise ValueError("max_age_ms must be non-negative")
    # Every int64 age is <= INT64_MAX, so clamping a larger bound changes nothing.
    cdef int64_t c_max_age = max_age_ms if max_age_ms < 0x7FFFFFFFFFFFFFFF else 0x7FFFFFFFFFFFFFFF
    cdef int64_t tip, net, best_net = 0, best_tip = 0
    with nogil:
        for i in range(n):
            if c_ages[i] > c_max_age:
                continue
            tip = c_tip_lamports(policy, c_outs[i] - c_sizes[i], c_static, c_bps, c_floor,
                                 c_min, c_max)
            net = c_outs[i] - c_sizes[i] - fees - tip
            if best < 0 or net > best_net:
                best, best_net, best_tip = i, net, tip
    if best < 0:
        return -1, 0, 0, REASON_STALE
    if best_net < 0:
        return best, best_net, best_tip, REASON_NEGATIVE
    if best_net < min_profit:
        return best, best_net, best_tip, REASON_BELOW_MIN_PROFIT
    return best, best_net, best_tip, REASON_OK
