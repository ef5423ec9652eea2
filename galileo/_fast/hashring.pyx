# cython: language_level=3
"""Rendezvous (HRW) hashing of keys onto IPs. Twin: ``galileo._fast._reference``.

No division anywhere (FNV-1a and splitmix64 multiply, xor and shift in u64)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsUnsignedLongLongMask
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint64_t
from libc.stdlib cimport qsort


cdef inline uint64_t c_mix64(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t c_hash64_bytes(const unsigned char* data, Py_ssize_t length) noexcept nogil:
    cdef uint64_t h = 0xCBF29CE484222325ULL
    cdef Py_ssize_t i
    for i in range(length):
        h = (h ^ data[i]) * 0x100000001B3ULL
    return c_mix64(h)


cdef uint64_t c_hash64(const unsigned char[:] data) noexcept nogil:
    if data.shape[0] == 0:
        return c_mix64(0xCBF29CE484222325ULL)
    return c_hash64_bytes(&data[0], data.shape[0])


cdef inline uint64_t _hash_bytes(bytes data) except? 0:
    # A bytes object's buffer is immutable and the caller holds a reference: no copy.
    if data is None:
        raise TypeError("expected bytes, got None")
    return c_hash64_bytes(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


def hash64(data: bytes) -> int:
    return _hash_bytes(data)


cdef inline uint64_t _u64(object value) except? 0xFFFFFFFFFFFFFFFF:
    # value mod 2**64 (two's complement for negatives) == the twin's ``value & U64_MASK``.
    return PyLong_AsUnsignedLongLongMask(value)


def rendezvous_score(key_hash: int, node_hash: int) -> int:
    # (a ^ b) & M == (a & M) ^ (b & M) for Python integers.
    return c_mix64(_u64(key_hash) ^ _u64(node_hash))


ctypedef struct _scored_t:
    uint64_t score
    Py_ssize_t index


cdef int _best_first(const void* a, const void* b) noexcept nogil:
    # Higher score first, then the lower index: the twin's sort key (-score, index).
    cdef const _scored_t* x = <const _scored_t*>a
    cdef const _scored_t* y = <const _scored_t*>b
    if x.score != y.score:
        return -1 if x.score > y.score else 1
    return -1 if x.index < y.index else (1 if x.index > y.index else 0)


def rendezvous_order(key: bytes, nodes: list[bytes]) -> list[int]:
    cdef Py_ssize_t n = len(nodes), i
    cdef uint64_t key_hash = _hash_bytes(key)
    if n == 0:
        return []
    cdef _scored_t* scored = <_scored_t*>PyMem_Malloc(n * sizeof(_scored_t))
    if scored == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            # One read of a Python object per node; the hashing is C.
            scored[i].score = c_mix64(key_hash ^ _hash_bytes(nodes[i]))
            scored[i].index = i
        with nogil:
            qsort(scored, n, sizeof(_scored_t), _best_first)
        return [scored[i].index for i in range(n)]
    finally:
        PyMem_Free(scored)


import numpy as np


def rendezvous_pick(key_hash: int, node_hashes, eligible) -> int:
    cdef const uint64_t[:] hashes = np.ascontiguousarray(node_hashes, dtype=np.uint64)
    cdef const unsigned char[:] ok = np.ascontiguousarray(eligible, dtype=np.uint8)
    if hashes.shape[0] != ok.shape[0]:
        raise ValueError("node_hashes and eligible differ in length")
    cdef uint64_t key = _u64(key_hash)
    cdef Py_ssize_t i, best = -1
    cdef uint64_t score, best_score = 0
    with nogil:
        for i in range(hashes.shape[0]):
            if not ok[i]:
                continue
            score = c_mix64(key ^ hashes[i])
            if best < 0 or score > best_score:
                best = i
                best_score = score
    return best
