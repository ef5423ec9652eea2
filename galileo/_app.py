"""The process lifecycle: ``App`` owns the root nursery.

Every long-lived component is a ``run(*, task_status)`` task in ``App``'s nursery, so one
cancel (Ctrl-C, SIGTERM, ``--duration`` elapsed, or an exception anywhere) stops all of them,
child processes included; the summary is printed and written afterwards — whatever ended the
run. What gets built is decided in :mod:`galileo.pipeline` (the composition root); what gets
reported in :mod:`galileo._run_report`.

Phases: *starting* (risk control, metrics, the simulated world, Jupiter, the pipeline's first
blockhash and wallet read), *running*, *draining*. A stop (a signal, ``galileo stop``,
``--duration``) while starting cancels the start at once — a Jupiter that takes minutes, or
never gets ready, does not hold it up; while running it drains. Jupiter giving up (its restart
budget spent) also drains, then :meth:`App.run` raises it once the summary is out.
"""

from __future__ import annotations

import json
import logging
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs
import trio

import galileo
from galileo._config import Config
from galileo._errors import StartupError
from galileo._liveview import LiveView
from galileo._run_report import RunStatus, RunSummary, SimStatus, format_summary
from galileo._secret import write_private_text
from galileo._state_lock import StateDirLock
from galileo.ledger import (
    AsyncLedger,
    Ledger,
    LedgerReport,
    build_report,
    default_ledger_path,
    open_readonly,
)
from galileo.net import HttpxClients
from galileo.obs import MetricsServer, Observability, configure_logging
from galileo.pipeline import (
    BLOCKHASH_READY_TIMEOUT_S,
    Endpoints,
    Pipeline,
    with_sim_source_ips,
)
from galileo.risk import RiskControl, RiskGate, RiskMetrics

if TYPE_CHECKING:
    from galileo.jupiter_binary import JupiterSupervisor
    from galileo.sim import World
    from galileo.tx import Wallet

_log = logging.getLogger("galileo.app")


@attrs.frozen(kw_only=True)
class RunOptions:
    """What ``galileo run`` was asked for on the command line."""

    duration_s: float | None = None
    """Trade this long; a run still starting this long after launch stops then."""
    summary_json: str | None = None
    dry_run: bool = False


class App:
    """One galileo process: its lifecycle (start, signals, stop, drain, summary).

    Order: risk control and the metrics endpoint, the simulated world (when enabled),
    Jupiter (supervised child, unless ``jupiter.url`` points at one), then the
    :class:`~galileo.pipeline.Pipeline` built once over the shared parts. What it reports is
    :class:`~galileo._run_report.RunStatus` (``/status``, the live view) and
    :class:`~galileo._run_report.RunSummary` (printed, ``--summary-json``).
    """

    def __init__(
        self,
        config: Config,
        options: RunOptions,
        *,
        out: IO[str] | None = None,
        wallet: Wallet | None = None,
    ) -> None:
        if config.sim.enabled:
            config = with_sim_source_ips(config, config.sim.source_ips)
        self.config = config
        self.options = options
        self._out = sys.stdout if out is None else out
        # Unlocked before the run (a keystore's passphrase is asked for before anything
        # starts); None: the pipeline loads the configured keypair, or the world's.
        self._wallet = wallet
        self.obs = Observability.create(
            trace_file=config.logging.trace_file,
            secrets=config.secrets(),
            trace_max_bytes=config.logging.trace_max_bytes,
            trace_backups=config.logging.trace_backups,
        )
        self.registry = self.obs.registry
        self.recorder = self.obs.recorder
        self.metrics = MetricsServer(
            self.registry,
            host=config.metrics.host,
            port=config.metrics.port,
            status=self.status,
            secrets=config.secrets(),
        )
        self.clients = HttpxClients(trust_env=False)
        self.risk = RiskGate(
            attrs.evolve(config.risk, dry_run=config.risk.dry_run or options.dry_run),
            control=RiskControl.for_state_dir(config.state_dir, config.risk.kill_switch_file),
            metrics=RiskMetrics(self.registry),
        )
        self.ledger_path = default_ledger_path(config.state_dir)
        self.running = trio.Event()  # set once every component is up (tests wait on it)
        self._stop = trio.Event()  # duration, signal or `galileo stop`: begin the drain
        # Every start step runs in it: a stop while starting cancels the start itself.
        self._startup = trio.CancelScope()
        self._pipeline_done = trio.Event()
        #: What ended the run when it failed (raised by run() after the summary).
        self.failure: BaseException | None = None
        self._state = "starting"
        self._stop_reason = ""
        self._started_wall = time.time()
        # Prefixes this run's opportunity ids: attempts of two runs sharing one ledger never
        # collide, and the summary reads only the attempts created since this run started.
        self.run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._started_wall)) + (
            f"-{secrets.token_hex(2)}"
        )
        self._started = 0.0
        self._live_tty = False
        # Filled in as the run comes up; status() reports whatever exists so far.
        self.world: World | None = None
        self.supervisor: JupiterSupervisor | None = None
        self.jupiter_url = config.jupiter.url
        self.pipeline: Pipeline | None = None

    # -- what it reports -----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The /status document (:class:`RunStatus`)."""
        pipeline = self.pipeline
        world = self.world
        return RunStatus(
            state=self._state,
            version=galileo.__version__,
            fast_backend=galileo.fast_backend(),
            uptime_s=round(trio.current_time() - self._started, 3) if self._started else 0.0,
            dry_run=self.options.dry_run or self.config.risk.dry_run,
            risk=self.risk.state().to_json(),
            metrics_url=self.metrics.url,
            jupiter_url=self.jupiter_url,
            jupiter=self.supervisor.status() if self.supervisor else None,
            engine=pipeline.engine.stats() if pipeline else None,
            execution=pipeline.executor.stats() if pipeline else None,
            tip_floor_lamports=(
                pipeline.tip_floor.lamports() if pipeline and pipeline.tip_floor else None
            ),
            stages={
                name: stage["total"] for name, stage in self.recorder.summary()["stages"].items()
            },
            sim=SimStatus(
                enabled=self.config.sim.enabled,
                seed=self.config.sim.seed,
                rpc_url=world.rpc_url if world else None,
                jito_url=world.jito_url if world else None,
                wallet=str(world.wallet_pubkey) if world else None,
                slot=world.slot if world else None,
            ),
        ).to_json()

    def summary(self) -> RunSummary:
        """What the run did (read once, at the end)."""
        pipeline = self.pipeline
        return RunSummary(
            run_id=self.run_id,
            version=galileo.__version__,
            fast_backend=galileo.fast_backend(),
            started_at=self._started_wall,
            duration_s=round(time.time() - self._started_wall, 3),
            stop_reason=self._stop_reason,
            engine=pipeline.engine.stats() if pipeline else None,
            execution=pipeline.executor.stats() if pipeline else None,
            ledger=self._ledger_report(),
            stages=self.recorder.summary()["stages"],
            wallet_start=pipeline.wallet_start if pipeline else None,
            wallet_end=pipeline.wallet_end if pipeline else None,
        )

    def _ledger_report(self) -> LedgerReport | None:
        if not self.ledger_path.exists():
            return None
        connection = open_readonly(self.ledger_path)
        try:
            return build_report(connection, run_id=self.run_id)
        finally:
            connection.close()

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Run until the duration elapses, a signal arrives or ``galileo stop``; return the
        summary (its JSON form).

        Stopping is graceful: the pipeline drains (see :meth:`Pipeline.run`) before the
        summary is taken. A second signal cancels everything at once. A failure (Jupiter
        giving up, an error while starting, …) is raised after the summary is written; its
        ``stop_reason`` says ``failed: …``.
        """
        # One process per state directory, held until this returns: a second one fails
        # here (StateDirBusy, naming the holder's pid) before it touches anything.
        state_lock = StateDirLock.acquire(self.config.state_dir)
        # On a terminal the live view redraws the screen every second; info lines would only
        # flicker through it, so the terminal gets warnings and up (logging.file gets all).
        self._live_tty = sys.stderr.isatty()
        configure_logging(
            self.config.logging,
            secrets=self.config.secrets(),
            console_min_level=logging.WARNING if self._live_tty else logging.NOTSET,
        )
        self._started = trio.current_time()
        if self.options.duration_s is not None:
            self._startup.deadline = self._started + self.options.duration_s
        ledger = AsyncLedger(Ledger(self.ledger_path), recorder=self.recorder)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_signals, nursery.cancel_scope)
                nursery.start_soon(self._watch_stop_request)
                with self._startup:
                    await self._start(nursery, ledger)
                if self._startup.cancelled_caught and not self._stop.is_set():
                    self._stop_reason = "duration elapsed while starting"
                    _log.warning("stopping", extra={"fields": {"reason": self._stop_reason}})
                if self.pipeline is not None and not self._startup.cancelled_caught:
                    await self._trade_until_stopped(nursery, self.pipeline)
                nursery.cancel_scope.cancel()
        except BaseException as exc:
            self._failed(exc)
            raise
        finally:
            self._state = "stopped"
            self.metrics.set_ready(False)
            with trio.CancelScope(shield=True):
                await ledger.aclose()
                await self.clients.aclose()
            self.obs.close()
            state_lock.release()
            summary = self._final_summary()
        if self.failure is not None:
            raise self.failure
        return summary

    def _final_summary(self) -> dict[str, Any]:
        """The summary, printed and written — on a failure too, where a summary that cannot
        be made must not hide the failure itself."""
        try:
            summary = self.summary().to_json()
            self._write_summary(summary)
        except Exception:
            if self.failure is None:
                raise
            _log.exception("summary not written")
            return {}
        return summary

    def _failed(self, exc: BaseException) -> None:
        """Record what ended the run (the summary's ``stop_reason``), unless it is only the
        cancellation a second signal caused."""
        real = [e for e in _leaves(exc) if not isinstance(e, trio.Cancelled)]
        if not real:
            return
        first = real[0]
        self.failure = self.failure or exc
        if isinstance(first, KeyboardInterrupt):
            self._stop_reason = "interrupted"
            return
        text = (str(first) or type(first).__name__).strip().splitlines()[0]
        self._stop_reason = f"failed: {text}"
        _log.error("failed", extra={"fields": {"error": text}})

    async def _start(self, nursery: trio.Nursery, ledger: AsyncLedger) -> None:
        """Every start step, in order; the caller runs it inside :attr:`_startup`."""
        await nursery.start(self.risk.run)
        if self.config.metrics.enabled:
            port = await nursery.start(self.metrics.run)
            _log.info("metrics", extra={"fields": {"url": f"http://{self.metrics.host}:{port}"}})
        await self._start_world_and_jupiter(nursery)
        await self._start_pipeline(nursery, ledger)

    async def _start_world_and_jupiter(self, nursery: trio.Nursery) -> None:
        rpc_url: str | None = None
        if self.config.sim.enabled:
            from galileo.sim import World

            # The world's RPC and Jito faces run in this process; its Jupiter face is launched
            # by the supervisor below exactly like the real binary.
            self.world = World(
                self.config.sim, serve_jupiter=False, state_dir=self.config.state_dir
            )
            await nursery.start(self.world.run)
            rpc_url = self.world.rpc_url
            _log.info(
                "simulated world",
                extra={
                    "fields": {
                        "rpc": self.world.rpc_url,
                        "jito": self.world.jito_url,
                        "wallet": str(self.world.wallet_path),
                        "seed": self.config.sim.seed,
                    }
                },
            )
        if not self.jupiter_url:
            from galileo.jupiter_binary import JupiterSupervisor

            self.supervisor = JupiterSupervisor(
                self.config, registry=self.registry, recorder=self.recorder, rpc_url=rpc_url
            )
            self._state = "waiting for jupiter"
            self.jupiter_url = await nursery.start(self._supervise_jupiter, self.supervisor)
        _log.info("jupiter ready", extra={"fields": {"url": self.jupiter_url}})

    async def _supervise_jupiter(
        self, supervisor: JupiterSupervisor, *, task_status: trio.TaskStatus[str]
    ) -> None:
        """The supervisor; once Jupiter was up, its giving up stops the run with a drain (the
        attempts in flight are settled, the summary written) instead of tearing it down."""
        from galileo.jupiter_binary import SupervisorFailed

        up = False
        try:
            async with trio.open_nursery() as inner:
                url = await inner.start(supervisor.run)
                up = True
                task_status.started(url)
        except BaseExceptionGroup as group:
            failed, rest = group.split(SupervisorFailed)
            if not up or failed is None or rest is not None:
                raise
            self.failure = _leaves(failed)[0]
            self._failed(self.failure)
            self._request_stop("jupiter failed")

    async def _start_pipeline(self, nursery: trio.Nursery, ledger: AsyncLedger) -> None:
        """Build the pipeline and start it (its first blockhash and wallet read)."""
        world = self.world
        endpoints = Endpoints.resolve(
            self.config,
            sim_rpc_url=world.rpc_url if world else None,
            sim_jito_url=world.jito_url if world else None,
            sim_dflow_url=world.dflow_url if world else None,
            sim_wallet_path=str(world.wallet_path) if world else None,
        )
        pipeline = self.pipeline = Pipeline.build(
            self.config,
            endpoints,
            jupiter_url=self.jupiter_url,
            obs=self.obs,
            risk=self.risk,
            ledger=ledger,
            clients=self.clients,
            jupiter_ready=self.supervisor,
            run_id=self.run_id,
            wallet=self._wallet,
        )
        await nursery.start(self._run_pipeline, pipeline)

    async def _run_pipeline(
        self, pipeline: Pipeline, *, task_status: trio.TaskStatus[None]
    ) -> None:
        try:
            await pipeline.run(task_status=task_status)
        except BaseExceptionGroup as group:
            # The one deadline of the pipeline's start: its first blockhash.
            slow, rest = group.split(trio.TooSlowError)
            if slow is None or rest is not None:
                raise
            raise StartupError(
                f"no blockhash within {BLOCKHASH_READY_TIMEOUT_S:g} s from the RPC "
                "(execution.rpc_url, or the simulated world's): is it reachable?"
            ) from None
        finally:
            self._pipeline_done.set()

    async def _trade_until_stopped(self, nursery: trio.Nursery, pipeline: Pipeline) -> None:
        """Trade until asked to stop (or for the duration), then drain."""
        nursery.start_soon(LiveView(self.status, tty=self._live_tty).run)
        self._state = "running"
        self.metrics.set_ready()
        self.running.set()
        _log.info("running", extra={"fields": {"duration_s": self.options.duration_s}})
        with trio.move_on_after(
            self.options.duration_s if self.options.duration_s is not None else float("inf")
        ):
            await self._stop.wait()
        self._stop_reason = self._stop_reason or "duration elapsed"
        self._state = "draining"
        _log.info("draining", extra={"fields": {"reason": self._stop_reason}})
        pipeline.request_drain()
        await self._pipeline_done.wait()

    def _request_stop(self, reason: str) -> None:
        """Begin the end: while starting, cancel the start; while running, drain."""
        if not self._stop.is_set():
            self._stop_reason = self._stop_reason or reason
            self._state = "stopping"
            _log.info("stopping", extra={"fields": {"reason": reason}})
            self._stop.set()
            self._startup.cancel()

    async def _watch_stop_request(self) -> None:
        """``galileo stop`` (the risk control's stop file) ends the run like a signal."""
        await self.risk.stop_requested.wait()
        self._request_stop("galileo stop")

    async def _watch_signals(self, scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
            async for signum in signals:
                name = signal.Signals(signum).name
                if self._stop.is_set():
                    _log.warning("second signal: stopping now", extra={"fields": {"signal": name}})
                    scope.cancel()
                    return
                self._request_stop(name)

    def _write_summary(self, summary: dict[str, Any]) -> None:
        path = self.options.summary_json or self.config.metrics.summary_json
        if path:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_private_text(target, json.dumps(summary, indent=2) + "\n")
        print(format_summary(summary), file=self._out)
        self._out.flush()


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc``, exception groups flattened."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]
