# cython: language_level=3
"""Route profit math in integer lamports. Twin: ``galileo._fast._reference``.

The quote-independent part of a round trip's cost (base fee, priority fee, tip policy and
clamps) is a :class:`FeeModel`, validated and computed once; :func:`evaluate` then does
only the per-quote arithmetic (the tip and the net profit) in C.

Built with ``cdivision=True`` (setup.py): ``//`` and ``%`` on C integers are C's (no zero
check, truncation toward zero). Every C division here has a non-zero constant divisor
(10⁴, 10⁶) and a non-negative dividend, where C and Python agree.
"""

from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.stdint cimport int64_t, uint64_t

TIP_STATIC = 0
TIP_PERCENT = 1
TIP_FLOOR = 2

cdef enum:
    C_TIP_STATIC = 0
    C_TIP_PERCENT = 1
    C_TIP_FLOOR = 2

# Inputs are bounded so every intermediate fits int64 (see FeeModel).
cdef int64_t AMOUNT_LIMIT = 1LL << 62


cdef inline uint64_t c_priority_fee_lamports(
    uint64_t cu_limit, uint64_t cu_price_micro_lamports
) noexcept nogil:
    return (cu_limit * cu_price_micro_lamports + 999999) // 1000000


def priority_fee_lamports(cu_limit: int, cu_price_micro_lamports: int) -> int:
    if cu_limit < 0 or cu_price_micro_lamports < 0:
        raise ValueError("cu_limit and cu_price_micro_lamports must be non-negative")
    if (cu_limit >= 2**64 or cu_price_micro_lamports >= 2**64
            or cu_limit * cu_price_micro_lamports + 999999 >= 2**64):
        # An operand or the product outside u64 (e.g. a zero CU limit at a huge price):
        # answer exactly like the twin rather than wrapping or raising OverflowError.
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


# --- tips ------------------------------------------------------------------------------------


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
        # gross >= 0 and the divisor is a constant: C division is Python's here.
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


cdef inline bint _known_policy(object policy) except -1:
    return policy == C_TIP_STATIC or policy == C_TIP_PERCENT or policy == C_TIP_FLOOR


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
    if not _known_policy(policy):
        raise ValueError(f"unknown tip policy {policy}")
    cdef int c_policy = policy
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


# --- the fee model and the per-quote evaluation ------------------------------------------------


cdef int64_t _amount(object value, str name) except -1:
    """``value`` as int64 when it lies in [0, 2**62], else ValueError; TypeError for a
    non-integer (like ``operator.index`` in the twin)."""
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(value, &overflow)
    if overflow == 0 and 0 <= v <= AMOUNT_LIMIT:
        return v
    raise ValueError(f"{name}={value} outside [0, 2**62]")


cdef class FeeModel:
    """The quote-independent cost of one arbitrage transaction, checked and computed once.

    ``base_fee`` = signatures × lamports_per_signature, ``priority_fee`` = ⌈cu_limit ×
    cu_price / 10⁶⌉, ``fees`` = their sum; the tip parameters are those of
    :func:`tip_lamports` except the floor, which moves and is passed to :func:`evaluate`.
    Construction raises ValueError on anything the kernel cannot price exactly in int64
    (negative inputs, an unknown policy, amounts outside [0, 2**62], fees + tip_max above
    2**62), so :func:`evaluate` itself cannot overflow.
    """

    def __init__(
        self,
        signatures,
        lamports_per_signature,
        cu_limit,
        cu_price_micro_lamports,
        tip_policy,
        tip_static,
        tip_percent_bps,
        tip_min,
        tip_max,
    ):
        # Config time, Python integers; the same checks in the same order as the twin.
        for name, value in (
            ("signatures", signatures),
            ("lamports_per_signature", lamports_per_signature),
            ("cu_limit", cu_limit),
            ("cu_price_micro_lamports", cu_price_micro_lamports),
        ):
            if value < 0:
                raise ValueError(f"{name}={value} must be non-negative")
        if not _known_policy(tip_policy):
            raise ValueError(f"unknown tip policy {tip_policy}")
        self.params.tip_static = _amount(tip_static, "tip_static")
        self.params.tip_min = _amount(tip_min, "tip_min")
        self.params.tip_max = _amount(tip_max, "tip_max")
        if not 0 <= tip_percent_bps <= 10000:
            raise ValueError(f"tip_percent_bps={tip_percent_bps} outside [0, 10000]")
        base_fee = signatures * lamports_per_signature
        priority_fee = priority_fee_lamports(cu_limit, cu_price_micro_lamports)
        self.params.fees = _amount(base_fee + priority_fee, "fees")
        if self.params.fees + self.params.tip_max > AMOUNT_LIMIT:
            raise ValueError(
                f"fees + tip_max = {self.params.fees + self.params.tip_max} above 2**62"
            )
        self.params.tip_policy = tip_policy
        self.params.tip_percent_bps = tip_percent_bps
        self.base_fee = base_fee
        self.priority_fee = priority_fee
        self.signatures = signatures
        self.lamports_per_signature = lamports_per_signature
        self.cu_limit = cu_limit
        self.cu_price_micro_lamports = cu_price_micro_lamports

    @property
    def tip_policy(self):
        return self.params.tip_policy

    @property
    def tip_static(self):
        return self.params.tip_static

    @property
    def tip_percent_bps(self):
        return self.params.tip_percent_bps

    @property
    def tip_min(self):
        return self.params.tip_min

    @property
    def tip_max(self):
        return self.params.tip_max

    @property
    def fees(self):
        return self.params.fees

    def __repr__(self):
        return (
            f"FeeModel(signatures={self.signatures!r}, "
            f"lamports_per_signature={self.lamports_per_signature!r}, "
            f"cu_limit={self.cu_limit!r}, "
            f"cu_price_micro_lamports={self.cu_price_micro_lamports!r}, "
            f"tip_policy={self.tip_policy!r}, tip_static={self.tip_static!r}, "
            f"tip_percent_bps={self.tip_percent_bps!r}, tip_min={self.tip_min!r}, "
            f"tip_max={self.tip_max!r})"
        )


cdef inline (int64_t, int64_t) c_evaluate(
    const fee_model_t* model, int64_t sell_out, int64_t size, int64_t tip_floor
) noexcept nogil:
    # With model from FeeModel and sell_out, size, tip_floor in [0, 2**62]:
    # sell_out − size ∈ [−2**62, 2**62] and 0 ≤ fees + tip ≤ 2**62, so nothing overflows.
    cdef int64_t gross = sell_out - size
    cdef int64_t tip = c_tip_lamports(
        model.tip_policy,
        gross,
        model.tip_static,
        model.tip_percent_bps,
        tip_floor,
        model.tip_min,
        model.tip_max,
    )
    return gross - (model.fees + tip), tip


def evaluate(FeeModel model not None, sell_out, size, tip_floor):
    cdef int64_t c_sell = _amount(sell_out, "sell_out")
    cdef int64_t c_size = _amount(size, "size")
    cdef int64_t c_floor = _amount(tip_floor, "tip_floor")
    return c_evaluate(&model.params, c_sell, c_size, c_floor)
