"""Stage timings: per-stage, per-label-set histograms, exported to Prometheus and to JSON.

Every pipeline stage (quote, evaluate, instructions, build, sign, send, land, download,
health_check, …) is timed with ``recorder.stage(name, **labels)`` or reported afterwards with
``recorder.observe(name, seconds, **labels)``. A stage used without labels needs no
declaration. A stage that carries labels is declared once, up front, with its fixed label
names (Prometheus needs them fixed per metric)::

    recorder.declare_stage("quote", labels=("ip", "leg"))   # → galileo_quote_latency_seconds
    with recorder.stage("quote", ip=lease.ip, leg="buy"):
        ...

Prometheus export (computed at scrape time from the histograms, nothing extra on the hot path):

* ``galileo_stage_seconds{stage}`` — every stage, all its label sets merged;
* ``galileo_stage_errors_total{stage}`` — timed blocks left by an exception (incl. cancellation);
* ``<metric>{<declared labels>}`` — one histogram per declared stage with labels (default
  metric name ``galileo_<stage>_latency_seconds``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import Enum
from types import TracebackType
from typing import Any

import attrs
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from galileo._errors import GalileoError
from galileo.obs._histogram import _HALF, RELATIVE_ERROR, SUB_BUCKET_BITS, Histogram

SUMMARY_SCHEMA = 1
"""Version of the ``Recorder.summary()`` layout; bumped on any incompatible change."""

KNOWN_STAGES = (
    "quote",
    "evaluate",
    "instructions",
    "build",
    "sign",
    "send",
    "land",
    "download",
    "health_check",
)
"""Stage names the engine uses (others are allowed; these are listed in docs/metrics.md)."""

DEFAULT_BUCKETS: tuple[float, ...] = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Prometheus ``le`` bounds (seconds) for every exported stage histogram (+Inf is implied)."""

STAGE_METRIC = "galileo_stage_seconds"
STAGE_ERRORS_METRIC = "galileo_stage_errors_total"

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_RESERVED_LABELS = frozenset({"le", "stage", "quantile"})


class StageLabelsError(GalileoError, ValueError):
    """A stage was used with label names that do not match its declaration."""


@attrs.frozen
class StageSpec:
    """How one stage is exported: its fixed label names and its own metric (if labelled)."""

    name: str
    labels: tuple[str, ...] = ()
    metric: str | None = None
    doc: str = ""
    buckets: tuple[float, ...] = DEFAULT_BUCKETS


class Series:
    """The histogram of one stage with one set of label values.

    Get one from ``Recorder.series(...)`` to skip the per-call label lookup in the hottest
    loops: ``with series.time(): ...`` / ``series.observe(seconds)``.
    """

    __slots__ = ("_clock", "errors", "histogram", "labels", "stage")

    def __init__(
        self, stage: str, labels: tuple[tuple[str, str], ...], clock: Callable[[], int]
    ) -> None:
        self.stage = stage
        self.labels = labels
        self.histogram = Histogram()
        self.errors = 0
        self._clock = clock

    def time(self) -> StageTimer:
        return StageTimer(self, self._clock())

    def observe(self, seconds: float) -> None:
        self.histogram.record(seconds)

    def observe_ns(self, ns: int) -> None:
        if ns < 0:
            raise ValueError(f"negative duration {ns} ns")
        self.histogram.record_ns(ns)


class StageTimer:
    """Context manager returned by ``Recorder.stage``: times from creation to block exit.

    The duration is recorded whether the block succeeds or raises; a raise (cancellation
    included — a deadline firing inside the block) also counts one error for the series.
    """

    __slots__ = ("_series", "_start")

    def __init__(self, series: Series, start: int) -> None:
        self._series = series
        self._start = start

    def __enter__(self) -> StageTimer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        series = self._series
        ns = series._clock() - self._start
        # Histogram.record_ns inlined: this is the hottest call site and the call itself
        # would cost ~15 % of the timer (tests check both paths fill identical histograms).
        histogram = series.histogram
        shift = ns.bit_length() - SUB_BUCKET_BITS
        index = (shift << _HALF) + (ns >> shift) if shift > 0 else ns
        buckets = histogram._buckets
        try:
            buckets[index] += 1
        except KeyError:
            buckets[index] = 1
        histogram._sum_ns += ns
        if ns > histogram._max_ns:  # noqa: PLR1730
            histogram._max_ns = ns
        if ns < histogram._min_ns:  # noqa: PLR1730
            histogram._min_ns = ns
        if exc_type is not None:
            series.errors += 1

    @property
    def elapsed_ns(self) -> int:
        """Nanoseconds since the timer started (readable inside the block)."""
        return self._series._clock() - self._start


class Recorder:
    """Stage timers and their histograms; see the module docstring for naming.

    ``registry``: if given, the recorder's metrics are exported on it (or call ``register``
    later). ``clock``: integer nanoseconds, ``time.perf_counter_ns`` by default (tests inject a
    fake one).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        self._clock = clock
        self._specs: dict[str, StageSpec] = {}
        # Canonical key (stage, label values in declared order) → series.
        self._series: dict[tuple[str, tuple[str, ...]], Series] = {}
        # Hot-path cache: (stage, labels as the caller passed them) → series.
        self._lookup: dict[tuple[str, tuple[tuple[str, Any], ...]], Series] = {}
        if registry is not None:
            self.register(registry)

    # -- declaring ---------------------------------------------------------------------------

    def declare_stage(
        self,
        name: str,
        *,
        labels: Sequence[str] = (),
        metric: str | None = None,
        doc: str = "",
        buckets: Sequence[float] | None = None,
    ) -> StageSpec:
        """Fix the label names of stage ``name`` (and optionally its metric name, help, buckets).

        A stage with labels gets its own Prometheus histogram, ``metric`` (default
        ``galileo_<name>_latency_seconds``). Declaring the same stage again with the same
        arguments is a no-op; with different ones it is a ``StageLabelsError``.
        """
        if not _NAME.match(name):
            raise StageLabelsError(f"stage name {name!r} must match [a-z][a-z0-9_]*")
        label_names = tuple(labels)
        for label in label_names:
            if not _NAME.match(label) or label in _RESERVED_LABELS:
                raise StageLabelsError(f"stage {name!r}: label name {label!r} is not allowed")
        if len(set(label_names)) != len(label_names):
            raise StageLabelsError(f"stage {name!r}: duplicate label names {label_names}")
        if metric is None and label_names:
            metric = f"galileo_{name}_latency_seconds"
        if metric is not None and (
            not _METRIC.match(metric) or metric in (STAGE_METRIC, STAGE_ERRORS_METRIC)
        ):
            raise StageLabelsError(f"stage {name!r}: metric name {metric!r} is not allowed")
        bounds = tuple(float(b) for b in (DEFAULT_BUCKETS if buckets is None else buckets))
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise StageLabelsError(f"stage {name!r}: buckets must be strictly increasing")
        spec = StageSpec(
            name=name,
            labels=label_names,
            metric=metric,
            doc=doc or f"Duration of the {name} stage.",
            buckets=bounds,
        )
        existing = self._specs.get(name)
        if existing is not None:
            if _shape(existing) == _shape(spec):
                return existing  # same labels, metric and buckets: keep the first doc
            unused = not any(key[0] == name for key in self._series)
            if not (unused and _shape(existing) == _shape(StageSpec(name=name))):
                raise StageLabelsError(
                    f"stage {name!r} is already declared as {existing}; cannot redeclare as {spec}"
                )
        for other in self._specs.values():
            if other.name != name and metric is not None and other.metric == metric:
                raise StageLabelsError(f"stage {name!r}: metric {metric!r} is used by {other.name}")
        self._specs[name] = spec
        return spec

    def stages(self) -> dict[str, StageSpec]:
        """Every known stage (declared or used) by name."""
        return dict(self._specs)

    # -- recording (hot path) ----------------------------------------------------------------

    def stage(self, name: str, **labels: str) -> StageTimer:
        """Time the ``with`` block as one observation of stage ``name`` with these labels."""
        try:
            series = self._lookup[name, tuple(labels.items())]
        except KeyError:
            series = self._resolve(name, labels)
        return StageTimer(series, self._clock())

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """Record a duration measured elsewhere (e.g. send → landed)."""
        try:
            series = self._lookup[name, tuple(labels.items())]
        except KeyError:
            series = self._resolve(name, labels)
        series.observe(seconds)

    def observe_ns(self, name: str, ns: int, **labels: str) -> None:
        """``observe`` for an integer nanosecond duration (e.g. a ``perf_counter_ns`` delta)."""
        try:
            series = self._lookup[name, tuple(labels.items())]
        except KeyError:
            series = self._resolve(name, labels)
        series.observe_ns(ns)

    def series(self, name: str, **labels: str) -> Series:
        """The series for ``name`` + ``labels``, to keep and time with directly."""
        try:
            return self._lookup[name, tuple(labels.items())]
        except KeyError:
            return self._resolve(name, labels)

    def _resolve(self, name: str, labels: Mapping[str, Any]) -> Series:
        spec = self._specs.get(name)
        if spec is None:
            if labels:
                raise StageLabelsError(
                    f"stage {name!r} is used with labels {sorted(labels)} but was not declared; "
                    f"call recorder.declare_stage({name!r}, labels={tuple(sorted(labels))!r}) "
                    "first"
                )
            spec = self.declare_stage(name)
        if set(labels) != set(spec.labels):
            raise StageLabelsError(
                f"stage {name!r} takes labels {list(spec.labels)}, got {sorted(labels)}"
            )
        values = tuple(_label_value(name, key, labels[key]) for key in spec.labels)
        series = self._series_for(name, values)
        self._lookup[name, tuple(labels.items())] = series
        return series

    def _series_for(self, name: str, values: tuple[str, ...]) -> Series:
        series = self._series.get((name, values))
        if series is None:
            spec = self._specs[name]
            series = Series(name, tuple(zip(spec.labels, values, strict=True)), self._clock)
            self._series[name, values] = series
        return series

    # -- reading -----------------------------------------------------------------------------

    def iter_series(self, name: str | None = None) -> Iterator[Series]:
        """Every series (of one stage if ``name``), sorted by stage then label values."""
        for key in sorted(self._series):
            if name is None or key[0] == name:
                yield self._series[key]

    def histogram(self, name: str, **labels: str) -> Histogram:
        """Stage ``name``'s histogram: of one label set if ``labels`` given, else all merged."""
        if labels:
            return self.series(name, **labels).histogram.copy()
        return Histogram.merged(s.histogram for s in self.iter_series(name))

    def merge(self, other: Recorder) -> None:
        """Add everything ``other`` recorded (another worker, another run) into this recorder.

        Stage declarations are merged too; a stage declared differently on both sides is a
        ``StageLabelsError``.
        """
        for spec in other._specs.values():
            self._adopt(spec)
        for (name, values), series in other._series.items():
            mine = self._series_for(name, values)
            mine.histogram.merge(series.histogram)
            mine.errors += series.errors

    def _adopt(self, spec: StageSpec) -> None:
        self.declare_stage(
            spec.name, labels=spec.labels, metric=spec.metric, doc=spec.doc, buckets=spec.buckets
        )

    def summary(self, *, buckets: bool = False) -> dict[str, Any]:
        """A JSON-serialisable report of every stage (layout in docs/metrics.md).

        With ``buckets=True`` each series also carries its lossless histogram, so summaries of
        several runs can be merged with ``merge_summary``.
        """
        stages: dict[str, Any] = {}
        for name in sorted(self._specs):
            spec = self._specs[name]
            series_list = list(self.iter_series(name))
            total = Histogram.merged(s.histogram for s in series_list)
            entries = []
            for series in series_list:
                entry: dict[str, Any] = {"labels": dict(series.labels)}
                entry.update(series.histogram.stats())
                entry["errors"] = series.errors
                if buckets:
                    entry["histogram"] = series.histogram.to_dict()
                entries.append(entry)
            stages[name] = {
                "labels": list(spec.labels),
                "metric": spec.metric,
                "total": {**total.stats(), "errors": sum(s.errors for s in series_list)},
                "series": entries,
            }
        return {
            "schema": SUMMARY_SCHEMA,
            "unit": "seconds",
            "relative_error": RELATIVE_ERROR,
            "sub_bucket_bits": SUB_BUCKET_BITS,
            "stages": stages,
        }

    def merge_summary(self, summary: Mapping[str, Any]) -> None:
        """Add a ``summary(buckets=True)`` (e.g. loaded from a previous run's JSON) into this."""
        if summary.get("schema") != SUMMARY_SCHEMA:
            raise ValueError(f"summary schema {summary.get('schema')!r}, expected {SUMMARY_SCHEMA}")
        for name, stage in summary["stages"].items():
            label_names = tuple(stage["labels"])
            existing = self._specs.get(name)
            if existing is None or (existing.labels, existing.metric) != (
                label_names,
                stage["metric"],
            ):
                self.declare_stage(name, labels=label_names, metric=stage["metric"])
            for entry in stage["series"]:
                if "histogram" not in entry:
                    raise ValueError(f"stage {name!r}: summary was written without buckets")
                values = tuple(str(entry["labels"][key]) for key in label_names)
                series = self._series_for(name, values)
                series.histogram.merge(Histogram.from_dict(entry["histogram"]))
                series.errors += int(entry.get("errors", 0))

    # -- Prometheus --------------------------------------------------------------------------

    def register(self, registry: CollectorRegistry) -> None:
        """Export this recorder's histograms on ``registry`` (computed at each scrape)."""
        registry.register(_RecorderCollector(self))

    def collect(self) -> Iterable[Metric]:
        """The Prometheus metric families for the current state (what a scrape sees)."""
        overall = HistogramMetricFamily(
            STAGE_METRIC,
            "Duration of each pipeline stage, all label sets merged.",
            labels=["stage"],
        )
        errors = CounterMetricFamily(
            STAGE_ERRORS_METRIC,
            "Timed stage blocks that ended with an exception (including cancellation).",
            labels=["stage"],
        )
        per_stage: list[Metric] = []
        for name in sorted(self._specs):
            spec = self._specs[name]
            series_list = list(self.iter_series(name))
            if not series_list:
                continue
            total = Histogram.merged(s.histogram for s in series_list)
            overall.add_metric([name], _prom_buckets(total, DEFAULT_BUCKETS), total.sum_ns / 1e9)
            errors.add_metric([name], sum(s.errors for s in series_list))
            if spec.metric is None:
                continue
            family = HistogramMetricFamily(spec.metric, spec.doc, labels=list(spec.labels))
            for series in series_list:
                family.add_metric(
                    [value for _, value in series.labels],
                    _prom_buckets(series.histogram, spec.buckets),
                    series.histogram.sum_ns / 1e9,
                )
            per_stage.append(family)
        return [overall, errors, *per_stage]


class _RecorderCollector:
    """Adapter so a registry can hold the recorder (kept separate: registries key on it)."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def collect(self) -> Iterable[Metric]:
        return self._recorder.collect()


def _prom_buckets(histogram: Histogram, bounds: Sequence[float]) -> list[tuple[str, float]]:
    counts = histogram.cumulative_counts(bounds)
    pairs = [
        (_format_bound(bound), float(count)) for bound, count in zip(bounds, counts, strict=True)
    ]
    pairs.append(("+Inf", float(histogram.count)))
    return pairs


def _format_bound(bound: float) -> str:
    # prometheus_client's own formatting of le values (repr of the float).
    return repr(float(bound))


def _shape(spec: StageSpec) -> tuple[tuple[str, ...], str | None, tuple[float, ...]]:
    return spec.labels, spec.metric, spec.buckets


def _label_value(stage: str, key: str, value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, str):
        raise StageLabelsError(
            f"stage {stage!r}: label {key}={value!r} must be a str (or a str-valued enum)"
        )
    return value
