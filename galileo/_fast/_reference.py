"""Pure-Python twins of the Cython kernels.

Each function here has exactly the signature and the results of its compiled counterpart in
``profit.pyx`` / ``pairing.pyx`` / ``hashring.pyx``. They are the oracle of the parity tests
and the fallback where the extension is not built. Integers only: money never passes through
a float.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

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


# --- profit: tips, evaluation, vectorised best size -----------------------------------------

TIP_STATIC = 0
TIP_PERCENT = 1
TIP_FLOOR = 2

REASON_OK = 0
REASON_NO_CANDIDATES = 1
REASON_STALE = 2
REASON_NEGATIVE = 3
REASON_BELOW_MIN_PROFIT = 4

# Inputs are bounded so every intermediate fits int64 in the compiled kernel.
AMOUNT_LIMIT = 1 << 62


def _check_amount(name: str, value: int) -> None:
    if not 0 <= value <= AMOUNT_LIMIT:
        raise ValueError(f"{name}={value} outside [0, 2**62]")


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


def _fees_and_policy(
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
) -> int:
    """Validate the shared parameters (same order as the kernel); return the fixed fees."""
    for name, value in (
        ("tip_static", tip_static),
        ("tip_floor", tip_floor),
        ("tip_min", tip_min),
        ("tip_max", tip_max),
    ):
        _check_amount(name, value)
    if not 0 <= tip_percent_bps <= 10_000:
        raise ValueError(f"tip_percent_bps={tip_percent_bps} outside [0, 10000]")
    fees = signatures * lamports_per_signature + priority_fee_lamports(
        cu_limit, cu_price_micro_lamports
    )
    _check_amount("fees", fees)
    if tip_policy not in (TIP_STATIC, TIP_PERCENT, TIP_FLOOR):
        raise ValueError(f"unknown tip policy {tip_policy}")
    return fees


def evaluate(
    sell_out: int,
    size: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
) -> tuple[int, int]:
    """(net profit, tip) of one round trip of ``size`` returning ``sell_out``."""
    _check_amount("sell_out", sell_out)
    _check_amount("size", size)
    fees = _fees_and_policy(
        signatures,
        lamports_per_signature,
        cu_limit,
        cu_price_micro_lamports,
        tip_policy,
        tip_static,
        tip_percent_bps,
        tip_floor,
        tip_min,
        tip_max,
    )
    tip = tip_lamports(
        tip_policy, sell_out - size, tip_static, tip_percent_bps, tip_floor, tip_min, tip_max
    )
    return sell_out - size - fees - tip, tip


def _as_ints(values: npt.NDArray[np.int64], name: str) -> list[int]:
    ints = [int(v) for v in np.asarray(values, dtype=np.int64)]
    for value in ints:
        _check_amount(name, value)
    return ints


def evaluate_sizes(
    sizes: npt.NDArray[np.int64],
    sell_outs: npt.NDArray[np.int64],
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``evaluate`` over candidate sizes: (net profits, tips), int64 arrays."""
    if len(sizes) != len(sell_outs):
        raise ValueError("sizes and sell_outs differ in length")
    nets = np.empty(len(sizes), dtype=np.int64)
    tips = np.empty(len(sizes), dtype=np.int64)
    if len(sizes) == 0:
        return nets, tips
    size_list = _as_ints(sizes, "size")
    out_list = _as_ints(sell_outs, "sell_out")
    fees = _fees_and_policy(
        signatures,
        lamports_per_signature,
        cu_limit,
        cu_price_micro_lamports,
        tip_policy,
        tip_static,
        tip_percent_bps,
        tip_floor,
        tip_min,
        tip_max,
    )
    for i, (size, out) in enumerate(zip(size_list, out_list, strict=True)):
        tip = tip_lamports(
            tip_policy, out - size, tip_static, tip_percent_bps, tip_floor, tip_min, tip_max
        )
        tips[i] = tip
        nets[i] = out - size - fees - tip
    return nets, tips


def best_size(
    sizes: npt.NDArray[np.int64],
    sell_outs: npt.NDArray[np.int64],
    ages_ms: npt.NDArray[np.int64],
    max_age_ms: int,
    min_profit: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
) -> tuple[int, int, int, int]:
    """(index, net, tip, reason) of the most profitable fresh candidate.

    Candidates older than ``max_age_ms`` are ignored; ties go to the lower index. reason is
    REASON_OK, or why the best is not good enough (REASON_NO_CANDIDATES / _STALE /
    _NEGATIVE / _BELOW_MIN_PROFIT); index is -1 when nothing was evaluated.
    """
    if not (len(sizes) == len(sell_outs) == len(ages_ms)):
        raise ValueError("sizes, sell_outs and ages_ms differ in length")
    if len(sizes) == 0:
        return -1, 0, 0, REASON_NO_CANDIDATES
    nets, tips = evaluate_sizes(
        sizes,
        sell_outs,
        signatures,
        lamports_per_signature,
        cu_limit,
        cu_price_micro_lamports,
        tip_policy,
        tip_static,
        tip_percent_bps,
        tip_floor,
        tip_min,
        tip_max,
    )
    if max_age_ms < 0:
        raise ValueError("max_age_ms must be non-negative")
    best, best_net, best_tip = -1, 0, 0
    for i, age in enumerate(np.asarray(ages_ms, dtype=np.int64)):
        if int(age) > max_age_ms:
            continue
        net = int(nets[i])
        if best < 0 or net > best_net:
            best, best_net, best_tip = i, net, int(tips[i])
    if best < 0:
        return -1, 0, 0, REASON_STALE
    if best_net < 0:
        return best, best_net, best_tip, REASON_NEGATIVE
    if best_net < min_profit:
        return best, best_net, best_tip, REASON_BELOW_MIN_PROFIT
    return best, best_net, best_tip, REASON_OK


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
