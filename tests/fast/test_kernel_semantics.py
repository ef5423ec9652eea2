"""What the kernels mean, checked on the active backend (``galileo._fast``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import galileo._fast as fast


def test_priority_fee_rounds_micro_lamports_up() -> None:
    assert fast.priority_fee_lamports(200_000, 1) == 1
    assert fast.priority_fee_lamports(1_000_000, 1_000) == 1_000
    assert fast.priority_fee_lamports(0, 10**9) == 0


def test_net_profit_subtracts_size_base_fee_priority_fee_and_tip() -> None:
    net, tip = fast.evaluate(
        1_010_000_000,
        1_000_000_000,
        1,
        5_000,
        200_000,
        1_000,
        fast.TIP_STATIC,
        2_000,
        0,
        0,
        1_000,
        10_000,
    )
    assert tip == 2_000
    assert net == 10_000_000 - 5_000 - 200 - 2_000


def test_percent_tip_is_a_share_of_gross_clamped_to_min_and_max() -> None:
    def tip(gross: int) -> int:
        return fast.tip_lamports(fast.TIP_PERCENT, gross, 0, 5_000, 0, 1_000, 1_000_000)

    assert tip(-50) == 1_000  # Jito's minimum even when the trade loses
    assert tip(10_000) == 5_000
    assert tip(10**9) == 1_000_000


def test_floor_tip_uses_the_given_percentile_value() -> None:
    assert fast.tip_lamports(fast.TIP_FLOOR, 10**9, 0, 0, 4_321, 1_000, 10**6) == 4_321


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=10**12), st.integers(min_value=0, max_value=10**12)
        ),
        min_size=1,
        max_size=16,
    )
)
def test_best_size_is_the_argmax_of_the_vectorised_evaluation(
    pairs: list[tuple[int, int]],
) -> None:
    sizes = np.array([s for s, _ in pairs], dtype=np.int64)
    outs = np.array([o for _, o in pairs], dtype=np.int64)
    params = (1, 5_000, 200_000, 1_000, fast.TIP_PERCENT, 0, 3_000, 0, 1_000, 10**7)
    nets, _ = fast.evaluate_sizes(sizes, outs, *params)
    index, net, _, reason = fast.best_size(
        sizes, outs, np.zeros(len(pairs), dtype=np.int64), 400, 0, *params
    )
    assert index == int(np.argmax(nets))
    assert net == int(nets.max())
    assert reason == (fast.REASON_OK if net >= 0 else fast.REASON_NEGATIVE)


def test_best_size_ignores_stale_candidates_and_names_the_skip_reason() -> None:
    sizes = np.array([100, 200], dtype=np.int64)
    outs = np.array([10_000_000, 10_000_000], dtype=np.int64)
    params = (1, 0, 0, 0, fast.TIP_STATIC, 0, 0, 0, 0, 0)
    assert fast.best_size(sizes, outs, np.array([500, 500]), 400, 0, *params)[3] == (
        fast.REASON_STALE
    )
    index, _, _, reason = fast.best_size(sizes, outs, np.array([500, 10]), 400, 0, *params)
    assert (index, reason) == (1, fast.REASON_OK)
    _, _, _, reason = fast.best_size(sizes, outs, np.array([0, 0]), 400, 10**9, *params)
    assert reason == fast.REASON_BELOW_MIN_PROFIT
    empty = np.array([], dtype=np.int64)
    assert fast.best_size(empty, empty, empty, 400, 0, *params)[3] == (fast.REASON_NO_CANDIDATES)


@given(
    st.integers(min_value=1, max_value=10**12),
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=1, max_value=20),
    st.booleans(),
)
def test_lane_sizes_span_min_to_max_increasing(
    lo: int, extra: int, lanes: int, geometric: bool
) -> None:
    sizes = fast.lane_sizes(lo, lo + extra, lanes, geometric)
    assert sizes[0] == lo
    assert sizes[-1] == (lo + extra if len(sizes) > 1 or extra == 0 else lo)
    assert sizes == sorted(set(sizes))
    assert len(sizes) <= lanes


@given(
    st.integers(min_value=1, max_value=10**15),
    st.integers(min_value=0, max_value=5_000),
    st.integers(min_value=0, max_value=2**64 - 1),
)
def test_jitter_stays_within_the_band(size: int, jitter_bps: int, random_u64: int) -> None:
    moved = fast.jitter_size(size, jitter_bps, random_u64)
    span = size * jitter_bps // 10_000
    assert max(1, size - span) <= moved <= size + span


def test_batch_slots_rotate_mints_fastest() -> None:
    mints, lanes = fast.batch_slots(0, 6, 3, 2)
    assert mints.tolist() == [0, 1, 2, 0, 1, 2]
    assert lanes.tolist() == [0, 0, 0, 1, 1, 1]


def test_rendezvous_pick_falls_to_the_next_best_when_the_first_is_ineligible() -> None:
    nodes = [f"10.0.0.{i}".encode() for i in range(6)]
    order = fast.rendezvous_order(b"https://ny.block-engine", nodes)
    hashes = np.array([fast.hash64(n) for n in nodes], dtype=np.uint64)
    key = fast.hash64(b"https://ny.block-engine")
    eligible = np.ones(6, dtype=np.uint8)
    assert fast.rendezvous_pick(key, hashes, eligible) == order[0]
    eligible[order[0]] = 0
    assert fast.rendezvous_pick(key, hashes, eligible) == order[1]
    assert fast.rendezvous_pick(key, hashes, np.zeros(6, dtype=np.uint8)) == -1
