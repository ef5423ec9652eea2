"""``galileo run``: serves metrics while running, stops on a signal or a duration, always
ends with a summary."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from galileo._app import App, RunOptions
from tests.ports import free_port
from tests.worlds import quiet_config


async def test_metrics_are_served_while_running(tmp_path: Path) -> None:
    app = App(quiet_config(tmp_path), RunOptions(), out=io.StringIO())
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app.run)
        with trio.fail_after(10):
            await app.running.wait()
        async with httpx.AsyncClient(base_url=app.metrics.url) as client:
            metrics = await client.get("/metrics")
            health = await client.get("/health")
            status = await client.get("/status")
        nursery.cancel_scope.cancel()
    assert metrics.status_code == 200
    assert "galileo_build_info" in metrics.text
    assert health.status_code == 200
    assert status.json()["state"] == "running"
    assert status.json()["jupiter"]["state"] == "ready"


async def test_a_bounded_run_writes_its_summary_even_when_it_ends_while_starting(
    tmp_path: Path,
) -> None:
    # Real time on purpose: the run supervises a child process, which a jumping clock would
    # declare dead before it could start. 0.5 s is shorter than Jupiter takes to get ready:
    # the duration ends the start itself.
    out = io.StringIO()
    summary_path = tmp_path / "summary.json"
    options = RunOptions(duration_s=0.5, summary_json=str(summary_path))
    summary = await App(quiet_config(tmp_path), options, out=out).run()
    reason = "duration elapsed while starting"
    assert summary["stop_reason"] == reason
    assert json.loads(summary_path.read_text())["stop_reason"] == reason
    assert f"stopped: {reason}" in out.getvalue()


@contextlib.contextmanager
def running_galileo(
    tmp_path: Path, *args: str
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """``python -m galileo run ARGS`` on free ports, yielded once it logs "running" (read
    from its log, not waited for by sleeping); killed on the way out whatever happened."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALILEO_")}
    env.update(
        GALILEO_METRICS__PORT="0",
        GALILEO_SIM__RPC_PORT="0",
        GALILEO_SIM__JITO_PORT="0",
        GALILEO_JUPITER__LAUNCH__PORT=str(free_port()),
        GALILEO_LOGGING__FORMAT="json",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "galileo", "run", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if json.loads(line).get("event") == "running":
                break
        yield proc, env
    finally:
        proc.kill()
        proc.communicate()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_the_process_cleanly_with_a_summary(
    tmp_path: Path, signum: signal.Signals
) -> None:
    with running_galileo(tmp_path) as (proc, _):
        proc.send_signal(signum)
        stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert f"stopped: {signum.name}" in stdout


def test_galileo_stop_ends_a_running_instance_with_a_summary(tmp_path: Path) -> None:
    with running_galileo(tmp_path, "--summary-json", "summary.json") as (proc, env):
        stop = subprocess.run(
            [sys.executable, "-m", "galileo", "stop", "--reason", "test"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert stop.returncode == 0, stop.stderr
        stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "stopped: galileo stop" in stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stop_reason"] == "galileo stop"
    assert summary["ledger"] is not None
