"""Rotation: the log file and the event trace stay within their disk budget — rotated at
their size limit, a kept count of old files, no line split, every file owner-only — and the
journald console mode writes one priority-prefixed line per event without a timestamp."""

from __future__ import annotations

import io
import json
import logging
import stat
from pathlib import Path

from galileo._config import LoggingConfig
from galileo.obs import EventTrace, configure_logging
from galileo.obs._logging import reset_logging


def test_the_trace_rotates_at_its_size_keeping_its_backups(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    with EventTrace(path, max_bytes=2_000, backups=2) as trace:
        for i in range(200):
            trace.emit(f"opp-{i}", "received", size=1_000_000_000, n=i)

    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["trace.jsonl", "trace.jsonl.1", "trace.jsonl.2"]
    for file in files:
        assert file.stat().st_size <= 2_000
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        lines = file.read_text().splitlines()
        assert all(json.loads(line)["event"] == "received" for line in lines)  # none split
    newest = [json.loads(line)["n"] for line in path.read_text().splitlines()]
    assert newest[-1] == 199


def test_the_log_file_rotates_and_keeps_its_count(tmp_path: Path) -> None:
    path = tmp_path / "galileo.log"
    config = LoggingConfig(file=str(path), file_max_bytes=1_000, file_backups=2, format="json")
    configure_logging(config, stream=io.StringIO())
    try:
        log = logging.getLogger("galileo.test")
        for i in range(100):
            log.info("event", extra={"fields": {"n": i}})
    finally:
        reset_logging()
    names = sorted(f.name for f in tmp_path.iterdir())
    assert names == ["galileo.log", "galileo.log.1", "galileo.log.2"]
    assert all(stat.S_IMODE((tmp_path / n).stat().st_mode) == 0o600 for n in names)


def test_journald_mode_prefixes_the_priority_and_writes_no_time() -> None:
    out = io.StringIO()
    configure_logging(LoggingConfig(format="journald"), stream=out)
    try:
        logging.getLogger("galileo.test").warning(
            "lander rate limited", extra={"fields": {"ip": "x"}}
        )
        logging.getLogger("galileo.test").info("ready")
    finally:
        reset_logging()
    assert out.getvalue().splitlines() == [
        "<4>galileo.test lander rate limited ip=x",
        "<6>galileo.test ready",
    ]
