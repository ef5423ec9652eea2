"""A mergeable log-linear latency histogram, cheap enough to record on the hot path.

Values are integer nanoseconds. The bucket layout is fixed (HDR-style, 7 significant bits):

* values below 128 ns each get their own bucket (exact);
* above that, every power-of-two range ``[2^k, 2^(k+1))`` is split into 64 equal buckets, so a
  bucket is never wider than 1/64 of its lower bound.

A value read back from a bucket is the bucket's midpoint, so every estimate is within
``RELATIVE_ERROR`` = 1/128 (0.78 %) of the true value. Because the layout is fixed, two
histograms merge by adding counts, and merging is exact: recording A and B separately then
merging gives the same histogram as recording everything into one.

Recording is one ``int.bit_length``, two shifts and one dict increment (≈150–200 ns in
CPython); the dict is sparse, so a histogram costs memory only for the buckets it uses
(a few hundred at most for latencies between 1 µs and 1 h).

Not thread-safe: galileo records from trio tasks on one thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SUB_BUCKET_BITS = 7
"""Significant bits kept per value; 7 bits → buckets ≤ 1/64 of their value wide."""

_HALF = SUB_BUCKET_BITS - 1  # log2 of the buckets per power of two (64)
_EXACT_BELOW = 1 << SUB_BUCKET_BITS  # 128: values below this are stored exactly

RELATIVE_ERROR = 1.0 / _EXACT_BELOW  # 1/128: half a bucket (≤ 1/64 wide) around the midpoint
"""Upper bound on ``|estimate - true| / true`` for any value read back from a histogram."""

_NO_MIN = 1 << 64


def bucket_index(ns: int) -> int:
    """The bucket holding ``ns`` (≥ 0). Monotonic: larger values never get smaller indices."""
    shift = ns.bit_length() - SUB_BUCKET_BITS
    if shift > 0:
        return (shift << _HALF) + (ns >> shift)
    return ns


def bucket_bounds(index: int) -> tuple[int, int]:
    """``(lowest, highest)`` nanosecond value that lands in bucket ``index`` (inclusive)."""
    if index < _EXACT_BELOW:
        return index, index
    shift = (index >> _HALF) - 1
    mantissa = index - (shift << _HALF)
    low = mantissa << shift
    return low, low + (1 << shift) - 1


def bucket_midpoint(index: int) -> float:
    """The value reported for anything in bucket ``index`` (nanoseconds)."""
    low, high = bucket_bounds(index)
    return (low + high) / 2


class Histogram:
    """Counts of nanosecond durations in fixed log-linear buckets, plus exact sum/min/max.

    ``record_ns`` is the hot-path entry; everything else (percentiles, export) walks the sparse
    buckets at read time. Percentiles follow ``numpy.percentile``'s default (linear
    interpolation between the two nearest ranks) applied to the bucket midpoints, then clamped
    to the exact min/max — so they are within ``RELATIVE_ERROR`` of numpy's answer on the raw
    values.
    """

    __slots__ = ("_buckets", "_max_ns", "_min_ns", "_sum_ns")

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self._sum_ns = 0
        self._min_ns = _NO_MIN
        self._max_ns = 0

    # -- recording ---------------------------------------------------------------------------

    def record_ns(self, ns: int) -> None:
        """Add one duration in nanoseconds (must be ≥ 0; not checked here, it is the hot path)."""
        shift = ns.bit_length() - SUB_BUCKET_BITS
        index = (shift << _HALF) + (ns >> shift) if shift > 0 else ns
        buckets = self._buckets
        try:
            buckets[index] += 1
        except KeyError:
            buckets[index] = 1
        self._sum_ns += ns
        # Plain comparisons, not max()/min(): a builtin call costs more than the compare here.
        if ns > self._max_ns:  # noqa: PLR1730
            self._max_ns = ns
        if ns < self._min_ns:  # noqa: PLR1730
            self._min_ns = ns

    def record(self, seconds: float) -> None:
        """Add one duration in seconds (rounded to the nanosecond; negative is a ValueError)."""
        if seconds < 0:
            raise ValueError(f"negative duration {seconds!r}")
        self.record_ns(round(seconds * 1e9))

    def merge(self, other: Histogram) -> None:
        """Add every observation of ``other`` into this histogram (exact)."""
        buckets = self._buckets
        for index, count in other._buckets.items():
            buckets[index] = buckets.get(index, 0) + count
        self._sum_ns += other._sum_ns
        self._max_ns = max(self._max_ns, other._max_ns)
        self._min_ns = min(self._min_ns, other._min_ns)

    @classmethod
    def merged(cls, histograms: Iterable[Histogram]) -> Histogram:
        """A new histogram holding the observations of all ``histograms``."""
        result = cls()
        for histogram in histograms:
            result.merge(histogram)
        return result

    def copy(self) -> Histogram:
        return Histogram.merged((self,))

    # -- reading -----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return sum(self._buckets.values())

    @property
    def sum_ns(self) -> int:
        return self._sum_ns

    @property
    def min_ns(self) -> int | None:
        return None if self._min_ns == _NO_MIN else self._min_ns

    @property
    def max_ns(self) -> int | None:
        return None if self._min_ns == _NO_MIN else self._max_ns

    def __len__(self) -> int:
        return self.count

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return (
            self._buckets == other._buckets
            and self._sum_ns == other._sum_ns
            and self._min_ns == other._min_ns
            and self._max_ns == other._max_ns
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Histogram(count={self.count}, p50={self.percentile(50)}, max={self.max_ns})"

    def percentiles_ns(self, qs: Sequence[float]) -> list[float | None]:
        """Estimates of the ``qs`` percentiles (0–100) in nanoseconds; None when empty."""
        for q in qs:
            if not 0 <= q <= 100:
                raise ValueError(f"percentile {q!r} outside [0, 100]")
        count = self.count
        if count == 0:
            return [None for _ in qs]
        # Ranks (0-based) needed, as numpy's "linear" method: position h = (n-1)·q/100.
        wanted: dict[int, float] = {}
        plans: list[tuple[int, int, float]] = []
        for q in qs:
            position = (count - 1) * q / 100
            low = int(position)
            high = min(low + 1, count - 1)
            plans.append((low, high, position - low))
            wanted[low] = 0.0
            wanted[high] = 0.0
        ranks = sorted(wanted)
        seen = 0
        rank_iter = iter(ranks)
        rank = next(rank_iter, None)
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            while rank is not None and rank < seen:
                wanted[rank] = bucket_midpoint(index)
                rank = next(rank_iter, None)
            if rank is None:
                break
        lowest, highest = float(self._min_ns), float(self._max_ns)
        results: list[float | None] = []
        for low, high, fraction in plans:
            value = wanted[low] + (wanted[high] - wanted[low]) * fraction
            results.append(min(max(value, lowest), highest))
        return results

    def percentile_ns(self, q: float) -> float | None:
        """Estimate of the ``q``-th percentile (0–100) in nanoseconds; None when empty."""
        return self.percentiles_ns((q,))[0]

    def percentile(self, q: float) -> float | None:
        """Estimate of the ``q``-th percentile (0–100) in seconds; None when empty."""
        value = self.percentile_ns(q)
        return None if value is None else value / 1e9

    def stats(self) -> dict[str, Any]:
        """``count, sum, mean, min, p50, p95, p99, max`` in seconds (None when empty)."""
        count = self.count
        p50, p95, p99 = self.percentiles_ns((50, 95, 99))
        empty = count == 0
        return {
            "count": count,
            "sum": self._sum_ns / 1e9,
            "mean": None if empty else self._sum_ns / count / 1e9,
            "min": None if empty else self._min_ns / 1e9,
            "p50": None if p50 is None else p50 / 1e9,
            "p95": None if p95 is None else p95 / 1e9,
            "p99": None if p99 is None else p99 / 1e9,
            "max": None if empty else self._max_ns / 1e9,
        }

    def cumulative_counts(self, bounds_seconds: Sequence[float]) -> list[int]:
        """For each upper bound (ascending, seconds): how many observations are ≤ it.

        This is what a Prometheus histogram's ``le`` buckets hold. A bucket that straddles a
        bound is counted by its midpoint, so an observation within ``RELATIVE_ERROR`` of a bound
        may be counted on either side of it.
        """
        bounds_ns = [b * 1e9 for b in bounds_seconds]
        result = [0] * len(bounds_ns)
        position = 0
        running = 0
        for index in sorted(self._buckets):
            midpoint = bucket_midpoint(index)
            while position < len(bounds_ns) and midpoint > bounds_ns[position]:
                result[position] = running
                position += 1
            if position == len(bounds_ns):
                break
            running += self._buckets[index]
        for rest in range(position, len(bounds_ns)):
            result[rest] = running
        return result

    # -- serialisation -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, lossless form (``from_dict`` restores it; use it to merge across runs)."""
        return {
            "sub_bucket_bits": SUB_BUCKET_BITS,
            "buckets": [[index, self._buckets[index]] for index in sorted(self._buckets)],
            "sum_ns": self._sum_ns,
            "min_ns": self.min_ns,
            "max_ns": self.max_ns,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Histogram:
        if data.get("sub_bucket_bits", SUB_BUCKET_BITS) != SUB_BUCKET_BITS:
            raise ValueError(
                f"histogram has sub_bucket_bits={data['sub_bucket_bits']}, "
                f"this build uses {SUB_BUCKET_BITS}"
            )
        histogram = cls()
        for index, count in data["buckets"]:
            if int(count) > 0:
                histogram._buckets[int(index)] = int(count)
        histogram._sum_ns = int(data["sum_ns"])
        if histogram._buckets:
            histogram._min_ns = int(data["min_ns"])
            histogram._max_ns = int(data["max_ns"])
        return histogram
