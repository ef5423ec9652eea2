# cython: language_level=3
"""Batch pairing: which (mint, size) a batch quotes. Twin: ``galileo._fast._reference``."""


cdef inline (Py_ssize_t, Py_ssize_t) c_batch_slot(
    Py_ssize_t batch_index, Py_ssize_t mint_count, Py_ssize_t size_count
) noexcept nogil:
    cdef Py_ssize_t total = mint_count * size_count
    cdef Py_ssize_t slot = batch_index % total
    if slot < 0:
        slot += total
    return slot % mint_count, slot // mint_count


def batch_slot(batch_index: int, mint_count: int, size_count: int) -> tuple[int, int]:
    if mint_count <= 0 or size_count <= 0:
        raise ValueError("mint_count and size_count must be positive")
    if not (-2**62 < batch_index < 2**62) or mint_count * size_count >= 2**62:
        # Beyond C range: defer to Python integers, same answer as the twin.
        slot = batch_index % (mint_count * size_count)
        return slot % mint_count, slot // mint_count
    return c_batch_slot(batch_index, mint_count, size_count)
