cdef (Py_ssize_t, Py_ssize_t) c_batch_slot(Py_ssize_t batch_index, Py_ssize_t mint_count, Py_ssize_t size_count) noexcept nogil
