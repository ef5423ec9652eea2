from libc.stdint cimport int64_t, uint64_t

ctypedef struct fee_model_t:
    int tip_policy
    int64_t fees
    int64_t tip_static
    int64_t tip_percent_bps
    int64_t tip_min
    int64_t tip_max

cdef class FeeModel:
    cdef fee_model_t params
    cdef readonly object signatures
    cdef readonly object lamports_per_signature
    cdef readonly object cu_limit
    cdef readonly object cu_price_micro_lamports
    cdef readonly object base_fee
    cdef readonly object priority_fee

cdef uint64_t c_priority_fee_lamports(uint64_t cu_limit, uint64_t cu_price_micro_lamports) noexcept nogil
cdef int64_t c_tip_lamports(int policy, int64_t gross_profit, int64_t static_lamports, int64_t percent_bps, int64_t floor_lamports, int64_t min_lamports, int64_t max_lamports) noexcept nogil
# (net profit, tip); model from a FeeModel, amounts in [0, 2**62] (evaluate checks them).
cdef (int64_t, int64_t) c_evaluate(const fee_model_t* model, int64_t sell_out, int64_t size, int64_t tip_floor) noexcept nogil
