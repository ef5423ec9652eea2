"""The kill switch: operator pause/resume/stop through files, seen by a running gate."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import trio

from galileo._config_load import load_config
from galileo.cli import main
from galileo.risk import (
    Allow,
    PauseCause,
    RiskControl,
    RiskGate,
    Skip,
    SkipReason,
)
from tests.risk.risk_helpers import Metrics, RiskConfigFactory

SIZE = 500_000_000
PROFIT = 50_000


def decision(gate: RiskGate) -> Allow | Skip:
    return gate.check(size=SIZE, expected_profit=PROFIT)


async def test_the_pause_file_pauses_sending_within_the_poll_interval(
    risk_config: RiskConfigFactory,
    control: RiskControl,
    metrics: Metrics,
    mock_clock: trio.testing.MockClock,
) -> None:
    gate = RiskGate(risk_config(), control=control, metrics=metrics.risk)
    assert decision(gate) == Allow()
    control.pause("deploying a new key")
    # Looked at no more than every 0.25 s: the cached answer still holds just after.
    mock_clock.jump(0.2)
    assert decision(gate) == Allow()
    mock_clock.jump(0.05)
    assert decision(gate) == Skip(SkipReason.PAUSED)
    assert gate.blocked() is SkipReason.PAUSED
    state = gate.state()
    assert state.causes == (PauseCause.OPERATOR,)
    assert state.operator_reason == "deploying a new key"
    assert (metrics.paused(), metrics.pauses("operator"), metrics.skips("paused")) == (1, 1, 1)

    note = control.resume()
    assert note is not None and note.reason == "deploying a new key"
    mock_clock.jump(0.25)
    assert decision(gate) == Allow()
    assert metrics.paused() == 0


async def test_a_touched_or_hand_written_file_also_pauses(
    risk_config: RiskConfigFactory, control: RiskControl, mock_clock: trio.testing.MockClock
) -> None:
    gate = RiskGate(risk_config(), control=control)
    control.pause_file.parent.mkdir(parents=True, exist_ok=True)
    control.pause_file.write_text("rpc provider incident\n")
    assert decision(gate) == Skip(SkipReason.PAUSED)
    assert gate.state().operator_reason == "rpc provider incident"
    control.pause_file.unlink()
    control.pause_file.touch()
    assert control.pause_note() is not None


async def test_risk_kill_switch_file_is_watched_without_a_control(
    risk_config: RiskConfigFactory, tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    switch = tmp_path / "KILL"
    gate = RiskGate(risk_config(kill_switch_file=str(switch)))
    assert decision(gate) == Allow()
    switch.touch()
    mock_clock.jump(0.25)
    assert decision(gate) == Skip(SkipReason.PAUSED)


async def test_the_configured_kill_switch_file_is_the_pause_file(tmp_path: Path) -> None:
    control = RiskControl.for_state_dir(tmp_path, kill_switch_file=str(tmp_path / "KILL"))
    assert control.pause_file == tmp_path / "KILL"
    assert control.stop_file == tmp_path / "STOP"
    assert RiskControl.for_state_dir(tmp_path).pause_file == tmp_path / "PAUSE"


async def test_stop_stops_sending_for_good_and_signals_the_app(
    risk_config: RiskConfigFactory,
    control: RiskControl,
    metrics: Metrics,
    mock_clock: trio.testing.MockClock,
) -> None:
    gate = RiskGate(risk_config(), control=control, metrics=metrics.risk)
    assert decision(gate) == Allow()
    control.request_stop("end of experiment")
    mock_clock.jump(0.25)
    assert decision(gate) == Skip(SkipReason.STOPPED)
    assert gate.stop_requested.is_set()
    assert control.stop_file is not None  # for_state_dir watches one
    assert not control.stop_file.exists()  # consumed
    mock_clock.jump(3600)
    assert decision(gate) == Skip(SkipReason.STOPPED)
    assert metrics.pauses("stopped") == 1


async def test_a_stale_stop_file_at_startup_is_discarded(
    risk_config: RiskConfigFactory, control: RiskControl, mock_clock: trio.testing.MockClock
) -> None:
    control.request_stop("meant for the previous run")
    gate = RiskGate(risk_config(), control=control)
    assert control.stop_file is not None  # for_state_dir watches one
    assert not control.stop_file.exists()
    assert decision(gate) == Allow()
    assert not gate.stop_requested.is_set()


async def test_run_keeps_the_paused_gauge_current_and_notices_stop(
    risk_config: RiskConfigFactory,
    control: RiskControl,
    metrics: Metrics,
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = RiskGate(risk_config(), control=control, metrics=metrics.risk)
    async with trio.open_nursery() as nursery:
        await nursery.start(gate.run)
        assert metrics.paused() == 0
        control.pause("maintenance")
        await trio.sleep(0.5)  # virtual time: two polls
        assert metrics.paused() == 1
        control.request_stop()
        with trio.fail_after(5):
            await gate.stop_requested.wait()
    # run() returned by itself once stopped.
    assert gate.state().causes == (PauseCause.STOPPED, PauseCause.OPERATOR)


# -- CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "galileo.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n')
    return path


def test_pause_resume_commands(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pause_file = tmp_path / "state" / "PAUSE"
    assert main(["pause", "-c", str(config_file), "--reason", "investigating fills"]) == 0
    assert json.loads(pause_file.read_text())["reason"] == "investigating fills"
    assert "paused: investigating fills" in capsys.readouterr().out

    assert main(["pause", "-c", str(config_file), "--show"]) == 0
    assert "sending is paused: investigating fills" in capsys.readouterr().out

    assert main(["pause", "-c", str(config_file), "--reason", "still"]) == 0
    assert "already paused" in capsys.readouterr().out

    assert main(["resume", "-c", str(config_file)]) == 0
    assert "resumed (was paused: still" in capsys.readouterr().out
    assert not pause_file.exists()

    assert main(["resume", "-c", str(config_file)]) == 0
    assert "not paused" in capsys.readouterr().out
    assert main(["pause", "-c", str(config_file), "--show"]) == 0
    assert "not paused" in capsys.readouterr().out


def test_stop_without_a_running_bot_fails_and_writes_nothing(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stop", "-c", str(config_file), "--reason", "done"]) == 1
    assert not (tmp_path / "state" / "STOP").exists()
    assert "no running bot uses" in capsys.readouterr().err


async def test_a_bot_started_elsewhere_is_paused_resumed_and_stopped_with_acknowledgement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bot_dir, operator_dir = tmp_path / "bot", tmp_path / "operator"
    bot_dir.mkdir()
    operator_dir.mkdir()
    config_file = bot_dir / "galileo.toml"
    config_file.write_text('state_dir = "state"\n')
    monkeypatch.chdir(bot_dir)
    config = load_config(config_file, env={})
    gate = RiskGate(
        config.risk,
        control=RiskControl.for_state_dir(config.state_dir),
        poll_interval_s=0.02,
    )
    monkeypatch.chdir(operator_dir)  # the operator's shell is somewhere else
    command = ["-c", str(config_file), "--timeout", "5"]
    async with trio.open_nursery() as nursery:
        await nursery.start(gate.run)
        assert await trio.to_thread.run_sync(main, ["pause", *command, "--reason", "drill"]) == 0
        assert "acknowledged by the running bot" in capsys.readouterr().out
        assert gate.state().paused
        assert await trio.to_thread.run_sync(main, ["resume", *command]) == 0
        assert "sending resumed" in capsys.readouterr().out
        assert not gate.state().paused
        assert await trio.to_thread.run_sync(main, ["stop", *command, "--reason", "done"]) == 0
        assert "sending stopped" in capsys.readouterr().out
        assert gate.stop_requested.is_set()
    assert not (bot_dir / "state" / "INSTANCE.json").exists()  # the bot retired on exit


async def test_a_bot_that_does_not_acknowledge_fails_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "galileo.toml"
    config_file.write_text(f'state_dir = "{tmp_path / "state"}"\n')
    control = RiskControl.for_state_dir(tmp_path / "state")
    control.announce(os.getpid())  # "running", but nothing watches the files
    command = ["pause", "-c", str(config_file), "--timeout", "0.2"]
    assert await trio.to_thread.run_sync(main, command) == 1
    assert "did not acknowledge" in capsys.readouterr().err


def test_pause_honours_risk_kill_switch_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    switch = tmp_path / "ops" / "KILL"
    config = tmp_path / "galileo.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[risk]\nkill_switch_file = "{switch}"\n'
    )
    assert main(["pause", "-c", str(config)]) == 0
    assert switch.exists()


def test_a_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "galileo.toml"
    config.write_text("[risk]\nmax_inflight = 0\n")
    assert main(["pause", "-c", str(config)]) == 2
