"""The event trace: JSONL keyed by opportunity id, ints kept, flushed per line, replayable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from galileo._secret import Secret
from galileo.obs import EventTrace, TraceFormatError, read_trace

TOKEN = "sk_live_9f8e7d6c5b4a"


def test_events_round_trip_in_order_and_filter_by_id(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    with EventTrace(path, clock=lambda: 1_700_000_000.25) as trace:
        trace.emit("opp-1", "quoted", ip="127.0.0.2", in_amount=1_000_000_000, out_amount=10**19)
        trace.emit("opp-2", "skipped", reason="min_profit")
        trace.emit("opp-1", "landed", bundle="b1", profit_lamports=-5_000)
    events = read_trace(path)
    assert [(e["id"], e["event"]) for e in events] == [
        ("opp-1", "quoted"),
        ("opp-2", "skipped"),
        ("opp-1", "landed"),
    ]
    first = events[0]
    assert first["ts"] == "2023-11-14T22:13:20.250000+00:00"
    assert first["out_amount"] == 10**19 and isinstance(first["out_amount"], int)
    assert [e["event"] for e in read_trace(path, id="opp-1")] == ["quoted", "landed"]


@given(st.integers(min_value=-(2**127), max_value=2**127))
def test_integers_of_any_size_stay_exact_integers(
    tmp_path_factory: pytest.TempPathFactory, amount: int
) -> None:
    path = tmp_path_factory.mktemp("trace") / "t.jsonl"
    with EventTrace(path) as trace:
        trace.emit("o", "amount", value=amount)
    (event,) = read_trace(path)
    assert event["value"] == amount and type(event["value"]) is int


def test_each_line_is_on_disk_as_soon_as_emit_returns(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = EventTrace(path)
    trace.emit("opp-1", "quoted")
    # Read through a separate handle while the trace is still open (no close, no flush).
    assert json.loads(path.read_text())["event"] == "quoted"
    trace.close()


def test_appending_keeps_earlier_runs(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    with EventTrace(path) as trace:
        trace.emit("a", "one")
    with EventTrace(path) as trace:
        trace.emit("b", "two")
    assert [e["id"] for e in read_trace(path)] == ["a", "b"]


def test_a_torn_last_line_is_skipped_but_a_bad_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    with EventTrace(path) as trace:
        trace.emit("a", "one")
    with path.open("a") as raw:
        raw.write('{"ts":"x","id":"a","ev')
    assert [e["event"] for e in read_trace(path)] == ["one"]
    with path.open("a") as raw:
        raw.write("\n")
    with EventTrace(path) as trace:
        trace.emit("a", "two")
    with pytest.raises(TraceFormatError, match=":2:"):
        read_trace(path)


def test_no_path_means_a_no_op_sink(tmp_path: Path) -> None:
    for off in (None, ""):
        trace = EventTrace(off)
        assert not trace.enabled
        trace.emit("a", "ignored", value=1)
        trace.close()
    assert list(tmp_path.iterdir()) == []


def test_reserved_keys_cannot_be_fields(tmp_path: Path) -> None:
    with EventTrace(tmp_path / "t.jsonl") as trace, pytest.raises(ValueError, match="ts"):
        trace.emit("a", "e", ts="later")


def test_secrets_and_odd_values_are_made_safe(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    url = f"https://rpc.example.com/?api-key={TOKEN}"
    with EventTrace(path, secrets=[Secret(url)]) as trace:
        trace.emit("a", "sent", endpoint=url, secret=Secret(url), ips={"127.0.0.3", "127.0.0.2"})
    assert TOKEN not in path.read_text()
    (event,) = read_trace(path)
    assert event["endpoint"] == "https://rpc.example.com/***"
    assert event["ips"] == ["127.0.0.2", "127.0.0.3"]
