# cython: language_level=3
"""Batch pairing: which (mint, size) a batch quotes. Twin: ``galileo._fast._reference``.

Built with ``cdivision=True`` (setup.py): C ``//`` and ``%`` neither check for zero nor
floor negative quotients. Every divisor below is checked positive before the division (the
Python wrappers raise ValueError like the twin, before any nogil code), and a negative
dividend is folded back explicitly.
"""


cdef inline (Py_ssize_t, Py_ssize_t) c_batch_slot(
    Py_ssize_t batch_index, Py_ssize_t mint_count, Py_ssize_t size_count
) noexcept nogil:
    # (-1, -1) for non-positive counts: the one defined answer without a divisor.
    # Callers keep mint_count * size_count within Py_ssize_t (batch_slot checks it).
    if mint_count <= 0 or size_count <= 0:
        return -1, -1
    cdef Py_ssize_t total = mint_count * size_count
    cdef Py_ssize_t slot = batch_index % total
    if slot < 0:  # C's remainder takes the dividend's sign; Python's the divisor's
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


import numpy as np

from libc.stdint cimport int64_t

cdef object AMOUNT_LIMIT = 1 << 62
cdef object U64_MASK = (1 << 64) - 1


def batch_slots(start: int, count: int, mint_count: int, size_count: int):
    if count < 0:
        raise ValueError("count must be non-negative")
    if mint_count <= 0 or size_count <= 0:
        raise ValueError("mint_count and size_count must be positive")
    if not 0 <= start < AMOUNT_LIMIT or mint_count * size_count >= AMOUNT_LIMIT:
        raise ValueError("start / counts out of range")
    mints_arr = np.empty(count, dtype=np.int64)
    lanes_arr = np.empty(count, dtype=np.int64)
    cdef int64_t[:] mints = mints_arr
    cdef int64_t[:] lanes = lanes_arr
    cdef int64_t c_start = start, m = mint_count, total = mint_count * size_count
    cdef int64_t slot
    cdef Py_ssize_t i, n = count
    # Divisors m and total are >= 1 and c_start >= 0 (checked above): C division is exact.
    if m <= 0 or total <= 0:
        raise ValueError("mint_count and size_count must be positive")
    with nogil:
        slot = c_start % total
        for i in range(n):
            mints[i] = slot % m
            lanes[i] = slot // m
            slot += 1
            if slot == total:
                slot = 0
    return mints_arr, lanes_arr


def _iroot(value, n):
    if value < 2 or n == 1:
        return value
    x = 1 << ((value.bit_length() + n - 1) // n)
    while True:
        y = ((n - 1) * x + value // x ** (n - 1)) // n
        if y >= x:
            return x
        x = y


def lane_sizes(min_size: int, max_size: int, lanes: int, geometric: bool) -> list[int]:
    # Config-time, Python integers (geometric lanes need big powers): same code as the twin.
    if lanes < 1 or min_size < 1 or max_size < min_size:
        raise ValueError("need lanes >= 1 and 1 <= min_size <= max_size")
    if lanes == 1 or min_size == max_size:
        return [min_size]
    steps = lanes - 1
    sizes = []
    for i in range(lanes):
        if geometric:
            size = _iroot(min_size ** (steps - i) * max_size ** i, steps)
        else:
            size = min_size + (max_size - min_size) * i // steps
        size = min(max(size, min_size), max_size)
        if not sizes or size != sizes[len(sizes) - 1]:
            sizes.append(size)
    sizes[len(sizes) - 1] = max_size
    return sizes


def jitter_size(size: int, jitter_bps: int, random_u64: int) -> int:
    if size < 1 or not 0 <= jitter_bps <= 10000 or not 0 <= random_u64 <= U64_MASK:
        raise ValueError("need size >= 1, 0 <= jitter_bps <= 10000, random in u64")
    if size > AMOUNT_LIMIT:
        raise ValueError(f"size={size} outside [0, 2**62]")
    cdef int64_t c_size = size, bps = jitter_bps
    # c_size >= 1 and a constant divisor: C division is Python's here.
    cdef int64_t span = (c_size // 10000) * bps + (c_size % 10000) * bps // 10000
    if span <= 0:
        return size
    cdef unsigned long long r = random_u64
    # 1 <= span <= size <= 2**62, so in u64 the modulus 2·span + 1 is in [3, 2**63 + 1] and
    # the moved size (size − span) + [0, 2·span] is at most 2**63 + 2**62: no wrap.
    cdef unsigned long long modulus = 2 * <unsigned long long>span + 1
    cdef unsigned long long moved = <unsigned long long>(c_size - span) + r % modulus
    return moved if moved > 1 else 1
