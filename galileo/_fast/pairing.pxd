# (mint index, size index) of a batch; (-1, -1) when mint_count or size_count is not positive.
cdef (Py_ssize_t, Py_ssize_t) c_batch_slot(Py_ssize_t batch_index, Py_ssize_t mint_count, Py_ssize_t size_count) noexcept nogil
