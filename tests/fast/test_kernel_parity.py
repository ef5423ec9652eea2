"""The compiled kernels answer exactly like their pure-Python twins (or raise alike).

When the extension is not built, ``galileo._fast`` itself is the twin and these tests still
run against it, so the suite means the same thing on both backends.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import galileo._fast as fast
from galileo._fast import _reference as ref


def _impl(module: str, name: str) -> Callable[..., Any]:
    try:
        return getattr(importlib.import_module(f"galileo._fast.{module}"), name)  # type: ignore[no-any-return]
    except ImportError:
        return getattr(fast, name)  # type: ignore[no-any-return]


def same(compiled: Callable[..., Any], twin: Callable[..., Any], *args: Any) -> None:
    try:
        expected = twin(*args)
    except (ValueError, OverflowError) as exc:
        with pytest.raises(type(exc)):
            compiled(*args)
        return
    got = compiled(*args)
    if isinstance(expected, tuple) and expected and isinstance(expected[0], np.ndarray):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert a.dtype == b.dtype
            assert a.tolist() == b.tolist()
    else:
        assert got == expected


amount = st.integers(min_value=0, max_value=2**62)
small = st.integers(min_value=0, max_value=10**12)
maybe_bad = st.one_of(amount, st.integers(min_value=-(2**63), max_value=2**64))
policy = st.sampled_from([ref.TIP_STATIC, ref.TIP_PERCENT, ref.TIP_FLOOR])
bps = st.integers(min_value=0, max_value=10_000)


@given(
    st.tuples(
        policy,
        st.integers(min_value=-(2**62), max_value=2**62),
        amount,
        bps,
        amount,
        small,
        amount,
    )
)
def test_tip_lamports_matches_twin(args: tuple[int, ...]) -> None:
    same(_impl("profit", "tip_lamports"), ref.tip_lamports, *args)


@given(
    st.tuples(
        st.integers(min_value=-3, max_value=5),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.integers(),
        st.integers(min_value=-5, max_value=20_000),
        st.integers(),
        st.integers(),
        st.integers(),
    )
)
def test_tip_lamports_matches_twin_outside_kernel_range(args: tuple[int, ...]) -> None:
    same(_impl("profit", "tip_lamports"), ref.tip_lamports, *args)


@given(
    st.tuples(
        maybe_bad,
        maybe_bad,
        st.integers(min_value=0, max_value=8),
        st.integers(min_value=0, max_value=10_000),
        st.integers(min_value=0, max_value=1_400_000),
        st.integers(min_value=0, max_value=10**9),
        st.integers(min_value=-1, max_value=3),
        small,
        st.integers(min_value=-1, max_value=10_001),
        small,
        small,
        small,
    )
)
def test_evaluate_matches_twin(args: tuple[int, ...]) -> None:
    same(_impl("profit", "evaluate"), ref.evaluate, *args)


candidate_lists = st.integers(min_value=0, max_value=12).flatmap(
    lambda n: st.tuples(
        st.lists(amount, min_size=n, max_size=n),
        st.lists(amount, min_size=n, max_size=n),
        st.lists(st.integers(min_value=0, max_value=2_000), min_size=n, max_size=n),
    )
)
fee_args = st.tuples(
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=1_400_000),
    st.integers(min_value=0, max_value=10**7),
    policy,
    small,
    bps,
    small,
    st.integers(min_value=0, max_value=10_000),
    small,
)


@given(candidate_lists, fee_args)
def test_evaluate_sizes_matches_twin(
    candidates: tuple[list[int], list[int], list[int]], fees: tuple[int, ...]
) -> None:
    sizes, outs, _ = candidates
    same(
        _impl("profit", "evaluate_sizes"),
        ref.evaluate_sizes,
        np.array(sizes, dtype=np.int64),
        np.array(outs, dtype=np.int64),
        *fees,
    )


@given(
    candidate_lists,
    st.integers(min_value=0, max_value=1_500),
    st.integers(min_value=-(10**6), max_value=10**9),
    fee_args,
)
def test_best_size_matches_twin(
    candidates: tuple[list[int], list[int], list[int]],
    max_age: int,
    min_profit: int,
    fees: tuple[int, ...],
) -> None:
    sizes, outs, ages = candidates
    same(
        _impl("profit", "best_size"),
        ref.best_size,
        np.array(sizes, dtype=np.int64),
        np.array(outs, dtype=np.int64),
        np.array(ages, dtype=np.int64),
        max_age,
        min_profit,
        *fees,
    )


@given(
    st.integers(min_value=0, max_value=2**62 - 1),
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=1, max_value=50),
)
def test_batch_slots_matches_twin(start: int, count: int, mints: int, sizes: int) -> None:
    same(_impl("pairing", "batch_slots"), ref.batch_slots, start, count, mints, sizes)


@given(
    st.integers(min_value=-2, max_value=10**15),
    st.integers(min_value=-2, max_value=10**15),
    st.integers(min_value=0, max_value=40),
    st.booleans(),
)
def test_lane_sizes_matches_twin(lo: int, hi: int, lanes: int, geometric: bool) -> None:
    same(_impl("pairing", "lane_sizes"), ref.lane_sizes, lo, hi, lanes, geometric)


@given(
    st.integers(min_value=-1, max_value=2**62 + 1),
    st.integers(min_value=-1, max_value=10_001),
    st.integers(min_value=-1, max_value=2**64),
)
def test_jitter_size_matches_twin(size: int, jitter_bps: int, random_u64: int) -> None:
    same(_impl("pairing", "jitter_size"), ref.jitter_size, size, jitter_bps, random_u64)


@given(
    st.integers(min_value=0, max_value=2**64 - 1),
    st.lists(st.tuples(st.integers(min_value=0, max_value=2**64 - 1), st.booleans()), max_size=12),
)
def test_rendezvous_pick_matches_twin(key_hash: int, nodes: list[tuple[int, bool]]) -> None:
    same(
        _impl("hashring", "rendezvous_pick"),
        ref.rendezvous_pick,
        key_hash,
        np.array([h for h, _ in nodes], dtype=np.uint64),
        np.array([ok for _, ok in nodes], dtype=np.uint8),
    )


@given(st.binary(max_size=64), st.lists(st.binary(max_size=16), max_size=10))
def test_existing_hash_kernels_match_twin(key: bytes, nodes: list[bytes]) -> None:
    same(_impl("hashring", "hash64"), ref.hash64, key)
    same(_impl("hashring", "rendezvous_order"), ref.rendezvous_order, key, nodes)
