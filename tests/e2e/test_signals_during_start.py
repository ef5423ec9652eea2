"""Stopping is honoured in every phase of ``galileo run``, measured on a real process: a
SIGTERM while Jupiter is still starting (here: never gets ready) ends the run within seconds
with a summary; so does ``--duration``; and Jupiter giving up once the run is trading drains
it, writes the summary and exits 3 with one line."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port

EXIT_WITHIN_S = 5.0
NEVER_READY = {"GALILEO_SIM__STARTUP_DELAY_S": "3600"}  # the Jupiter face sleeps before serving


def galileo_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALILEO_")}
    env.update(
        GALILEO_METRICS__PORT="0",
        GALILEO_SIM__RPC_PORT="0",
        GALILEO_SIM__JITO_PORT="0",
        GALILEO_JUPITER__LAUNCH__PORT=str(free_port()),
        GALILEO_LOGGING__FORMAT="json",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def galileo_run(tmp_path: Path, env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    """``python -m galileo run ARGS --summary-json summary.json`` in ``tmp_path``; killed on
    the way out whatever happened."""
    process = subprocess.Popen(
        [sys.executable, "-m", "galileo", "run", "--summary-json", "summary.json", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        process.kill()
        process.communicate()


def wait_for_event(process: subprocess.Popen[str], event: str) -> list[str]:
    """Read the JSON log on stderr until ``event``; the lines read."""
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        with contextlib.suppress(ValueError):
            if json.loads(line).get("event") == event:
                return lines
    raise AssertionError(f"{event!r} never logged:\n{''.join(lines)}")


@pytest.mark.slow
def test_sigterm_while_jupiter_never_gets_ready_exits_within_seconds_with_a_summary(
    tmp_path: Path,
) -> None:
    with galileo_run(tmp_path, galileo_env(**NEVER_READY)) as process:
        wait_for_event(process, "jupiter spawned")
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=60)
        exit_s = time.monotonic() - signalled
    print(f"SIGTERM while Jupiter starts: exited {exit_s:.2f} s after the signal")
    assert process.returncode == 0
    assert exit_s < EXIT_WITHIN_S
    assert "stopped: SIGTERM" in stdout
    assert json.loads((tmp_path / "summary.json").read_text())["stop_reason"] == "SIGTERM"


@pytest.mark.slow
def test_duration_ends_a_run_whose_jupiter_never_gets_ready(tmp_path: Path) -> None:
    started = time.monotonic()
    with galileo_run(tmp_path, galileo_env(**NEVER_READY), "--duration", "2") as process:
        stdout, _ = process.communicate(timeout=60)
    elapsed = time.monotonic() - started
    print(f"--duration 2 with Jupiter never ready: exited after {elapsed:.2f} s")
    assert process.returncode == 0
    assert elapsed < 2 + EXIT_WITHIN_S
    assert "stopped: duration elapsed while starting" in stdout
    assert (tmp_path / "summary.json").exists()


@pytest.mark.slow
def test_jupiter_giving_up_drains_writes_the_summary_and_exits_3_with_one_line(
    tmp_path: Path,
) -> None:
    env = galileo_env(
        # The Jupiter face exits after 300 requests, each time; one restart is allowed.
        GALILEO_SIM__JUPITER_FAULTS__CRASH_AFTER_REQUESTS="300",
        GALILEO_JUPITER__PROCESS__MAX_RESTARTS="1",
        GALILEO_JUPITER__PROCESS__RESTART_BACKOFF_INITIAL_S="0.2",
    )
    with galileo_run(tmp_path, env) as process:
        wait_for_event(process, "running")
        stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 3, stderr
    assert "Traceback" not in stderr
    failures = [line for line in stderr.splitlines() if line.startswith("galileo run: ")]
    assert len(failures) == 1
    assert "jupiter-swap-api gave up" in failures[0]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stop_reason"].startswith("failed: jupiter-swap-api gave up")
    assert "stopped: failed: jupiter-swap-api gave up" in stdout
    assert summary["ledger"]["by_status"].get("submitted", 0) == 0  # drained: none in flight
