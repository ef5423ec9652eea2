"""Quoting under a flood of the status server: the whole bot (``App``, the simulated world, the
supervised sim Jupiter) quoting, while 8 local clients — each its own process, half keeping
a connection alive, half sending ``Connection: close`` — request ``/metrics`` or ``/status``
as fast as they are answered.

The machine (2 cores, shared) drifts more over a minute than the effect measured, so the
flood is switched on and off many times: the clients run throughout and are paused
(SIGSTOP) and resumed (SIGCONT) in alternating windows, and the flooded windows' quote rate
is compared with the quiet windows'. The status server's own CPU time on the loop is
measured too (``ServerTime``): that share bounds what the flood can take from quoting,
whatever the machine's noise.

``protected=False`` swaps in the server as it was before (every request rendered, no pacing,
no connection cap, 60 s idle) for comparison. benches/bench_status_flood.py writes the
figures to benches/results/status_flood.json (docs/security.md quotes them).
"""

from __future__ import annotations

import io
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import trio

from galileo._app import App, RunOptions
from galileo._httpserver import HttpServer
from galileo.engine import QuoteEngine
from galileo.obs import MetricsServer
from tests.worlds import quiet_config

REPO = Path(__file__).resolve().parents[2]
CLIENTS = 8
WARMUP_S = 4.0
ROUNDS = 10
WINDOW_S = 2.0
SETTLE_S = 1.0
"""After switching the flood on or off, before measuring: clients starting to send, or the
requests still queued when they were paused being answered."""


@attrs.frozen
class FloodFigures:
    path: str
    quotes_per_s_flooded: float
    quotes_per_s_quiet: float
    ratio: float
    """quotes/s flooded ÷ quotes/s quiet, over all the rounds."""
    median_ratio: float
    ratios: tuple[float, ...]
    """Per round: the flooded window ÷ the quiet window right after it (the spread shows the
    machine's noise)."""
    answers_per_s: float
    """What the flood clients got, all together, per second of flooding."""
    server_loop_share: float
    """CPU time the event loop spent in the status server's tasks (accepting, parsing,
    rendering, sending), as a share of the flooded windows' wall time: what the server lets
    the flood take from quoting, without the machine's noise (nor the clients' own CPU)."""


class ServerTime(trio.abc.Instrument):
    """Sums the CPU time the event loop's thread spends in the tasks of the ``HttpServer``
    named ``name``
    (the status server is "metrics"; the world's faces in the same process have other names).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._ours: set[trio.lowlevel.Task] = set()
        self._started = 0.0
        self.seconds = 0.0

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        frame = getattr(task.coro, "cr_frame", None)
        owner = frame.f_locals.get("self") if frame is not None else None
        if isinstance(owner, HttpServer) and owner.name == self._name:
            self._ours.add(task)

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self._ours.discard(task)

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task in self._ours:
            self._started = time.thread_time()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if task in self._ours:
            self.seconds += time.thread_time() - self._started


@attrs.frozen
class ServerFigures:
    protected: bool
    clients: int
    rounds: int
    window_s: float
    floods: tuple[FloodFigures, ...]


def _quotes(engine: QuoteEngine) -> int:
    dispatcher = engine.dispatcher
    return dispatcher.quotes if dispatcher is not None else 0


async def quotes_per_s(engine: QuoteEngine, seconds: float) -> float:
    before, started = _quotes(engine), trio.current_time()
    await trio.sleep(seconds)
    return (_quotes(engine) - before) / (trio.current_time() - started)


async def flood_rounds(
    app: App, path: str, server_time: ServerTime, rounds: int = ROUNDS
) -> FloodFigures:
    """``rounds`` × (flooded window, quiet window) with CLIENTS clients on ``path``."""
    assert app.pipeline is not None
    engine = app.pipeline.engine
    in_server = 0.0
    clients = [
        await trio.lowlevel.open_process(
            [
                sys.executable,
                "-m",
                "tests.e2e.flood_client",
                f"{app.metrics.url}{path}",
                *(["--close"] if i % 2 else []),
            ],
            stdout=subprocess.PIPE,
            cwd=REPO,
        )
        for i in range(CLIENTS)
    ]
    flooded: list[float] = []
    quiet: list[float] = []
    try:
        for _ in range(rounds):
            for client in clients:
                client.send_signal(signal.SIGCONT)
            await trio.sleep(SETTLE_S)
            before = server_time.seconds
            flooded.append(await quotes_per_s(engine, WINDOW_S))
            in_server += server_time.seconds - before
            for client in clients:
                client.send_signal(signal.SIGSTOP)
            await trio.sleep(SETTLE_S)
            quiet.append(await quotes_per_s(engine, WINDOW_S))
    finally:
        answers = 0
        for client in clients:
            client.send_signal(signal.SIGCONT)
            client.terminate()
        for client in clients:
            assert client.stdout is not None
            output = b""
            while chunk := await client.stdout.receive_some():
                output += chunk
            await client.wait()
            answers += int(output or b"0")
    ratios = tuple(round(f / q, 3) if q else 0.0 for f, q in zip(flooded, quiet, strict=True))
    return FloodFigures(
        path=path,
        quotes_per_s_flooded=round(statistics.fmean(flooded), 1),
        quotes_per_s_quiet=round(statistics.fmean(quiet), 1),
        ratio=round(statistics.fmean(flooded) / statistics.fmean(quiet), 3),
        median_ratio=round(statistics.median(ratios), 3),
        ratios=ratios,
        answers_per_s=round(answers / (rounds * (SETTLE_S + WINDOW_S)), 1),
        server_loop_share=round(in_server / (rounds * WINDOW_S), 4),
    )


def unprotected_server(app: App) -> MetricsServer:
    """The status server as it was: every request rendered, no pacing, no cap, 60 s idle."""
    return MetricsServer(
        app.registry,
        host=app.config.metrics.host,
        port=app.config.metrics.port,
        status=app.status,
        secrets=app.config.secrets(),
        refresh_s=0.0,
        max_connections=0,
        idle_timeout_s=60.0,
        max_requests_per_s=0.0,
    )


async def measure(tmp_path: Path, *, protected: bool = True, rounds: int = ROUNDS) -> ServerFigures:
    config = quiet_config(tmp_path, seed=7)
    config = attrs.evolve(config, logging=attrs.evolve(config.logging, level="warning"))
    app = App(config, RunOptions(), out=io.StringIO())
    if not protected:
        app.metrics = unprotected_server(app)
    floods = []
    server_time = ServerTime("metrics")
    trio.lowlevel.add_instrument(server_time)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(app.run)
            with trio.fail_after(60):
                await app.running.wait()
            await trio.sleep(WARMUP_S)
            for path in ("/metrics", "/status"):
                floods.append(await flood_rounds(app, path, server_time, rounds))
            nursery.cancel_scope.cancel()
    finally:
        trio.lowlevel.remove_instrument(server_time)
    return ServerFigures(
        protected=protected,
        clients=CLIENTS,
        rounds=rounds,
        window_s=WINDOW_S,
        floods=tuple(floods),
    )


def as_json(figures: ServerFigures) -> Mapping[str, Any]:
    return attrs.asdict(figures)
