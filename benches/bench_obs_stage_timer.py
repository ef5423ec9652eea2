"""Cost of timing a stage, against a bare ``perf_counter_ns`` pair measured in the same run.

Each benchmark runs ``OPS`` operations per round so the harness's own per-call cost does not
swamp nanosecond-scale work; divide the reported times by ``OPS`` for the per-operation cost.

    .venv/bin/python -m pytest benches/bench_obs_stage_timer.py -p no:cacheprovider \
        --benchmark-json=benches/results/bench_obs_stage_timer.json

The last test prints the per-operation costs and their overhead over the bare pair (the
figures quoted in docs/metrics.md).
"""

from __future__ import annotations

import time
from typing import Any

import prometheus_client
import pytest

from galileo.obs import Histogram, Recorder

OPS = 1_000
_results: dict[str, float] = {}

perf_counter_ns = time.perf_counter_ns


def _record(name: str, benchmark: Any) -> None:
    if benchmark.stats is not None:  # None under --benchmark-disable: the call ran once
        _results[name] = benchmark.stats.stats.min / OPS * 1e9  # ns per operation


def bare_pair() -> None:
    for _ in range(OPS):
        start = perf_counter_ns()
        _ = perf_counter_ns() - start


def make_recorder() -> Recorder:
    recorder = Recorder()
    recorder.declare_stage("quote", labels=("ip", "leg"))
    return recorder


@pytest.mark.benchmark(group="obs-stage-timer")
def test_baseline_bare_perf_counter_pair(benchmark: Any) -> None:
    benchmark(bare_pair)
    _record("bare perf_counter_ns pair", benchmark)


@pytest.mark.benchmark(group="obs-stage-timer")
def test_empty_loop(benchmark: Any) -> None:
    def loop() -> None:
        for _ in range(OPS):
            pass

    benchmark(loop)
    _record("empty loop", benchmark)


@pytest.mark.benchmark(group="obs-stage-timer")
def test_stage_without_labels(benchmark: Any) -> None:
    recorder = make_recorder()

    def timed() -> None:
        for _ in range(OPS):
            with recorder.stage("evaluate"):
                pass

    benchmark(timed)
    _record("recorder.stage('evaluate')", benchmark)


@pytest.mark.benchmark(group="obs-stage-timer")
def test_stage_with_two_labels(benchmark: Any) -> None:
    recorder = make_recorder()

    def timed() -> None:
        for _ in range(OPS):
            with recorder.stage("quote", ip="127.0.0.2", leg="buy"):
                pass

    benchmark(timed)
    _record("recorder.stage('quote', ip=, leg=)", benchmark)


@pytest.mark.benchmark(group="obs-stage-timer")
def test_prebound_series_time(benchmark: Any) -> None:
    series = make_recorder().series("quote", ip="127.0.0.2", leg="buy")

    def timed() -> None:
        for _ in range(OPS):
            with series.time():
                pass

    benchmark(timed)
    _record("series.time()", benchmark)


@pytest.mark.benchmark(group="obs-stage-timer")
def test_observe_ns_with_two_labels(benchmark: Any) -> None:
    recorder = make_recorder()

    def observed() -> None:
        for i in range(OPS):
            recorder.observe_ns("quote", 1_000_000 + i, ip="127.0.0.2", leg="buy")

    benchmark(observed)
    _record("recorder.observe_ns('quote', ns, ip=, leg=)", benchmark)


@pytest.mark.benchmark(group="obs-stage-timer")
def test_histogram_record_ns(benchmark: Any) -> None:
    histogram = Histogram()
    record = histogram.record_ns

    def recorded() -> None:
        for i in range(OPS):
            record(1_000_000 + i)

    benchmark(recorded)
    _record("Histogram.record_ns", benchmark)


@pytest.mark.benchmark(group="obs-stage-timer")
def test_reference_prometheus_client_histogram_observe(benchmark: Any) -> None:
    registry = prometheus_client.CollectorRegistry()
    histogram = prometheus_client.Histogram(
        "ref_seconds", "reference", ["ip", "leg"], registry=registry
    )
    child = histogram.labels(ip="127.0.0.2", leg="buy")

    def observed() -> None:
        for i in range(OPS):
            child.observe((1_000_000 + i) / 1e9)

    benchmark(observed)
    _record("prometheus_client Histogram.labels(...).observe (reference)", benchmark)


def test_report_overhead_ratios() -> None:
    """Print ns/op and the overhead over the bare pair (run after the benchmarks above)."""
    if "bare perf_counter_ns pair" not in _results:
        pytest.skip("run the whole file")
    bare = _results["bare perf_counter_ns pair"]
    loop = _results.get("empty loop", 0.0)
    print()
    print(f"{'operation':<62} {'ns/op':>8} {'× bare':>7} {'overhead ns':>12}")
    for name, ns in _results.items():
        print(f"{name:<62} {ns - loop:8.0f} {(ns - loop) / (bare - loop):7.2f} {ns - bare:12.0f}")
