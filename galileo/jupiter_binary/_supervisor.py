"""The Jupiter process supervisor: launch, readiness, health, restarts, stop.

One ``JupiterSupervisor.run()`` owns one child at a time inside its own nursery. The child
runs under ``galileo.jupiter_binary._guard`` in its own session: Ctrl-C at the terminal reaches
galileo only, galileo stops the child itself (SIGTERM to the process group, a grace period,
SIGKILL), and if galileo dies without stopping it the guard's lifeline pipe closes and the
guard takes the child down. So the child never outlives galileo.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio
from prometheus_client import CollectorRegistry

from galileo._config import Config
from galileo.jupiter_binary._childlog import ChildLog
from galileo.jupiter_binary._errors import (
    JupiterError,
    LaunchError,
    MintFilterError,
    SupervisorFailed,
)
from galileo.jupiter_binary._launch import (
    LaunchCommand,
    base_url_of,
    build_launch_command,
    default_base_mints,
    default_rpc_url,
    executable_for,
    resolve_filter_mints,
    source_env,
)
from galileo.jupiter_binary._metrics import JupiterMetrics
from galileo.jupiter_binary._runtime import runtime_path, write_runtime
from galileo.jupiter_binary._state import JupiterState, RestartReason
from galileo.obs import Recorder

_log = logging.getLogger("galileo.jupiter")

_SERVING = (JupiterState.READY, JupiterState.UNHEALTHY)
"""States in which the API is up: quoting may go on."""


@attrs.frozen
class HealthResult:
    ok: bool
    seconds: float
    at: str  # wall-clock ISO-8601, for people
    error: str = ""


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@attrs.define
class _Outcome:
    reason: RestartReason | None = None
    exit_code: int | None = None
    ready_for_s: float = 0.0


class JupiterSupervisor:
    """Keep one jupiter-swap-api (or the simulated stand-in) running and healthy.

    ``run(task_status=…)`` reports the API base URL once the first child is Ready and then
    supervises until cancelled; it raises ``SupervisorFailed`` when the restart budget
    (``max_restarts`` per ``restart_window_s``) is spent. Cancellation (Ctrl-C, SIGTERM
    handled by the caller, an exception in a sibling task) stops the child before returning.

    ``base_mints``: always in the market filter (default: the blind strategy's base mints).
    ``rpc_url``: overrides the default RPC when ``jupiter.launch.rpc_url`` is empty (the
    app passes the simulated world's actual RPC URL). ``executable``/``version`` override
    the source's executable (tests). ``write_runtime_file``: keep
    ``<state_dir>/jupiter/runtime.json`` for ``galileo jupiter status`` / ``stop``.
    """

    #: Seconds between readiness probes while Starting.
    ready_poll_interval_s: float = 0.5

    def __init__(
        self,
        config: Config,
        *,
        registry: CollectorRegistry | None = None,
        recorder: Recorder | None = None,
        base_mints: Sequence[str] | None = None,
        rpc_url: str | None = None,
        executable: Sequence[str] | None = None,
        version: str | None = None,
        client_factory: Callable[[], httpx.AsyncClient] | None = None,
        write_runtime_file: bool = True,
        use_guard: bool = True,
    ) -> None:
        self._config = config
        self._jupiter = config.jupiter
        self._process = config.jupiter.process
        self._metrics = JupiterMetrics(registry if registry is not None else CollectorRegistry())
        self._recorder = recorder if recorder is not None else Recorder()
        self._base_mints = (
            list(base_mints) if base_mints is not None else default_base_mints(config)
        )
        self._rpc_url = rpc_url if rpc_url is not None else default_rpc_url(config)
        self._executable = list(executable) if executable is not None else None
        self._version = version
        self._client_factory = client_factory or (lambda: httpx.AsyncClient(timeout=30.0))
        self._runtime_file = runtime_path(config.state_dir) if write_runtime_file else None
        self._use_guard = use_guard and sys.platform.startswith("linux")
        self.base_url = base_url_of(config.jupiter.launch)

        self._state = JupiterState.STOPPED
        self._waiters: list[tuple[frozenset[JupiterState], trio.Event]] = []
        self._proc: trio.Process | None = None
        self._spawned_at: float | None = None  # trio clock
        self._ready_at: float | None = None  # trio clock
        self._started_at_wall: str | None = None
        self._restarts = 0
        self._restart_reasons: dict[str, int] = {r.value: 0 for r in RestartReason}
        self._last_health: HealthResult | None = None
        self._last_exit_code: int | None = None
        self._last_error = ""
        self._command: LaunchCommand | None = None
        self._filter_mints: list[str] | None = None
        self._log: ChildLog | None = None
        self._client: httpx.AsyncClient | None = None
        # Seconds between Ready and a scheduled restart (inf = never); minutes in config.
        self.scheduled_restart_s = (
            self._process.scheduled_restart_minutes * 60.0
            if self._process.scheduled_restart_minutes
            else math.inf
        )
        #: Crash-restart delays applied so far (most recent last, bounded).
        self.restart_delays: deque[float] = deque(maxlen=32)

    # --- observation -----------------------------------------------------------------------

    @property
    def state(self) -> JupiterState:
        return self._state

    async def wait_state(self, *states: JupiterState) -> None:
        """Return once the state is, or enters, one of ``states`` — also a transient one such
        as Restarting, which may last no time at all (put a deadline around it)."""
        if self._state in states:
            return
        waiter = (frozenset(states), trio.Event())
        self._waiters.append(waiter)
        try:
            await waiter[1].wait()
        finally:
            self._waiters.remove(waiter)

    def is_ready(self) -> bool:
        """The API answers: Ready, or Unhealthy (a failed health check; the process is up and
        the quote path's own cooldowns judge its answers). With :meth:`wait_ready`, this makes
        the supervisor a :class:`~galileo.model.ReadinessGate`."""
        return self._state in _SERVING

    async def wait_ready(self) -> None:
        """Return once :meth:`is_ready` (at once when it already is)."""
        await self.wait_state(*_SERVING)

    @property
    def group_pid(self) -> int | None:
        """Pid of the process we spawned (the guard when used), also its process group id."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    @property
    def pid(self) -> int | None:
        """Pid of the jupiter-swap-api process itself (under the guard, its only child)."""
        group = self.group_pid
        if group is None or not self._use_guard:
            return group
        try:
            children = Path(f"/proc/{group}/task/{group}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    @property
    def log_path(self) -> Path:
        log_dir = self._process.log_dir or str(Path(self._config.state_dir) / "logs")
        return Path(log_dir).expanduser() / "jupiter.log"

    def status(self) -> dict[str, Any]:
        """A JSON-ready snapshot for /status and ``galileo jupiter status``."""
        now = trio.current_time() if self._clock_available() else None
        uptime = (
            round(now - self._ready_at, 3)
            if now is not None and self._ready_at is not None and self.pid is not None
            else None
        )
        health = self._last_health
        return {
            "state": self._state.value,
            "pid": self.pid,
            "group_pid": self.group_pid,
            "supervisor_pid": os.getpid(),
            "source": self._jupiter.source,
            "version": self._version,
            "base_url": self.base_url,
            "started_at": self._started_at_wall,
            "uptime_s": uptime,
            "restarts": self._restarts,
            "restart_reasons": dict(self._restart_reasons),
            "last_exit_code": self._last_exit_code,
            "last_error": self._last_error,
            "last_health_check": attrs.asdict(health) if health is not None else None,
            "command": self._command.display() if self._command is not None else None,
            "log_file": str(self.log_path),
            "updated_at": _now_iso(),
        }

    @staticmethod
    def _clock_available() -> bool:
        try:
            trio.current_time()
        except RuntimeError:
            return False
        return True

    def _set_state(self, state: JupiterState) -> None:
        if state is self._state:
            return
        _log.info(
            "jupiter state",
            extra={"fields": {"from": self._state.value, "to": state.value, "pid": self.pid}},
        )
        self._state = state
        self._metrics.set_state(state)
        for states, event in self._waiters:
            if state in states:
                event.set()
        self._save_runtime()

    def _save_runtime(self) -> None:
        if self._runtime_file is None:
            return
        try:
            write_runtime(self._runtime_file, self.status())
        except OSError as exc:
            _log.warning("runtime file not written", extra={"fields": {"error": str(exc)}})

    # --- supervision -----------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        first_ready = trio.Event()
        try:
            async with self._client_factory() as client:
                self._client = client
                try:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._supervise, first_ready)
                        await first_ready.wait()
                        task_status.started(self.base_url)
                except BaseExceptionGroup as group:
                    # Callers get SupervisorFailed / LaunchError itself, not a group of one.
                    single = _single_jupiter_error(group)
                    if single is None:
                        raise
                    raise single from None
        finally:
            self._client = None
            if self._log is not None:
                self._log.close()
                self._log = None
            if self._state is not JupiterState.FAILED:
                self._set_state(JupiterState.STOPPED)
            self._save_runtime()

    async def _supervise(self, first_ready: trio.Event) -> None:
        if self._executable is None:
            executable, version = executable_for(self._config)
        else:
            executable, version = self._executable, self._version or self._jupiter.source
        self._version = version
        _check_executable(executable[0] if executable else "")
        self._log = ChildLog(
            self.log_path,
            max_bytes=self._process.log_max_bytes,
            backups=self._process.log_backups,
        )
        counted: deque[float] = deque()
        backoff = self._process.restart_backoff_initial_s
        while True:
            command = await self._command_for(executable)
            outcome = await self._run_child(command, first_ready)
            reason = outcome.reason or RestartReason.CRASH
            self._restarts += 1
            self._restart_reasons[reason.value] += 1
            self._metrics.restarts.labels(reason=reason.value).inc()
            _log.warning(
                "jupiter restarting",
                extra={
                    "fields": {
                        "reason": reason.value,
                        "exit_code": outcome.exit_code,
                        "last_output": list(self._log.tail)[-5:],
                    }
                },
            )
            if reason is not RestartReason.SCHEDULED:
                now = trio.current_time()
                counted.append(now)
                while counted and counted[0] < now - self._process.restart_window_s:
                    counted.popleft()
                if len(counted) > self._process.max_restarts:
                    self._last_error = (
                        f"{len(counted)} restarts within {self._process.restart_window_s:g}s "
                        f"(max_restarts {self._process.max_restarts}); last: {reason.value}, "
                        f"exit code {outcome.exit_code}"
                    )
                    self._set_state(JupiterState.FAILED)
                    tail = "\n  ".join(list(self._log.tail)[-10:])
                    raise SupervisorFailed(
                        f"jupiter-swap-api gave up: {self._last_error}; log {self.log_path}"
                        + (f"; last output:\n  {tail}" if tail else "")
                    )
            self._set_state(JupiterState.RESTARTING)
            if reason in (RestartReason.CRASH, RestartReason.STARTUP_TIMEOUT):
                if outcome.ready_for_s >= self._process.restart_backoff_max_s:
                    backoff = self._process.restart_backoff_initial_s  # it had been stable
                self.restart_delays.append(backoff)
                await trio.sleep(backoff)
                backoff = min(backoff * 2, self._process.restart_backoff_max_s)

    async def _command_for(self, executable: Sequence[str]) -> LaunchCommand:
        try:
            mints = await resolve_filter_mints(
                self._jupiter.launch,
                base_mints=self._base_mints,
                client=self._client,
                timeout_s=self._process.health_timeout_s * 2,
            )
        except MintFilterError as exc:
            if self._filter_mints is None:
                raise
            _log.warning(
                "market filter kept from the previous launch", extra={"fields": {"error": str(exc)}}
            )
            mints = self._filter_mints
        self._filter_mints = mints
        command = build_launch_command(
            self._jupiter.launch,
            executable=executable,
            filter_mints=mints,
            default_rpc_url=self._rpc_url,
            extra_env=source_env(self._config),
        )
        self._command = command
        return command

    async def _run_child(self, command: LaunchCommand, first_ready: trio.Event) -> _Outcome:
        assert self._log is not None
        self._set_state(JupiterState.STARTING)
        self._check_port_free()
        self._log.set_secrets(command.secrets)
        argv = list(command.argv)
        if self._use_guard:
            grace = f"{self._process.stop_grace_s:g}"
            argv = [sys.executable, "-m", "galileo.jupiter_binary._guard", grace, "--", *argv]
        self._log.mark(f"spawn {command.display()}")
        proc = await trio.lowlevel.open_process(
            argv,
            stdin=subprocess.PIPE,  # the guard's lifeline; closed only when galileo goes
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **command.env},
            start_new_session=True,  # terminal Ctrl-C goes to galileo, which stops the child
        )
        self._proc = proc
        self._spawned_at = trio.current_time()
        self._ready_at = None
        self._started_at_wall = _now_iso()
        self._save_runtime()
        _log.info("jupiter spawned", extra={"fields": {"pid": proc.pid}})
        outcome = _Outcome()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump_output, proc)
                nursery.start_soon(self._watch_exit, proc, outcome, nursery.cancel_scope)
                nursery.start_soon(self._lifecycle, outcome, first_ready, nursery.cancel_scope)
        finally:
            with trio.CancelScope(shield=True):
                await self._terminate(proc)
                if self._ready_at is not None:
                    outcome.ready_for_s = trio.current_time() - self._ready_at
                self._last_exit_code = proc.returncode
                if outcome.exit_code is None:
                    outcome.exit_code = proc.returncode
                self._log.mark(f"exited with {proc.returncode}")
                self._proc = None
                self._ready_at = None
                self._save_runtime()
        return outcome

    def _check_port_free(self) -> None:
        launch = self._jupiter.launch
        host = base_url_of(launch).split("//", 1)[1].rsplit(":", 1)[0].strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((host, launch.port)) == 0:
                raise LaunchError(
                    "port",
                    f"something already listens on {host}:{launch.port} (an orphaned "
                    "jupiter-swap-api? see `galileo jupiter status`); refusing to launch a "
                    "second one whose readiness could not be told apart",
                )

    async def _pump_output(self, proc: trio.Process) -> None:
        assert proc.stdout is not None and self._log is not None
        async with proc.stdout:
            while chunk := await proc.stdout.receive_some(65536):
                self._log.feed(bytes(chunk))

    async def _watch_exit(
        self, proc: trio.Process, outcome: _Outcome, scope: trio.CancelScope
    ) -> None:
        code = await proc.wait()
        if outcome.reason is None:
            outcome.reason = RestartReason.CRASH
            outcome.exit_code = code
            self._last_error = f"exited with {code}"
            _log.warning("jupiter exited", extra={"fields": {"exit_code": code}})
        scope.cancel()

    async def _lifecycle(
        self, outcome: _Outcome, first_ready: trio.Event, scope: trio.CancelScope
    ) -> None:
        ready = await self._wait_ready()
        if not ready:
            if outcome.reason is None:
                outcome.reason = RestartReason.STARTUP_TIMEOUT
                self._last_error = (
                    f"not ready within {self._process.startup_timeout_s:g}s "
                    "(jupiter.process.startup_timeout_s)"
                )
            scope.cancel()
            return
        now = trio.current_time()
        self._ready_at = now
        assert self._spawned_at is not None
        ready_s = now - self._spawned_at
        self._metrics.ready_seconds.observe(ready_s)
        self._recorder.observe("jupiter_ready", ready_s)
        self._last_error = ""
        self._set_state(JupiterState.READY)
        first_ready.set()
        reason = await self._monitor()
        if outcome.reason is None:
            outcome.reason = reason
        scope.cancel()

    async def _wait_ready(self) -> bool:
        """Probe until /program-id-to-label answers a non-empty object and a trial quote
        succeeds; False when startup_timeout_s passes first."""
        with trio.move_on_after(self._process.startup_timeout_s):
            while True:
                if await self._probe_labels() is None and await self._trial_quote():
                    return True
                await trio.sleep(self.ready_poll_interval_s)
        return False

    async def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        assert self._client is not None
        with trio.fail_after(self._process.health_timeout_s):
            return await self._client.get(self.base_url + path, params=params)

    async def _probe_labels(self) -> str | None:
        """None when healthy, else why not."""
        try:
            response = await self._get("/program-id-to-label")
        except trio.TooSlowError:
            return f"no answer within {self._process.health_timeout_s:g}s"
        except httpx.HTTPError as exc:
            return type(exc).__name__
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            return "body is not JSON"
        if not isinstance(body, dict) or not body:
            return "empty program-id-to-label map"
        return None

    async def _trial_output_mint(self) -> str | None:
        trial = self._process.trial_quote
        if trial.output_mint:
            return trial.output_mint
        for mint in self._filter_mints or []:
            if mint != trial.input_mint:
                return mint
        for base in self._config.strategy.blind.base_mints:
            for mint in base.intermediate_mints:
                if mint != trial.input_mint:
                    return mint
        try:
            response = await self._get("/tokens")
            tokens = response.json() if response.status_code == 200 else []
        except (trio.TooSlowError, httpx.HTTPError, ValueError):
            tokens = []
        for mint in tokens if isinstance(tokens, list) else []:
            if isinstance(mint, str) and mint != trial.input_mint:
                return mint
        return None

    async def _trial_quote(self) -> bool:
        trial = self._process.trial_quote
        output = await self._trial_output_mint()
        if output is None:
            # Without a quote the API is not known to quote at all: not ready (a binary that
            # answers /program-id-to-label but never quotes must not pass).
            why = (
                "no output mint for the trial quote (no jupiter.process.trial_quote.output_mint, "
                "market filter or intermediate mints, and /tokens lists none)"
            )
            if self._last_error != why:  # once per start, not once per probe
                self._last_error = why
                _log.warning("trial quote impossible", extra={"fields": {"why": why}})
            return False
        params = {
            "inputMint": trial.input_mint,
            "outputMint": output,
            "amount": str(trial.amount),
            "slippageBps": "50",
        }
        try:
            response = await self._get("/quote", params)
            body = response.json() if response.status_code == 200 else None
        except (trio.TooSlowError, httpx.HTTPError, ValueError):
            return False
        return isinstance(body, dict) and "outAmount" in body

    async def _health_check(self) -> bool:
        started = trio.current_time()
        error = await self._probe_labels()
        seconds = trio.current_time() - started
        ok = error is None
        self._last_health = HealthResult(
            ok=ok, seconds=round(seconds, 6), at=_now_iso(), error=error or ""
        )
        self._metrics.health_check_seconds.labels(result="ok" if ok else "fail").observe(seconds)
        self._recorder.observe("health_check", seconds)
        if not ok:
            _log.warning("jupiter health check failed", extra={"fields": {"error": error}})
        self._save_runtime()
        return ok

    async def _monitor(self) -> RestartReason:
        """Health checks every health_interval_s while Ready; returns why to restart."""
        assert self._ready_at is not None
        scheduled_at = self._ready_at + self.scheduled_restart_s
        failures = 0
        while True:
            next_check = trio.current_time() + self._process.health_interval_s
            await trio.sleep_until(min(next_check, scheduled_at))
            if trio.current_time() >= scheduled_at:
                _log.info(
                    "jupiter scheduled restart",
                    extra={"fields": {"after_s": self.scheduled_restart_s}},
                )
                return RestartReason.SCHEDULED
            if await self._health_check():
                failures = 0
                self._set_state(JupiterState.READY)
                continue
            failures += 1
            self._set_state(JupiterState.UNHEALTHY)
            if failures >= self._process.unhealthy_restart_after:
                self._last_error = f"{failures} consecutive failed health checks"
                return RestartReason.UNHEALTHY

    async def _terminate(self, proc: trio.Process) -> None:
        """SIGTERM to the child's process group, stop_grace_s, then SIGKILL. Must be called
        shielded; returns once the child is reaped."""
        if proc.returncode is None:
            _signal_group(proc.pid, signal.SIGTERM)
            with trio.move_on_after(self._process.stop_grace_s):
                await proc.wait()
            if proc.returncode is None:
                _log.warning(
                    "jupiter ignored SIGTERM; killing",
                    extra={"fields": {"pid": proc.pid, "grace_s": self._process.stop_grace_s}},
                )
                _signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
        # Leftovers in the group (the binary's own children) go too.
        _signal_group(proc.pid, signal.SIGKILL)
        if proc.stdin is not None:
            await proc.stdin.aclose()


def _check_executable(program: str) -> None:
    if shutil.which(program) or (os.path.isfile(program) and os.access(program, os.X_OK)):
        return
    raise LaunchError("", f"cannot execute {program!r} (missing or not executable)")


def _single_jupiter_error(group: BaseExceptionGroup[BaseException]) -> JupiterError | None:
    if len(group.exceptions) != 1:
        return None
    only = group.exceptions[0]
    if isinstance(only, BaseExceptionGroup):
        return _single_jupiter_error(only)
    return only if isinstance(only, JupiterError) else None


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
