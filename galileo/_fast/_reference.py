"""Pure-Python twins of the Cython kernels.

Each function here has exactly the signature and the results of its compiled counterpart in
``profit.pyx`` / ``pairing.pyx`` / ``hashring.pyx``. They are the oracle of the parity tests
and the fallback where the extension is not built. Integers only: money never passes through
a float.
"""

from __future__ import annotations

U64_MASK = (1 << 64) - 1
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3

# --- profit -------------------------------------------------------------------------------


def priority_fee_lamports(cu_limit: int, cu_price_micro_lamports: int) -> int:
    """⌈cu_limit × cu_price / 10⁶⌉: the compute-unit price is in micro-lamports per CU."""
    return (cu_limit * cu_price_micro_lamports + 999_999) // 1_000_000


def net_profit(
    sell_out: int,
    size: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip: int,
) -> int:
    """Lamports left after the round trip: sell_out − size − base fee − priority fee − tip."""
    base_fee = signatures * lamports_per_signature
    return (
        sell_out - size - base_fee - priority_fee_lamports(cu_limit, cu_price_micro_lamports) - tip
    )


# --- pairing ------------------------------------------------------------------------------


def batch_slot(batch_index: int, mint_count: int, size_count: int) -> tuple[int, int]:
    """(mint index, size index) of the ``batch_index``-th batch of a round.

    Mints rotate fastest, so consecutive batches quote different mints and one slow mint
    never holds back a whole sweep of sizes.
    """
    if mint_count <= 0 or size_count <= 0:
        raise ValueError("mint_count and size_count must be positive")
    slot = batch_index % (mint_count * size_count)
    return slot % mint_count, slot // mint_count


# --- hashring -----------------------------------------------------------------------------


def hash64(data: bytes) -> int:
    """FNV-1a over the bytes, finished with the splitmix64 mixer (good avalanche, 64 bits)."""
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & U64_MASK
    return _mix64(h)


def _mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64_MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64_MASK
    return z ^ (z >> 31)


def rendezvous_score(key_hash: int, node_hash: int) -> int:
    """Highest-random-weight score of a (key, node) pair."""
    return _mix64((key_hash ^ node_hash) & U64_MASK)


def rendezvous_order(key: bytes, nodes: list[bytes]) -> list[int]:
    """Indices of ``nodes`` from best to worst for ``key`` (ties broken by index)."""
    key_hash = hash64(key)
    scores = [rendezvous_score(key_hash, hash64(node)) for node in nodes]
    return sorted(range(len(nodes)), key=lambda i: (-scores[i], i))
