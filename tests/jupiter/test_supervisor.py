"""Supervisor: readiness, health restarts, crash backoff, restart budget, stop, no orphans.

Timeouts in these configs are short; the tests wait on states and files with deadlines and
never assert on wall time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
import trio
from prometheus_client import CollectorRegistry

from galileo._config import Config
from galileo._secret import Secret
from galileo._solana import WSOL_MINT
from galileo.jupiter_binary import JupiterState, JupiterSupervisor, LaunchError, SupervisorFailed
from tests.jupiter.jupiter_support import (
    fake_executable,
    fast_process,
    launched_pids,
    process_gone,
    supervised_config,
)
from tests.ports import free_port

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
DEADLINE = 30


def supervisor_for(config: Config, registry: CollectorRegistry | None = None) -> JupiterSupervisor:
    supervisor = JupiterSupervisor(
        config,
        registry=registry,
        base_mints=[WSOL_MINT],
        rpc_url="http://127.0.0.1:9/",
        executable=fake_executable(),
        version="fake-1",
    )
    supervisor.ready_poll_interval_s = 0.05
    return supervisor


async def wait_for(predicate: object, *, what: str) -> None:
    """Poll a cheap condition (files written by another process) under a deadline."""
    assert callable(predicate)
    with trio.fail_after(DEADLINE):
        while not predicate():  # noqa: ASYNC110 - the condition lives in another process
            await trio.sleep(0.02)


def log_text(supervisor: JupiterSupervisor) -> str:
    return supervisor.log_path.read_text() if supervisor.log_path.exists() else ""


def launches(control_dir: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(control_dir.glob("launch-*.json"))]


async def test_ready_after_labels_and_a_trial_quote_then_stop_kills_the_child(
    tmp_path: Path, control_dir: Path
) -> None:
    secret_rpc = "http://127.0.0.1:9/secret-token-xyz"
    config = supervised_config(
        tmp_path,
        control_dir,
        rpc_url=Secret(secret_rpc),
        filter_markets_with_mints=[USDC],
        env={"FAKE_JUPITER_STARTUP_DELAY_S": "0.3"},
    )
    registry = CollectorRegistry()
    supervisor = supervisor_for(config, registry)
    assert supervisor.state is JupiterState.STOPPED

    async with trio.open_nursery() as nursery:
        with trio.fail_after(DEADLINE):
            url = await nursery.start(supervisor.run)
        assert url == f"http://127.0.0.1:{config.jupiter.launch.port}"
        # mypy keeps the STOPPED narrowing of the assert above across the await
        assert supervisor.state is JupiterState.READY  # type: ignore[comparison-overlap]
        [launch] = launches(control_dir)
        argv = launch["argv"]
        assert isinstance(argv, list)
        assert argv[argv.index("--filter-markets-with-mints") + 1] == f"{WSOL_MINT},{USDC}"
        assert "--rpc-url" not in argv  # a secret: in the environment, not on `ps`
        env = launch["env"]
        assert isinstance(env, dict)
        assert env["RPC_URL"] == secret_rpc
        child = int(str(launch["pid"]))

        status = supervisor.status()
        assert status["state"] == "ready"
        assert status["version"] == "fake-1"
        assert status["pid"] == child  # the binary itself, not its guard
        assert status["group_pid"] not in (None, child)
        assert status["uptime_s"] is not None
        assert secret_rpc not in str(status["command"])
        runtime = json.loads((tmp_path / "state" / "jupiter" / "runtime.json").read_text())
        assert runtime["state"] == "ready"
        assert runtime["supervisor_pid"] == os.getpid()
        assert registry.get_sample_value("galileo_jupiter_state", {"state": "ready"}) == 1
        assert registry.get_sample_value("galileo_jupiter_state", {"state": "starting"}) == 0
        assert registry.get_sample_value("galileo_jupiter_ready_seconds_count") == 1

        await wait_for(lambda: "GET /quote" in log_text(supervisor), what="trial quote logged")
        nursery.cancel_scope.cancel()

    assert process_gone(child)
    assert supervisor.state is JupiterState.STOPPED
    runtime = json.loads((tmp_path / "state" / "jupiter" / "runtime.json").read_text())
    assert runtime["state"] == "stopped"
    assert runtime["pid"] is None
    text = log_text(supervisor)
    assert "fake jupiter launch 1" in text
    assert "secret-token-xyz" not in text  # the child printed it; the log has it redacted


async def test_not_ready_while_labels_are_empty_or_the_trial_quote_fails(
    tmp_path: Path, control_dir: Path
) -> None:
    (control_dir / "empty_labels").touch()
    config = supervised_config(tmp_path, control_dir, filter_markets_with_mints=[USDC])
    supervisor = supervisor_for(config)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(supervisor.run)
        await wait_for(
            lambda: log_text(supervisor).count("GET /program-id-to-label") >= 2, what="probes"
        )
        assert supervisor.state is JupiterState.STARTING

        (control_dir / "fail_quote").touch()
        (control_dir / "empty_labels").unlink()
        await wait_for(lambda: log_text(supervisor).count("GET /quote") >= 2, what="quotes")
        assert supervisor.state is JupiterState.STARTING

        (control_dir / "fail_quote").unlink()
        with trio.fail_after(DEADLINE):
            await supervisor.wait_state(JupiterState.READY)
        nursery.cancel_scope.cancel()

    assert supervisor.status()["restarts"] == 0


async def test_consecutive_failed_health_checks_restart_the_child(
    tmp_path: Path, control_dir: Path
) -> None:
    registry = CollectorRegistry()
    config = supervised_config(tmp_path, control_dir)
    supervisor = supervisor_for(config, registry)

    async with trio.open_nursery() as nursery:
        with trio.fail_after(DEADLINE):
            await nursery.start(supervisor.run)
            (control_dir / "unhealthy").touch()
            await supervisor.wait_state(JupiterState.UNHEALTHY)
            await supervisor.wait_state(JupiterState.RESTARTING)
            (control_dir / "unhealthy").unlink()
            await supervisor.wait_state(JupiterState.READY)
        status = supervisor.status()
        assert status["restarts"] == 1
        assert status["restart_reasons"]["unhealthy"] == 1
        assert status["last_health_check"] is not None
        nursery.cancel_scope.cancel()

    first, second = launched_pids(control_dir)
    assert process_gone(first) and process_gone(second)
    assert registry.get_sample_value("galileo_jupiter_restarts_total", {"reason": "unhealthy"}) == 1
    assert (
        registry.get_sample_value("galileo_jupiter_health_check_seconds_count", {"result": "fail"})
        == 2
    )


async def test_crashes_are_restarted_with_exponential_backoff(
    tmp_path: Path, control_dir: Path
) -> None:
    registry = CollectorRegistry()
    config = supervised_config(tmp_path, control_dir, env={"FAKE_JUPITER_CRASHES": "3"})
    supervisor = supervisor_for(config, registry)

    async with trio.open_nursery() as nursery:
        with trio.fail_after(DEADLINE):
            await nursery.start(supervisor.run)
        nursery.cancel_scope.cancel()

    assert list(supervisor.restart_delays) == [0.05, 0.1, 0.2]  # doubling, capped at max
    assert supervisor.status()["restart_reasons"]["crash"] == 3
    assert registry.get_sample_value("galileo_jupiter_restarts_total", {"reason": "crash"}) == 3
    assert all(process_gone(pid) for pid in launched_pids(control_dir))


async def test_too_many_restarts_in_the_window_fail_with_the_last_output(
    tmp_path: Path, control_dir: Path
) -> None:
    registry = CollectorRegistry()
    config = supervised_config(
        tmp_path,
        control_dir,
        process=fast_process(max_restarts=2),
        env={"FAKE_JUPITER_CRASHES": "100"},
    )
    supervisor = supervisor_for(config, registry)

    with trio.fail_after(DEADLINE), pytest.raises(SupervisorFailed) as caught:
        await supervisor.run()

    assert "3 restarts within 600s (max_restarts 2)" in str(caught.value)
    assert "crashing on purpose" in str(caught.value)
    assert supervisor.state is JupiterState.FAILED
    assert registry.get_sample_value("galileo_jupiter_state", {"state": "failed"}) == 1
    assert len(launched_pids(control_dir)) == 3
    runtime = json.loads((tmp_path / "state" / "jupiter" / "runtime.json").read_text())
    assert runtime["state"] == "failed"


async def test_a_crash_after_ready_is_restarted(tmp_path: Path, control_dir: Path) -> None:
    config = supervised_config(
        tmp_path, control_dir, process=fast_process(unhealthy_restart_after=50)
    )
    supervisor = supervisor_for(config)

    async with trio.open_nursery() as nursery:
        with trio.fail_after(DEADLINE):
            await nursery.start(supervisor.run)
            (control_dir / "die").touch()
            await supervisor.wait_state(JupiterState.RESTARTING)
            (control_dir / "die").unlink()
            await supervisor.wait_state(JupiterState.READY)
        assert supervisor.status()["restart_reasons"]["crash"] == 1
        assert supervisor.status()["last_exit_code"] == 3
        nursery.cancel_scope.cancel()


async def test_not_ready_within_the_startup_deadline_counts_as_a_failed_start(
    tmp_path: Path, control_dir: Path
) -> None:
    config = supervised_config(
        tmp_path,
        control_dir,
        process=fast_process(startup_timeout_s=1.0, max_restarts=1),
        env={"FAKE_JUPITER_STARTUP_DELAY_S": "600"},
    )
    supervisor = supervisor_for(config)

    with trio.fail_after(DEADLINE), pytest.raises(SupervisorFailed, match="startup_timeout"):
        await supervisor.run()

    assert supervisor.status()["restart_reasons"]["startup_timeout"] == 2
    assert all(process_gone(pid) for pid in launched_pids(control_dir))


async def test_scheduled_restarts_do_not_spend_the_restart_budget(
    tmp_path: Path, control_dir: Path
) -> None:
    config = supervised_config(tmp_path, control_dir, process=fast_process(max_restarts=1))
    supervisor = supervisor_for(config)
    supervisor.scheduled_restart_s = 0.3  # the config unit is minutes; shortened for the test

    async with trio.open_nursery() as nursery:
        with trio.fail_after(DEADLINE):
            await nursery.start(supervisor.run)
            for _ in range(3):
                await supervisor.wait_state(JupiterState.RESTARTING)
                await supervisor.wait_state(JupiterState.READY)
        assert supervisor.status()["restart_reasons"]["scheduled"] >= 3
        nursery.cancel_scope.cancel()

    assert list(supervisor.restart_delays) == []  # scheduled restarts do not back off


async def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, control_dir: Path
) -> None:
    (control_dir / "ignore_sigterm").touch()
    config = supervised_config(tmp_path, control_dir, process=fast_process(stop_grace_s=0.3))
    supervisor = supervisor_for(config)

    async with trio.open_nursery() as nursery:
        with trio.fail_after(DEADLINE):
            await nursery.start(supervisor.run)
        nursery.cancel_scope.cancel()

    [child] = launched_pids(control_dir)
    assert process_gone(child)


async def test_an_exception_elsewhere_stops_the_child(tmp_path: Path, control_dir: Path) -> None:
    supervisor = supervisor_for(supervised_config(tmp_path, control_dir))

    with pytest.raises(ExceptionGroup) as caught:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(DEADLINE):
                await nursery.start(supervisor.run)
            raise RuntimeError("boom")

    assert caught.group_contains(RuntimeError, match="boom")
    [child] = launched_pids(control_dir)
    assert process_gone(child)


async def test_the_child_dies_when_galileo_is_killed(tmp_path: Path, control_dir: Path) -> None:
    port = free_port()
    runner = Path(__file__).with_name("run_supervisor.py")
    runtime = tmp_path / "state" / "jupiter" / "runtime.json"
    proc = await trio.lowlevel.open_process(
        [sys.executable, str(runner), str(tmp_path / "state"), str(control_dir), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def ready() -> bool:
            try:
                state: str = json.loads(runtime.read_text())["state"]
                return state == "ready"
            except (OSError, ValueError):
                return False

        await wait_for(ready, what="supervisor ready")
        [child] = launched_pids(control_dir)
        assert not process_gone(child)

        proc.send_signal(signal.SIGKILL)  # no cleanup code of galileo runs
        await proc.wait()
        await wait_for(lambda: process_gone(child), what="orphan gone")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_busy_port_is_refused_before_launching(tmp_path: Path, control_dir: Path) -> None:
    config = supervised_config(tmp_path, control_dir)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", config.jupiter.launch.port))
        busy.listen()
        supervisor = supervisor_for(config)
        with trio.fail_after(DEADLINE), pytest.raises(LaunchError, match="already listens"):
            await supervisor.run()

    assert launched_pids(control_dir) == []


def test_status_works_outside_trio(tmp_path: Path, control_dir: Path) -> None:
    supervisor = supervisor_for(supervised_config(tmp_path, control_dir))
    status = supervisor.status()
    assert status["state"] == "stopped"
    assert status["uptime_s"] is None
    assert attrs.has(type(supervisor)) is False


async def test_a_missing_executable_is_refused_without_restarts(
    tmp_path: Path, control_dir: Path
) -> None:
    config = supervised_config(tmp_path, control_dir)
    config = attrs.evolve(
        config, jupiter=attrs.evolve(config.jupiter, path=str(tmp_path / "nowhere"))
    )
    supervisor = JupiterSupervisor(config, rpc_url="http://127.0.0.1:9/")

    with trio.fail_after(DEADLINE), pytest.raises(LaunchError, match="cannot execute"):
        await supervisor.run()

    assert supervisor.status()["restarts"] == 0
