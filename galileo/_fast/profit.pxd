from libc.stdint cimport int64_t, uint64_t

cdef uint64_t c_priority_fee_lamports(uint64_t cu_limit, uint64_t cu_price_micro_lamports) noexcept nogil
cdef int64_t c_tip_lamports(int policy, int64_t gross_profit, int64_t static_lamports, int64_t percent_bps, int64_t floor_lamports, int64_t min_lamports, int64_t max_lamports) noexcept nogil
