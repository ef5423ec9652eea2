from libc.stdint cimport uint64_t

cdef uint64_t c_hash64(const unsigned char[:] data) noexcept nogil
cdef uint64_t c_hash64_bytes(const unsigned char* data, Py_ssize_t length) noexcept nogil
cdef uint64_t c_mix64(uint64_t z) noexcept nogil
