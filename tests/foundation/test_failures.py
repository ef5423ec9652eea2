"""The one top-level handler: whatever a command fails with becomes one line per problem and
the exit code of its class — through trio's exception groups — and a bug keeps its
traceback."""

from __future__ import annotations

import argparse
import errno
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from galileo._errors import ConfigError, ConfigErrors, GalileoError
from galileo.cli._failures import run_handler
from galileo.jupiter_binary import InstallError, SupervisorFailed, VerificationError
from tests.ports import free_port

RUN = argparse.Namespace(command="run")


def failing_with(exc: BaseException) -> Callable[[argparse.Namespace], int]:
    def handler(_args: argparse.Namespace) -> int:
        raise exc

    return handler


def outcome(exc: BaseException, args: argparse.Namespace = RUN) -> tuple[int, list[str]]:
    err = io.StringIO()
    code = run_handler(failing_with(exc), args, err=err)
    return code, err.getvalue().splitlines()


def in_a_nursery(*excs: BaseException) -> BaseExceptionGroup[BaseException]:
    """What trio raises when tasks fail inside nested nurseries."""
    return BaseExceptionGroup("outer", [BaseExceptionGroup("inner", list(excs))])


def cancelled() -> BaseException:
    """A trio.Cancelled as a sibling task's cancellation leaves it in a group."""

    async def catch() -> BaseException:
        with trio.CancelScope() as scope:
            scope.cancel()
            try:
                await trio.sleep(1)
            except trio.Cancelled as exc:
                return exc
        raise AssertionError("not cancelled")

    return trio.run(catch)


def test_a_handler_that_succeeds_keeps_its_exit_code() -> None:
    assert run_handler(lambda _args: 0, RUN) == 0


def test_bad_configuration_is_exit_2_with_a_line_per_problem() -> None:
    errors = ConfigErrors(
        [ConfigError("metrics.port", "in use"), ConfigError("sim.host", "not loopback")]
    )
    code, lines = outcome(in_a_nursery(errors))
    assert code == 2
    assert lines == ["galileo run: metrics.port: in use", "galileo run: sim.host: not loopback"]


def test_a_configuration_error_found_while_running_is_exit_2() -> None:
    # e.g. the strategy finds no base mint with intermediate mints once /tokens is read
    code, lines = outcome(in_a_nursery(ConfigError("strategy.blind.base_mints", "no mints")))
    assert (code, lines) == (2, ["galileo run: strategy.blind.base_mints: no mints"])


def test_jupiter_giving_up_is_exit_3_in_one_line_even_beside_cancellations() -> None:
    gave_up = SupervisorFailed("jupiter-swap-api gave up: 6 restarts; last output:\n  boom")
    code, lines = outcome(in_a_nursery(cancelled(), gave_up, cancelled()))
    assert code == 3
    assert lines == ["galileo run: jupiter-swap-api gave up: 6 restarts; last output: (…)"]


@pytest.mark.parametrize(
    "failure",
    [
        InstallError("no jupiter-swap-api installed in /x; run `galileo jupiter install`"),
        VerificationError(tag="v6", asset="/x/bin", expected="aa", actual="bb", source="install"),
        GalileoError("the ledger is locked by pid 7"),
    ],
    ids=["nothing-installed", "modified-binary", "any-galileo-error"],
)
def test_a_galileo_error_while_starting_is_exit_1_in_one_line(failure: GalileoError) -> None:
    code, lines = outcome(in_a_nursery(failure))
    assert code == 1
    assert lines == [f"galileo run: {str(failure).splitlines()[0]}"]


def test_an_operating_system_error_is_exit_1_in_one_line() -> None:
    code, lines = outcome(OSError(errno.EADDRINUSE, "Address already in use"))
    assert (code, lines) == (1, ["galileo run: Address already in use"])
    code, lines = outcome(PermissionError(errno.EACCES, "Permission denied", "/var/lib/x"))
    assert (code, lines) == (1, ["galileo run: /var/lib/x: Permission denied"])


def test_ctrl_c_before_the_signal_handlers_is_exit_130() -> None:
    assert outcome(KeyboardInterrupt()) == (130, ["galileo run: interrupted"])


def test_the_line_names_the_command_as_typed() -> None:
    args = argparse.Namespace(command="jupiter", jupiter_command="start")
    _, lines = outcome(InstallError("nothing installed"), args)
    assert lines == ["galileo jupiter start: nothing installed"]


@pytest.mark.parametrize(
    "bug",
    [ValueError("a bug"), in_a_nursery(GalileoError("expected"), KeyError("a bug"))],
    ids=["alone", "beside-a-galileo-error"],
)
def test_a_bug_keeps_its_traceback(bug: BaseException) -> None:
    with pytest.raises(type(bug)):
        outcome(bug)


def galileo(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GALILEO_")}
    full_env.update(
        GALILEO_METRICS__PORT="0",
        GALILEO_SIM__RPC_PORT="0",
        GALILEO_SIM__JITO_PORT="0",
        GALILEO_JUPITER__LAUNCH__PORT=str(free_port()),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "galileo", *args],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_run_with_nothing_installed_fails_in_one_line_after_its_summary(tmp_path: Path) -> None:
    result = galileo(
        tmp_path,
        "run",
        GALILEO_JUPITER__SOURCE="release",
        GALILEO_JUPITER__INSTALL_DIR=str(tmp_path / "empty"),
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("galileo run: ")]
    assert len(failures) == 1
    assert "no jupiter-swap-api installed" in failures[0]
    assert "stopped: failed: no jupiter-swap-api installed" in result.stdout
