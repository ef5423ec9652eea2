"""The stage recorder: timing blocks, label declarations, merging, the JSON summary and the
Prometheus export."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
import trio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from galileo.obs import (
    RELATIVE_ERROR,
    STAGE_ERRORS_METRIC,
    STAGE_METRIC,
    SUMMARY_SCHEMA,
    Histogram,
    Recorder,
    StageLabelsError,
)
from tests.obs.fake_clock import FakeClock


def samples_of(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_a_stage_block_records_its_duration_from_the_injected_clock(clock: FakeClock) -> None:
    recorder = Recorder(clock=clock)
    with recorder.stage("evaluate") as timer:
        clock.advance(2_500)
        assert timer.elapsed_ns == 2_500
    histogram = recorder.histogram("evaluate")
    assert histogram.count == 1
    assert histogram.sum_ns == 2_500


def test_a_block_that_raises_is_still_timed_and_counted_as_an_error(clock: FakeClock) -> None:
    recorder = Recorder(clock=clock)
    with pytest.raises(RuntimeError), recorder.stage("send"):
        clock.advance(7_000)
        raise RuntimeError("boom")
    stage = recorder.summary()["stages"]["send"]
    assert stage["total"]["count"] == 1
    assert stage["total"]["errors"] == 1


async def test_a_deadline_firing_inside_the_block_counts_as_an_error(clock: FakeClock) -> None:
    recorder = Recorder(clock=clock)
    with trio.move_on_after(0):
        with recorder.stage("quote"):
            await trio.sleep_forever()
    assert recorder.summary()["stages"]["quote"]["total"]["errors"] == 1


def test_observe_records_durations_measured_elsewhere() -> None:
    recorder = Recorder()
    recorder.observe("land", 0.4)
    recorder.observe("land", 0.6)
    recorder.observe_ns("land", 500_000_000)
    histogram = recorder.histogram("land")
    assert histogram.count == 3
    assert histogram.sum_ns == 1_500_000_000


def test_a_stage_with_labels_must_be_declared_first() -> None:
    recorder = Recorder()
    with pytest.raises(StageLabelsError, match=r"declare_stage\('quote'"):
        recorder.observe("quote", 0.1, ip="127.0.0.2")


def test_a_declared_stage_needs_exactly_its_labels_in_any_order() -> None:
    recorder = Recorder()
    recorder.declare_stage("quote", labels=("ip", "leg"))
    recorder.observe("quote", 0.1, ip="127.0.0.2", leg="buy")
    recorder.observe("quote", 0.3, leg="buy", ip="127.0.0.2")
    assert recorder.histogram("quote", ip="127.0.0.2", leg="buy").count == 2
    with pytest.raises(StageLabelsError, match="takes labels"):
        recorder.observe("quote", 0.1, ip="127.0.0.2")
    with pytest.raises(StageLabelsError, match="takes labels"):
        recorder.observe("quote", 0.1)
    with pytest.raises(StageLabelsError, match="takes labels"):
        recorder.observe("quote", 0.1, ip="x", leg="buy", extra="no")


def test_label_values_must_be_strings_or_string_enums() -> None:
    class Leg(enum.Enum):
        BUY = "buy"

    recorder = Recorder()
    recorder.declare_stage("quote", labels=("leg",))
    recorder.observe("quote", 0.1, leg=Leg.BUY)  # type: ignore[arg-type]
    assert recorder.histogram("quote", leg="buy").count == 1
    with pytest.raises(StageLabelsError, match="must be a str"):
        recorder.observe("quote", 0.1, leg=3)  # type: ignore[arg-type]


def test_redeclaring_identically_is_fine_but_changing_labels_is_refused() -> None:
    recorder = Recorder()
    first = recorder.declare_stage("quote", labels=("ip", "leg"), doc="Quote latency.")
    assert recorder.declare_stage("quote", labels=("ip", "leg")) == first
    with pytest.raises(StageLabelsError, match="already declared"):
        recorder.declare_stage("quote", labels=("ip",))
    recorder.observe("build", 0.1)
    with pytest.raises(StageLabelsError, match="already declared"):
        recorder.declare_stage("build", labels=("kind",))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("Quote", {}),
        ("quote-latency", {}),
        ("quote", {"labels": ("le",)}),
        ("quote", {"labels": ("stage",)}),
        ("quote", {"labels": ("ip", "ip")}),
        ("quote", {"metric": "galileo_stage_seconds"}),
        ("quote", {"buckets": (1.0, 0.5)}),
    ],
)
def test_invalid_declarations_are_refused(name: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(StageLabelsError):
        Recorder().declare_stage(name, **kwargs)


def test_the_series_handle_skips_the_lookup_and_feeds_the_same_histogram(clock: FakeClock) -> None:
    recorder = Recorder(clock=clock)
    recorder.declare_stage("quote", labels=("ip", "leg"))
    series = recorder.series("quote", ip="127.0.0.2", leg="sell")
    with series.time():
        clock.advance(1_000)
    series.observe(0.000_002)
    assert recorder.histogram("quote", leg="sell", ip="127.0.0.2").sum_ns == 3_000


def fill(recorder: Recorder, values_ns: list[int], ip: str) -> None:
    recorder.declare_stage("quote", labels=("ip", "leg"))
    for value in values_ns:
        recorder.observe_ns("quote", value, ip=ip, leg="buy")
        recorder.observe_ns("evaluate", value // 100)


def test_merging_recorders_equals_recording_everything_into_one() -> None:
    worker_a, worker_b, single = Recorder(), Recorder(), Recorder()
    fill(worker_a, [1_000_000, 2_000_000], "127.0.0.2")
    fill(worker_b, [3_000_000, 9_000_000], "127.0.0.3")
    fill(worker_b, [4_000_000], "127.0.0.2")
    fill(single, [1_000_000, 2_000_000], "127.0.0.2")
    fill(single, [3_000_000, 9_000_000], "127.0.0.3")
    fill(single, [4_000_000], "127.0.0.2")
    worker_a.merge(worker_b)
    assert worker_a.summary(buckets=True) == single.summary(buckets=True)


def test_a_summary_with_buckets_merges_across_runs_through_json() -> None:
    first_run, second_run, both = Recorder(), Recorder(), Recorder()
    fill(first_run, [1_000_000, 5_000_000], "127.0.0.2")
    fill(second_run, [2_000_000], "127.0.0.3")
    fill(both, [1_000_000, 5_000_000], "127.0.0.2")
    fill(both, [2_000_000], "127.0.0.3")
    combined = Recorder()
    for run in (first_run, second_run):
        combined.merge_summary(json.loads(json.dumps(run.summary(buckets=True))))
    assert combined.summary(buckets=True) == both.summary(buckets=True)


def test_merging_a_summary_without_buckets_is_refused() -> None:
    run = Recorder()
    run.observe("evaluate", 0.1)
    with pytest.raises(ValueError, match="without buckets"):
        Recorder().merge_summary(run.summary())


def test_the_summary_has_the_documented_json_shape() -> None:
    recorder = Recorder()
    recorder.declare_stage("quote", labels=("ip", "leg"))
    for ms in range(1, 101):
        recorder.observe("quote", ms / 1000, ip="127.0.0.2", leg="buy")
    recorder.observe("quote", 0.5, ip="127.0.0.3", leg="sell")
    recorder.observe("evaluate", 0.000_010)
    summary = json.loads(json.dumps(recorder.summary()))
    assert summary["schema"] == SUMMARY_SCHEMA
    assert summary["unit"] == "seconds"
    assert summary["relative_error"] == RELATIVE_ERROR
    assert list(summary["stages"]) == ["evaluate", "quote"]
    quote = summary["stages"]["quote"]
    assert quote["labels"] == ["ip", "leg"]
    assert quote["metric"] == "galileo_quote_latency_seconds"
    stat_keys = {"count", "errors", "sum", "mean", "min", "p50", "p95", "p99", "max"}
    assert set(quote["total"]) == stat_keys
    assert quote["total"]["count"] == 101
    assert quote["total"]["max"] == 0.5
    assert [s["labels"] for s in quote["series"]] == [
        {"ip": "127.0.0.2", "leg": "buy"},
        {"ip": "127.0.0.3", "leg": "sell"},
    ]
    buy = quote["series"][0]
    assert set(buy) == stat_keys | {"labels"}
    assert buy["p50"] == pytest.approx(0.0505, rel=RELATIVE_ERROR)
    assert buy["p99"] == pytest.approx(0.09901, rel=RELATIVE_ERROR)
    assert summary["stages"]["evaluate"]["metric"] is None
    assert summary["stages"]["evaluate"]["series"][0]["labels"] == {}


def test_prometheus_export_has_the_stage_histogram_and_the_declared_metric() -> None:
    registry = CollectorRegistry()
    recorder = Recorder(registry)
    recorder.declare_stage("quote", labels=("ip", "leg"))
    for ms in (1, 2, 3, 400):
        recorder.observe("quote", ms / 1000, ip="127.0.0.2", leg="buy")
    recorder.observe("quote", 0.002, ip="127.0.0.3", leg="sell")
    with pytest.raises(ZeroDivisionError), recorder.stage("evaluate"):
        1 / 0  # noqa: B018
    found = samples_of(registry)
    assert found[f"{STAGE_METRIC}_count", (("stage", "quote"),)] == 5
    assert found[f"{STAGE_METRIC}_bucket", (("le", "0.005"), ("stage", "quote"))] == 4
    assert found[f"{STAGE_METRIC}_bucket", (("le", "+Inf"), ("stage", "quote"))] == 5
    assert found[f"{STAGE_METRIC}_sum", (("stage", "quote"),)] == pytest.approx(0.408)
    assert found[STAGE_ERRORS_METRIC, (("stage", "evaluate"),)] == 1
    assert found[STAGE_ERRORS_METRIC, (("stage", "quote"),)] == 0
    buy = (("ip", "127.0.0.2"), ("leg", "buy"))
    assert found["galileo_quote_latency_seconds_count", buy] == 4
    assert found["galileo_quote_latency_seconds_bucket", (*buy[:1], ("le", "0.0025"), buy[1])] == 2


def test_a_declared_stage_may_choose_its_metric_name_and_buckets() -> None:
    registry = CollectorRegistry()
    recorder = Recorder(registry)
    recorder.declare_stage(
        "send", labels=("lander",), metric="galileo_lander_send_seconds", buckets=(0.1, 1.0)
    )
    recorder.observe("send", 0.05, lander="jito")
    found = samples_of(registry)
    assert found["galileo_lander_send_seconds_bucket", (("lander", "jito"), ("le", "0.1"))] == 1
    assert ("galileo_lander_send_seconds_bucket", (("lander", "jito"), ("le", "0.25"))) not in found


def test_stage_histograms_agree_with_a_histogram_fed_directly() -> None:
    recorder = Recorder()
    direct = Histogram()
    for ns in (10, 1_000, 123_456, 9_999_999):
        recorder.observe_ns("sign", ns)
        direct.record_ns(ns)
    assert recorder.histogram("sign") == direct
