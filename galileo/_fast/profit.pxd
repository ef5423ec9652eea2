from libc.stdint cimport int64_t, uint64_t

cdef uint64_t c_priority_fee_lamports(uint64_t cu_limit, uint64_t cu_price_micro_lamports) noexcept nogil
