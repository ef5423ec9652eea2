"""The log-linear histogram: bounded relative error against numpy, exact merging, lossless
serialisation and Prometheus-style cumulative counts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from galileo.obs import RELATIVE_ERROR, Histogram
from galileo.obs._histogram import bucket_bounds, bucket_index, bucket_midpoint

# Latencies from 0 ns to ~1.2 days, biased to the realistic µs–s range.
durations_ns = st.one_of(
    st.integers(min_value=0, max_value=10**14),
    st.integers(min_value=1_000, max_value=5 * 10**9),
)
samples = st.lists(durations_ns, min_size=1, max_size=300)
percents = st.floats(min_value=0, max_value=100, allow_nan=False)


def histogram_of(values: list[int]) -> Histogram:
    histogram = Histogram()
    for value in values:
        histogram.record_ns(value)
    return histogram


def within_bound(estimate: float, truth: float) -> bool:
    # 1e-9 absorbs float rounding of the interpolation itself.
    return abs(estimate - truth) <= RELATIVE_ERROR * truth + 1e-9 * max(truth, 1.0)


def test_the_documented_error_bound_is_under_one_percent() -> None:
    assert RELATIVE_ERROR == 1 / 128 < 0.01


@given(st.integers(min_value=0, max_value=2**62))
def test_every_value_lands_in_a_bucket_whose_midpoint_is_within_the_bound(value: int) -> None:
    index = bucket_index(value)
    low, high = bucket_bounds(index)
    assert low <= value <= high
    assert abs(bucket_midpoint(index) - value) <= RELATIVE_ERROR * value


def test_buckets_are_contiguous_and_ordered_like_the_values() -> None:
    previous_high = -1
    for index in range(0, 64 * 40):
        low, high = bucket_bounds(index)
        assert low == previous_high + 1, index
        assert bucket_index(low) == index == bucket_index(high)
        previous_high = high


def test_values_below_128_ns_are_exact() -> None:
    histogram = histogram_of([0, 1, 5, 127])
    assert histogram.percentile_ns(0) == 0
    assert histogram.percentile_ns(100) == 127
    assert histogram.percentiles_ns((50,)) == [np.percentile([0, 1, 5, 127], 50)]


@given(samples, st.lists(percents, min_size=1, max_size=5))
def test_percentiles_match_numpy_within_the_relative_error(
    values: list[int], qs: list[float]
) -> None:
    histogram = histogram_of(values)
    estimates = histogram.percentiles_ns(qs)
    for q, estimate in zip(qs, estimates, strict=True):
        truth = float(np.percentile(np.array(values, dtype=np.float64), q))
        assert estimate is not None
        assert within_bound(estimate, truth), (q, estimate, truth)


@given(samples)
def test_count_sum_min_max_and_mean_are_exact(values: list[int]) -> None:
    histogram = histogram_of(values)
    assert histogram.count == len(values) == len(histogram)
    assert histogram.sum_ns == sum(values)
    assert histogram.min_ns == min(values)
    assert histogram.max_ns == max(values)
    stats = histogram.stats()
    assert stats["count"] == len(values)
    assert stats["mean"] == pytest.approx(sum(values) / len(values) / 1e9)
    assert stats["max"] == max(values) / 1e9


@given(st.lists(st.lists(durations_ns, max_size=50), min_size=1, max_size=5))
def test_merging_parts_equals_recording_everything_into_one(parts: list[list[int]]) -> None:
    merged = Histogram.merged(histogram_of(part) for part in parts)
    everything = histogram_of([value for part in parts for value in part])
    assert merged == everything
    assert merged.stats() == everything.stats()


@given(st.lists(durations_ns, max_size=100))
def test_to_dict_is_json_safe_and_lossless(values: list[int]) -> None:
    histogram = histogram_of(values)
    restored = Histogram.from_dict(json.loads(json.dumps(histogram.to_dict())))
    assert restored == histogram


def test_an_empty_histogram_reports_none_not_zero() -> None:
    histogram = Histogram()
    assert histogram.count == 0
    assert histogram.percentile(50) is None
    assert histogram.stats() == {
        "count": 0,
        "sum": 0.0,
        "mean": None,
        "min": None,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
    }
    assert Histogram.from_dict(histogram.to_dict()) == histogram


def test_seconds_are_recorded_to_the_nanosecond_and_negative_is_refused() -> None:
    histogram = Histogram()
    histogram.record(0.000_000_100)
    assert histogram.sum_ns == 100
    with pytest.raises(ValueError, match="negative"):
        histogram.record(-0.001)


def test_percentiles_outside_0_to_100_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        histogram_of([1]).percentile(101)


@given(samples)
def test_cumulative_counts_match_exact_counts_away_from_the_bounds(values: list[int]) -> None:
    bounds = [1e-6, 1e-3, 0.01, 1.0, 10.0]
    counts = Histogram.cumulative_counts(histogram_of(values), bounds)
    assert counts == sorted(counts)
    for bound, count in zip(bounds, counts, strict=True):
        bound_ns = bound * 1e9
        surely_below = sum(v <= bound_ns * (1 - RELATIVE_ERROR) for v in values)
        maybe_below = sum(v <= bound_ns * (1 + RELATIVE_ERROR) for v in values)
        assert surely_below <= count <= maybe_below
