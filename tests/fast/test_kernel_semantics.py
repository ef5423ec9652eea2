"""What the kernels mean, checked on the active backend (``galileo._fast``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import galileo._fast as fast


def test_priority_fee_rounds_micro_lamports_up() -> None:
    assert fast.priority_fee_lamports(200_000, 1) == 1
    assert fast.priority_fee_lamports(1_000_000, 1_000) == 1_000
    assert fast.priority_fee_lamports(0, 10**9) == 0


def test_net_profit_subtracts_size_base_fee_priority_fee_and_tip() -> None:
    fees = fast.FeeModel(1, 5_000, 200_000, 1_000, fast.TIP_STATIC, 2_000, 0, 1_000, 10_000)
    assert (fees.base_fee, fees.priority_fee, fees.fees) == (5_000, 200, 5_200)
    net, tip = fast.evaluate(fees, 1_010_000_000, 1_000_000_000, 0)
    assert tip == 2_000
    assert net == 10_000_000 - 5_000 - 200 - 2_000


def test_the_fee_model_refuses_what_the_kernel_cannot_price_exactly() -> None:
    def model(**changes: int) -> object:
        args = dict(
            signatures=1,
            lamports_per_signature=5_000,
            cu_limit=200_000,
            cu_price_micro_lamports=1_000,
            tip_policy=fast.TIP_PERCENT,
            tip_static=0,
            tip_percent_bps=5_000,
            tip_min=1_000,
            tip_max=10**7,
        )
        return fast.FeeModel(**(args | changes))

    model()
    for bad in (
        {"signatures": -1},
        {"cu_price_micro_lamports": -1},
        {"tip_policy": 3},
        {"tip_percent_bps": 10_001},
        {"tip_max": 2**62 + 1},
        {"lamports_per_signature": 2**62},  # fees beyond 2**62
        {"tip_max": 2**62 - 5_000},  # fees + tip_max beyond 2**62
    ):
        with pytest.raises(ValueError):
            model(**bad)


def test_evaluate_spans_the_whole_amount_range_without_overflow() -> None:
    widest = fast.FeeModel(1, 2**61, 0, 0, fast.TIP_STATIC, 2**62, 0, 0, 2**61)
    assert fast.evaluate(widest, 0, 2**62, 0) == (-(2**63), 2**61)
    free = fast.FeeModel(0, 0, 0, 0, fast.TIP_PERCENT, 0, 10_000, 0, 2**62)
    assert fast.evaluate(free, 2**62, 0, 0) == (0, 2**62)
    with pytest.raises(ValueError):
        fast.evaluate(free, 2**62 + 1, 0, 0)
    with pytest.raises(TypeError):
        fast.evaluate(free, 1.5, 0, 0)  # type: ignore[arg-type]


def test_percent_tip_is_a_share_of_gross_clamped_to_min_and_max() -> None:
    def tip(gross: int) -> int:
        return fast.tip_lamports(fast.TIP_PERCENT, gross, 0, 5_000, 0, 1_000, 1_000_000)

    assert tip(-50) == 1_000  # Jito's minimum even when the trade loses
    assert tip(10_000) == 5_000
    assert tip(10**9) == 1_000_000


def test_floor_tip_uses_the_given_percentile_value() -> None:
    assert fast.tip_lamports(fast.TIP_FLOOR, 10**9, 0, 0, 4_321, 1_000, 10**6) == 4_321


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
