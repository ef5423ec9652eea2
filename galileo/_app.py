"""Wiring: builds the components from a ``Config`` and owns the root nursery.

Every long-lived component is a ``run(*, task_status)`` task in ``App``'s nursery, so one
cancel (Ctrl-C, SIGTERM, ``--duration`` elapsed, or an exception anywhere) stops all of them,
child processes included; the summary is printed and written afterwards.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs
import trio

import galileo
from galileo._config import Config
from galileo._liveview import LiveView, format_ms
from galileo._wiring import Endpoints, ExecutionStack, build_execution
from galileo.landers import TipFloor, tip_floor_url
from galileo.ledger import AsyncLedger, Ledger, build_report, default_ledger_path, open_readonly
from galileo.net import HttpxClients
from galileo.obs import (
    EventTrace,
    MetricsServer,
    Recorder,
    configure_logging,
    create_registry,
)
from galileo.risk import RiskControl, RiskGate, RiskMetrics

if TYPE_CHECKING:
    from galileo.engine import QuoteEngine
    from galileo.jupiter_binary import JupiterSupervisor
    from galileo.sim import World

_log = logging.getLogger("galileo.app")


@attrs.frozen(kw_only=True)
class RunOptions:
    """What ``galileo run`` was asked for on the command line."""

    duration_s: float | None = None
    summary_json: str | None = None
    dry_run: bool = False


class App:
    """One galileo process: metrics endpoint, (simulated) world, Jupiter, engine."""

    def __init__(self, config: Config, options: RunOptions, *, out: IO[str] | None = None) -> None:
        config = _with_sim_source_ips(config)
        self.config = config
        self.options = options
        self._out = sys.stdout if out is None else out
        self.registry = create_registry()
        self.recorder = Recorder(self.registry)
        self.metrics = MetricsServer(
            self.registry,
            host=config.metrics.host,
            port=config.metrics.port,
            status=self.status,
            secrets=config.secrets(),
        )
        self._state = "starting"
        self._started_wall = time.time()
        self._started = 0.0
        self._stop_reason = ""
        self.running = trio.Event()  # set once every component is up (tests wait on it)
        self._stop = trio.Event()  # duration, signal or `galileo stop`: begin the drain
        self._wallet_start: int | None = None
        self._wallet_end: int | None = None
        self.clients = HttpxClients(trust_env=False)
        self.execution: ExecutionStack | None = None
        self._live_tty = False
        self.tip_floor: TipFloor | None = None
        self.risk = RiskGate(
            attrs.evolve(config.risk, dry_run=config.risk.dry_run or options.dry_run),
            control=RiskControl.for_state_dir(config.state_dir, config.risk.kill_switch_file),
            metrics=RiskMetrics(self.registry),
        )
        self.ledger_path = default_ledger_path(config.state_dir)
        self.ledger: AsyncLedger | None = None
        self.world: World | None = None
        self.supervisor: JupiterSupervisor | None = None
        self.jupiter_url = config.jupiter.url
        self.engine: QuoteEngine | None = None
        self.trace = EventTrace(config.logging.trace_file or None, secrets=config.secrets())

    # -- status / summary --------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The /status document (secrets are masked by the endpoint as well)."""
        return {
            "state": self._state,
            "version": galileo.__version__,
            "fast_backend": galileo.fast_backend(),
            "uptime_s": round(trio.current_time() - self._started, 3) if self._started else 0.0,
            "dry_run": self.options.dry_run or self.config.risk.dry_run,
            "risk": self.risk.state().to_json(),
            "metrics_url": self.metrics.url,
            "jupiter_url": self.jupiter_url,
            "jupiter": self.supervisor.status() if self.supervisor else None,
            "engine": self.engine.stats().as_dict() if self.engine else None,
            "execution": self._execution_stats(),
            "tip_floor_lamports": self.tip_floor.lamports() if self.tip_floor else None,
            "stages": {
                name: stage["total"] for name, stage in self.recorder.summary()["stages"].items()
            },
            "sim": self._world_status(),
        }

    def _world_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"enabled": self.config.sim.enabled, "seed": self.config.sim.seed}
        if self.world is not None:
            status.update(
                rpc_url=self.world.rpc_url,
                jito_url=self.world.jito_url,
                wallet=str(self.world.wallet_pubkey),
                slot=self.world.slot,
            )
        return status

    def summary(self) -> dict[str, Any]:
        """What a run did, for people (printed) and for tools (--summary-json)."""
        ledger = self._ledger_report()
        return {
            "version": galileo.__version__,
            "fast_backend": galileo.fast_backend(),
            "started_at": self._started_wall,
            "duration_s": round(time.time() - self._started_wall, 3),
            "stop_reason": self._stop_reason,
            **self._outcome(ledger),
            "engine": self.engine.stats().as_dict() if self.engine else None,
            "execution": self._execution_stats(),
            "ledger": ledger,
            "stages": self.recorder.summary()["stages"],
        }

    def _execution_stats(self) -> dict[str, Any] | None:
        return self.execution.executor.stats().as_dict() if self.execution else None

    def _outcome(self, ledger: dict[str, Any] | None) -> dict[str, Any]:
        """The headline numbers: what was sent, what landed, and the two views of PnL — the
        ledger's (sum of realised changes) and the chain's (wallet before vs after)."""
        stats = self.execution.executor.stats() if self.execution else None
        delta = (
            self._wallet_end - self._wallet_start
            if self._wallet_start is not None and self._wallet_end is not None
            else None
        )
        return {
            "submitted": stats.submitted if stats else 0,
            "landed": stats.landed if stats else 0,
            "failed": (stats.failed + stats.expired) if stats else 0,
            "dry_run": stats.dry_run if stats else 0,
            "pnl_lamports": _realised_pnl(ledger),
            "wallet_delta_lamports": delta,
        }

    def _ledger_report(self) -> dict[str, Any] | None:
        if not self.ledger_path.exists():
            return None
        connection = open_readonly(self.ledger_path)
        try:
            return build_report(connection).to_json()
        finally:
            connection.close()

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Run until the duration elapses, a signal arrives or ``galileo stop``; return the
        summary.

        Stopping is graceful: the engine stops quoting, the executor takes no new work and
        the attempts in flight finish (landed, failed or expired) before the wallet is read a
        last time, so the ledger's PnL and the chain's balance change describe the same set
        of transactions. A second signal cancels everything at once.
        """
        # On a terminal the live view redraws the screen every second; info lines would only
        # flicker through it, so the terminal gets warnings and up (logging.file gets all).
        self._live_tty = sys.stderr.isatty()
        configure_logging(
            self.config.logging,
            secrets=self.config.secrets(),
            console_min_level=logging.WARNING if self._live_tty else logging.NOTSET,
        )
        self._started = trio.current_time()
        self.ledger = AsyncLedger(Ledger(self.ledger_path), recorder=self.recorder)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_signals, nursery.cancel_scope)
                nursery.start_soon(self._watch_stop_request)
                await nursery.start(self.risk.run)
                if self.config.metrics.enabled:
                    port = await nursery.start(self.metrics.run)
                    _log.info(
                        "metrics", extra={"fields": {"url": f"http://{self.metrics.host}:{port}"}}
                    )
                await self._start_world_and_jupiter(nursery)
                await self._run_pipeline(nursery)
                nursery.cancel_scope.cancel()
        finally:
            self._state = "stopped"
            self.metrics.set_ready(False)
            with trio.CancelScope(shield=True):
                await self.ledger.aclose()
                await self.clients.aclose()
            self.trace.close()
        summary = self.summary()
        self._write_summary(summary)
        return summary

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
            self.jupiter_url = await nursery.start(self.supervisor.run)
        _log.info("jupiter ready", extra={"fields": {"url": self.jupiter_url}})

    def _endpoints(self) -> Endpoints:
        config = self.config
        rpc_url = config.execution.rpc_url.reveal()
        jito_urls: tuple[str, ...] = ()
        wallet_path = config.wallet.keypair_path
        if self.world is not None:
            rpc_url = rpc_url or self.world.rpc_url
            jito_urls = (self.world.jito_url,)
            wallet_path = wallet_path or str(self.world.wallet_path)
        return Endpoints(rpc_url=rpc_url, jito_urls=jito_urls, wallet_path=wallet_path)

    async def _run_pipeline(self, nursery: trio.Nursery) -> None:
        """Engine → executor until asked to stop, then drain (see ``run``)."""
        from galileo.engine import QuoteEngine
        from galileo.model import Opportunity

        assert self.ledger is not None and self.jupiter_url
        tip = self.config.execution.tip
        if tip.policy == "floor":
            world_jito = self.world.jito_url if self.world is not None else None
            self.tip_floor = TipFloor(
                tip_floor_url(tip.floor_url, world_jito),
                clients=self.clients,
                percentile=tip.floor_percentile,
                interval_s=tip.floor_refresh_s,
            )
            await nursery.start(self.tip_floor.run)
        send, receive = trio.open_memory_channel[Opportunity](16)
        self.engine = QuoteEngine(
            self.config,
            jupiter_url=self.jupiter_url,
            registry=self.registry,
            recorder=self.recorder,
            opportunities=send,
            tip_floor_lamports=self.tip_floor.lamports if self.tip_floor is not None else None,
        )
        self.execution = build_execution(
            self.config,
            self._endpoints(),
            engine=self.engine,
            clients=self.clients,
            risk=self.risk,
            ledger=self.ledger,
            registry=self.registry,
            recorder=self.recorder,
            trace=self.trace,
        )
        execution = self.execution
        with trio.fail_after(30):
            await nursery.start(execution.blockhashes.run)
        await nursery.start(execution.tracker.run)
        self._wallet_start = await execution.wallet_total()
        engine_scope = trio.CancelScope()
        async with trio.open_nursery() as pipeline:
            await pipeline.start(execution.executor.run, receive)
            await pipeline.start(self._run_engine, engine_scope)
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
            engine_scope.cancel()
            execution.executor.stop_intake()
            with trio.move_on_after(self.config.landers.landing_timeout_s + 15) as drain:
                await execution.executor.drained.wait()
            if drain.cancelled_caught:
                _log.warning(
                    "drain timed out", extra={"fields": {"stats": self._execution_stats()}}
                )
            pipeline.cancel_scope.cancel()
        with trio.move_on_after(10):
            self._wallet_end = await execution.wallet_total()

    async def _run_engine(
        self,
        scope: trio.CancelScope,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        assert self.engine is not None
        with scope:
            await self.engine.run(task_status=task_status)

    def _request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self._stop_reason = reason
            self._state = "stopping"
            _log.info("stopping", extra={"fields": {"reason": reason}})
            self._stop.set()

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
            target.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print(format_summary(summary), file=self._out)
        self._out.flush()


def _realised_pnl(ledger: dict[str, Any] | None) -> int:
    """Realised PnL of every ledger row: landed trades plus what failed ones cost on chain."""
    if ledger is None:
        return 0
    pnl = ledger["pnl"]
    return int(pnl["realised_lamports"]) + int(pnl["realised_other_lamports"])


def _with_sim_source_ips(config: Config) -> Config:
    """Against the simulated world, spread requests over its loopback source IPs unless the
    operator chose IPs themselves."""
    if not config.sim.enabled or config.network.manual_ips or not config.sim.source_ips:
        return config
    network = attrs.evolve(
        config.network, enable_multiple_ip=True, manual_ips=list(config.sim.source_ips)
    )
    return attrs.evolve(config, network=network)


def format_summary(summary: dict[str, Any]) -> str:
    """The human summary printed when a run ends."""
    lines = [
        f"galileo {summary['version']} ({summary['fast_backend']} core) ran "
        f"{summary['duration_s']:.1f} s — stopped: {summary['stop_reason'] or 'done'}",
    ]
    engine = summary.get("engine") or {}
    if engine:
        lines.append(
            f"quotes {engine.get('quotes', 0)} ({engine.get('quotes_per_second', 0.0):.0f}/s), "
            f"opportunities {engine.get('opportunities', 0)}"
        )
    if "submitted" in summary:
        delta = summary.get("wallet_delta_lamports")
        lines.append(
            f"submitted {summary['submitted']}, landed {summary['landed']}, "
            f"failed {summary['failed']}, dry-run {summary.get('dry_run', 0)}"
        )
        lines.append(
            f"pnl {summary['pnl_lamports']} lamports (ledger), wallet delta "
            f"{'unknown' if delta is None else delta} lamports (chain)"
            + ("" if delta is None or delta == summary["pnl_lamports"] else "  ← MISMATCH")
        )
    stages = summary.get("stages", {})
    if stages:
        lines.append(f"{'stage':<14}{'count':>9}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for name, stage in stages.items():
            total = stage["total"]
            if not total.get("count"):
                continue
            lines.append(
                f"{name:<14}{total['count']:>9}"
                f"{format_ms(total.get('p50')):>10}{format_ms(total.get('p99')):>10}{format_ms(total.get('max')):>10}"
            )
    return "\n".join(lines)
