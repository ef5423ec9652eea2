"""Pure-Python twins of the Cython kernels.

Each function here has exactly the signature and the results of its compiled counterpart in
``profit.pyx`` / ``pairing.pyx`` / ``hashring.pyx``. They are the oracle of the parity tests
and the fallback where the extension is not built. Integers only: money never passes through
a float.
"""

from __future__ import annotations

import operator

import attrs
import numpy as np
import numpy.typing as npt

U64_MASK = (1 << 64) - 1
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3

# --- profit -------------------------------------------------------------------------------


def priority_fee_lamports(cu_limit: int, cu_price_micro_lamports: int) -> int:
    """⌈cu_limit × cu_price / 10⁶⌉: the compute-unit price is in micro-lamports per CU."""
    if cu_limit < 0 or cu_price_micro_lamports < 0:
        raise ValueError("cu_limit and cu_price_micro_lamports must be non-negative")
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


# --- profit: tips, the fee model, evaluation ------------------------------------------------

TIP_STATIC = 0
TIP_PERCENT = 1
TIP_FLOOR = 2

# Inputs are bounded so every intermediate fits int64 in the compiled kernel.
AMOUNT_LIMIT = 1 << 62


def _check_amount(name: str, value: int) -> int:
    value = operator.index(value)  # integers only: money never passes through a float
    if not 0 <= value <= AMOUNT_LIMIT:
        raise ValueError(f"{name}={value} outside [0, 2**62]")
    return value


def tip_lamports(
    policy: int,
    gross_profit: int,
    static_lamports: int,
    percent_bps: int,
    floor_lamports: int,
    min_lamports: int,
    max_lamports: int,
) -> int:
    """The tip for one candidate, clamped to [min, max] (Jito refuses tips below 1000).

    static: ``static_lamports``; percent: ``percent_bps`` of the gross profit (sell_out −
    size, floored at 0), rounded down; floor: ``floor_lamports`` (a tip-floor percentile
    already converted to lamports by the caller).
    """
    if policy == TIP_STATIC:
        raw = static_lamports
    elif policy == TIP_PERCENT:
        gross = max(gross_profit, 0)
        raw = (gross // 10_000) * percent_bps + (gross % 10_000) * percent_bps // 10_000
    elif policy == TIP_FLOOR:
        raw = floor_lamports
    else:
        raise ValueError(f"unknown tip policy {policy}")
    return min(max(raw, min_lamports), max_lamports)


@attrs.frozen
class FeeModel:
    """The quote-independent cost of one arbitrage transaction, checked and computed once.

    ``base_fee`` = signatures × lamports_per_signature, ``priority_fee`` = ⌈cu_limit ×
    cu_price / 10⁶⌉, ``fees`` = their sum; the tip parameters are those of
    :func:`tip_lamports` except the floor, which moves and is passed to :func:`evaluate`.
    Construction raises ValueError on anything the kernel cannot price exactly in int64
    (negative inputs, an unknown policy, amounts outside [0, 2**62], fees + tip_max above
    2**62), so :func:`evaluate` itself cannot overflow.
    """

    signatures: int
    lamports_per_signature: int
    cu_limit: int
    cu_price_micro_lamports: int
    tip_policy: int
    tip_static: int
    tip_percent_bps: int
    tip_min: int
    tip_max: int
    base_fee: int = attrs.field(init=False)
    priority_fee: int = attrs.field(init=False)
    fees: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        for name, value in (
            ("signatures", self.signatures),
            ("lamports_per_signature", self.lamports_per_signature),
            ("cu_limit", self.cu_limit),
            ("cu_price_micro_lamports", self.cu_price_micro_lamports),
        ):
            if value < 0:
                raise ValueError(f"{name}={value} must be non-negative")
        if self.tip_policy not in (TIP_STATIC, TIP_PERCENT, TIP_FLOOR):
            raise ValueError(f"unknown tip policy {self.tip_policy}")
        _check_amount("tip_static", self.tip_static)
        _check_amount("tip_min", self.tip_min)
        _check_amount("tip_max", self.tip_max)
        if not 0 <= self.tip_percent_bps <= 10_000:
            raise ValueError(f"tip_percent_bps={self.tip_percent_bps} outside [0, 10000]")
        base_fee = self.signatures * self.lamports_per_signature
        priority_fee = priority_fee_lamports(self.cu_limit, self.cu_price_micro_lamports)
        fees = _check_amount("fees", base_fee + priority_fee)
        if fees + self.tip_max > AMOUNT_LIMIT:
            raise ValueError(f"fees + tip_max = {fees + self.tip_max} above 2**62")
        object.__setattr__(self, "base_fee", base_fee)
        object.__setattr__(self, "priority_fee", priority_fee)
        object.__setattr__(self, "fees", fees)


def evaluate(model: FeeModel, sell_out: int, size: int, tip_floor: int) -> tuple[int, int]:
    """(net profit, tip) of one round trip of ``size`` returning ``sell_out``: the tip by
    ``model``'s policy (``tip_floor`` = the current floor in lamports), then
    sell_out − size − model.fees − tip."""
    sell_out = _check_amount("sell_out", sell_out)
    size = _check_amount("size", size)
    tip_floor = _check_amount("tip_floor", tip_floor)
    tip = tip_lamports(
        model.tip_policy,
        sell_out - size,
        model.tip_static,
        model.tip_percent_bps,
        tip_floor,
        model.tip_min,
        model.tip_max,
    )
    return sell_out - size - model.fees - tip, tip


# --- pairing: vectorised slots, size lanes, jitter -------------------------------------------


def batch_slots(
    start: int, count: int, mint_count: int, size_count: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``batch_slot`` for batches ``start .. start+count-1``: (mint indices, size indices)."""
    if count < 0:
        raise ValueError("count must be non-negative")
    if mint_count <= 0 or size_count <= 0:
        raise ValueError("mint_count and size_count must be positive")
    if not 0 <= start < AMOUNT_LIMIT or mint_count * size_count >= AMOUNT_LIMIT:
        raise ValueError("start / counts out of range")
    mints = np.empty(count, dtype=np.int64)
    lanes = np.empty(count, dtype=np.int64)
    for i in range(count):
        mints[i], lanes[i] = batch_slot(start + i, mint_count, size_count)
    return mints, lanes


def _iroot(value: int, n: int) -> int:
    """⌊value^(1/n)⌋ for value ≥ 0, n ≥ 1, in integers (Newton)."""
    if value < 2 or n == 1:
        return value
    x = 1 << ((value.bit_length() + n - 1) // n)  # ≥ the root
    while True:
        y = ((n - 1) * x + value // x ** (n - 1)) // n
        if y >= x:
            return x
        x = y


def lane_sizes(min_size: int, max_size: int, lanes: int, geometric: bool) -> list[int]:
    """``lanes`` sizes from ``min_size`` to ``max_size`` inclusive, linear or geometric,
    in integers (geometric lane i = ⌊(min^(n−1−i) · max^i)^(1/(n−1))⌋), deduplicated."""
    if lanes < 1 or min_size < 1 or max_size < min_size:
        raise ValueError("need lanes >= 1 and 1 <= min_size <= max_size")
    if lanes == 1 or min_size == max_size:
        return [min_size]
    steps = lanes - 1
    sizes: list[int] = []
    for i in range(lanes):
        if geometric:
            size = _iroot(min_size ** (steps - i) * max_size**i, steps)
        else:
            size = min_size + (max_size - min_size) * i // steps
        size = min(max(size, min_size), max_size)
        if not sizes or size != sizes[-1]:
            sizes.append(size)
    sizes[-1] = max_size
    return sizes


def jitter_size(size: int, jitter_bps: int, random_u64: int) -> int:
    """``size`` moved by up to ± ``jitter_bps`` of itself, chosen by ``random_u64``; ≥ 1."""
    if size < 1 or not 0 <= jitter_bps <= 10_000 or not 0 <= random_u64 <= U64_MASK:
        raise ValueError("need size >= 1, 0 <= jitter_bps <= 10000, random in u64")
    _check_amount("size", size)
    span = (size // 10_000) * jitter_bps + (size % 10_000) * jitter_bps // 10_000
    if span == 0:
        return size
    return max(1, size - span + random_u64 % (2 * span + 1))


# --- hashring: pick with eligibility ---------------------------------------------------------


def rendezvous_pick(
    key_hash: int, node_hashes: npt.NDArray[np.uint64], eligible: npt.NDArray[np.uint8]
) -> int:
    """Index of the eligible node with the highest score for ``key_hash`` (ties: lower
    index), or -1. Ineligible nodes (cooling down) are skipped, so the answer is the
    "next best" choice while the first is unavailable."""
    if len(node_hashes) != len(eligible):
        raise ValueError("node_hashes and eligible differ in length")
    best, best_score = -1, -1
    for i in range(len(node_hashes)):
        if not eligible[i]:
            continue
        score = rendezvous_score(key_hash, int(node_hashes[i]))
        if score > best_score:
            best, best_score = i, score
    return best
