"""A warning repeated in a burst is written a few times per window, the rest are counted,
and the first one of the next window says how many were held back; errors always pass."""

from __future__ import annotations

import io
import json
import logging

from galileo._config import LoggingConfig
from galileo.obs import configure_logging
from galileo.obs._logging import reset_logging
from galileo.obs._repeat import REPEAT_BURST, RepeatFilter


def _record(msg: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("galileo.test", level, __file__, 1, msg, None, None)


def test_the_same_warning_is_written_burst_times_per_window_then_counted() -> None:
    now = [0.0]
    repeats = RepeatFilter(burst=3, window_s=10.0, clock=lambda: now[0])

    kept = [repeats.filter(_record("malformed response")) for _ in range(10)]

    assert kept == [True] * 3 + [False] * 7
    assert repeats.held_back == 7
    assert repeats.filter(_record("another warning"))  # its own budget
    now[0] = 10.0
    first = _record("malformed response")
    assert repeats.filter(first)
    assert first.fields == {"repeats_held_back": 7}  # type: ignore[attr-defined]


def test_errors_are_never_held_back() -> None:
    repeats = RepeatFilter(burst=1)
    assert all(repeats.filter(_record("boom", logging.ERROR)) for _ in range(10))


def test_one_decision_per_record_across_handlers() -> None:
    repeats = RepeatFilter(burst=1)
    record = _record("twice")
    assert repeats.filter(record) and repeats.filter(record)  # second handler, same record
    again = _record("twice")
    assert not repeats.filter(again) and not repeats.filter(again)
    assert repeats.held_back == 1


def test_the_app_log_holds_back_a_flood_of_one_warning() -> None:
    out = io.StringIO()
    configure_logging(LoggingConfig(format="json"), stream=out)
    try:
        log = logging.getLogger("galileo.providers")
        for i in range(200):
            log.warning("malformed response", extra={"fields": {"n": i}})
        log.error("an error")
    finally:
        reset_logging()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["malformed response"] * REPEAT_BURST + ["an error"]
