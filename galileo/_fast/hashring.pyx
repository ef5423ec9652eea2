# cython: language_level=3
"""Rendezvous (HRW) hashing of keys onto IPs. Twin: ``galileo._fast._reference``."""

from libc.stdint cimport uint64_t


cdef inline uint64_t c_mix64(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef uint64_t c_hash64(const unsigned char[:] data) noexcept nogil:
    cdef uint64_t h = 0xCBF29CE484222325ULL
    cdef Py_ssize_t i
    for i in range(data.shape[0]):
        h = (h ^ data[i]) * 0x100000001B3ULL
    return c_mix64(h)


def hash64(data: bytes) -> int:
    if len(data) == 0:
        return c_mix64(0xCBF29CE484222325ULL)
    return c_hash64(data)


def rendezvous_score(key_hash: int, node_hash: int) -> int:
    return c_mix64(<uint64_t>((key_hash ^ node_hash) & 0xFFFFFFFFFFFFFFFF))


def rendezvous_order(key: bytes, nodes: list[bytes]) -> list[int]:
    cdef uint64_t key_hash = hash64(key)
    scores = [c_mix64(key_hash ^ <uint64_t>hash64(node)) for node in nodes]
    return sorted(range(len(nodes)), key=lambda i: (-scores[i], i))


import numpy as np


def rendezvous_pick(key_hash: int, node_hashes, eligible) -> int:
    cdef const uint64_t[:] hashes = np.ascontiguousarray(node_hashes, dtype=np.uint64)
    cdef const unsigned char[:] ok = np.ascontiguousarray(eligible, dtype=np.uint8)
    if hashes.shape[0] != ok.shape[0]:
        raise ValueError("node_hashes and eligible differ in length")
    cdef uint64_t key = <uint64_t>(key_hash & 0xFFFFFFFFFFFFFFFF)
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
