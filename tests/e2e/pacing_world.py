"""The multi-IP acceptance world: the quote engine on four loopback source IPs against the
simulated Jupiter, launched as a child process by the real ``JupiterSupervisor`` (as ``galileo
run`` does), with a per-IP /quote limit R that galileo is not told.

Two measurements (tests/e2e/test_multi_ip_pacing.py asserts them, benches/bench_multi_ip.py
writes them to benches/results/multi_ip.json):

* :func:`measure_limit` — over ``duration_s``: successful quotes against 4R, each IP's request
  rate at the sim (its per-IP counters, read from the child's ``--metrics-port``), and the
  share of 429 answers after the first ``WARMUP_S`` seconds;
* :func:`measure_restart` — the Jupiter child is killed mid-run: failed connects per IP per
  second while it is down, and the time from Ready to the first successful quote;
* :func:`measure_removal` — one IP fails its bind check mid-run: the inventory drops it, its
  crew is cancelled, the other IPs' rates before and after, and the IP's return.

The sim Jupiter runs in its own process so that the engine has a CPU to itself: in one
process the two together top out near 850 quotes/s on two cores, too close to 4 × 200.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from galileo._config import Config, NetworkConfig, SimFaultsConfig
from galileo.engine import QuoteEngine
from galileo.jupiter_binary import JupiterState, JupiterSupervisor
from galileo.model import Opportunity
from galileo.net import DEFAULT_UPSTREAM, IpInventory
from tests.ports import free_port
from tests.worlds import quiet_world

IPS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
WARMUP_S = 3.0
"""The learning phase the 429 criterion leaves out."""


@attrs.frozen
class IpFigures:
    """One source IP as the sim counted it (requests per second over the whole run and after
    the warm-up) and the rate galileo learned for it."""

    ip: str
    requests_per_s: float
    served_per_s: float
    requests_per_s_after_warmup: float
    served_per_s_after_warmup: float
    rate_limited_after_warmup: int
    learned_rps: float


@attrs.frozen
class LimitFigures:
    limit_rps: float
    duration_s: float
    quotes: int
    quotes_per_s: float
    share_of_allowed: float
    """Successful quotes per second / (IPs × R)."""
    requests_after_warmup: int
    rate_limited_after_warmup: int
    rate_limited_share_after_warmup: float
    ips: tuple[IpFigures, ...]


@attrs.frozen
class RestartFigures:
    gated: bool
    """Whether the engine waited on the supervisor's readiness (as ``galileo run`` wires it)."""
    down_s: float
    """From the kill to Ready again."""
    failed_connects: dict[str, int]
    failed_connects_per_ip_per_s: dict[str, float]
    max_failed_connects_per_ip_per_s: float
    ready_to_first_quote_s: float


@attrs.frozen
class RemovalFigures:
    removed_ip: str
    before_per_s: dict[str, float]
    """Quotes served per second per IP (at the sim) in the window before the removal."""
    after_per_s: dict[str, float]
    """The same in the window after it."""
    kept_rate_ratio: float
    """The lowest after/before ratio among the IPs that stayed."""
    crews_after: tuple[str, ...]
    inflight_on_removed_after: int
    back_per_s: float
    """The removed IP's served rate once the inventory found it again (no restart)."""


class BindSwitch:
    """A bind check the test can fail for one IP (an address that left its interface)."""

    def __init__(self) -> None:
        self.failing: set[str] = set()

    def __call__(self, ip: str) -> str | None:
        return "address not available" if ip in self.failing else None


def acceptance_config(tmp_path: Path, limit_rps: float) -> Config:
    """Four source IPs, the sim's Jupiter limited to ``limit_rps`` per IP, on free ports."""
    base = Config()
    launch = attrs.evolve(base.jupiter.launch, port=free_port(), metrics_port=free_port())
    process = attrs.evolve(base.jupiter.process, restart_backoff_initial_s=1.0)
    return attrs.evolve(
        base,
        state_dir=str(tmp_path / "state"),
        network=NetworkConfig(enable_multiple_ip=True, manual_ips=list(IPS)),
        sim=attrs.evolve(
            base.sim,
            rpc_port=0,
            jito_port=0,
            drift_bps_per_s=0,
            dislocation_rate_per_s=0.0,
            source_ips=list(IPS),
            jupiter_faults=SimFaultsConfig(quote_rps_per_ip=limit_rps),
        ),
        jupiter=attrs.evolve(base.jupiter, launch=launch, process=process),
    )


@attrs.define
class Session:
    """A running engine against a supervised sim Jupiter."""

    config: Config
    supervisor: JupiterSupervisor
    engine: QuoteEngine
    started_at: float

    @property
    def quotes(self) -> int:
        dispatcher = self.engine.dispatcher
        return dispatcher.quotes if dispatcher is not None else 0

    async def sim_counts(self) -> dict[str, tuple[int, int]]:
        """Per source IP (served, rate_limited) as the sim Jupiter counted them."""
        url = f"http://127.0.0.1:{self.config.jupiter.launch.metrics_port}/metrics"
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
            text = (await client.get(url)).text
        counts: dict[str, list[int]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name != "galileo_sim_jupiter_requests_total":
                    continue
                pair = counts.setdefault(sample.labels["ip"], [0, 0])
                pair[0 if sample.labels["result"] == "served" else 1] = int(sample.value)
        return {ip: (served, limited) for ip, (served, limited) in counts.items()}

    def connect_errors(self) -> dict[str, int]:
        return {s.ip: s.connect_errors for s in self.engine.allocator.snapshot()}


@asynccontextmanager
async def engine_session(
    tmp_path: Path,
    limit_rps: float,
    *,
    gated: bool = True,
    inventory: IpInventory | None = None,
) -> AsyncIterator[Session]:
    """The world's RPC in-process, its Jupiter as a supervised child, and the engine
    (``inventory``: its source IPs; default the config's)."""
    config = acceptance_config(tmp_path, limit_rps)
    async with quiet_world(tmp_path, serve_jupiter=False) as world:
        supervisor = JupiterSupervisor(config, rpc_url=world.rpc_url, write_runtime_file=False)
        supervisor.ready_poll_interval_s = 0.1
        async with trio.open_nursery() as nursery:
            url = await nursery.start(supervisor.run)
            send, receive = trio.open_memory_channel[Opportunity](64)
            engine = QuoteEngine.from_config(
                config,
                jupiter_url=url,
                opportunities=send,
                registry=CollectorRegistry(),
                ready=supervisor if gated else None,
                inventory=inventory,
            )
            nursery.start_soon(_discard, receive)
            await nursery.start(engine.run)
            yield Session(config, supervisor, engine, trio.current_time())
            nursery.cancel_scope.cancel()


async def _discard(receive: trio.MemoryReceiveChannel[Opportunity]) -> None:
    async with receive:
        async for _ in receive:
            pass


async def measure_limit(tmp_path: Path, limit_rps: float, duration_s: float = 20.0) -> LimitFigures:
    async with engine_session(tmp_path, limit_rps) as session:
        await trio.sleep_until(session.started_at + WARMUP_S)
        at_warmup = await session.sim_counts()
        await trio.sleep_until(session.started_at + duration_s)
        quotes = session.quotes
        at_end = await session.sim_counts()
        snapshot = session.engine.allocator.snapshot()
        learned = {s.ip: s.learned_rps.get(DEFAULT_UPSTREAM, 0.0) for s in snapshot}
    return _limit_figures(limit_rps, duration_s, quotes, at_warmup, at_end, learned)


def _limit_figures(
    limit_rps: float,
    duration_s: float,
    quotes: int,
    at_warmup: Mapping[str, tuple[int, int]],
    at_end: Mapping[str, tuple[int, int]],
    learned: Mapping[str, float],
) -> LimitFigures:
    late = duration_s - WARMUP_S
    ips = []
    for ip in IPS:
        served, limited = at_end.get(ip, (0, 0))
        served_w, limited_w = at_warmup.get(ip, (0, 0))
        late_served, late_limited = served - served_w, limited - limited_w
        ips.append(
            IpFigures(
                ip=ip,
                requests_per_s=round((served + limited) / duration_s, 2),
                served_per_s=round(served / duration_s, 2),
                requests_per_s_after_warmup=round((late_served + late_limited) / late, 2),
                served_per_s_after_warmup=round(late_served / late, 2),
                rate_limited_after_warmup=late_limited,
                learned_rps=round(learned.get(ip, 0.0), 2),
            )
        )
    late_requests = sum(sum(at_end.get(ip, (0, 0))) - sum(at_warmup.get(ip, (0, 0))) for ip in IPS)
    late_limited = sum(f.rate_limited_after_warmup for f in ips)
    quotes_per_s = quotes / duration_s
    return LimitFigures(
        limit_rps=limit_rps,
        duration_s=duration_s,
        quotes=quotes,
        quotes_per_s=round(quotes_per_s, 2),
        share_of_allowed=round(quotes_per_s / (len(IPS) * limit_rps), 4),
        requests_after_warmup=late_requests,
        rate_limited_after_warmup=late_limited,
        rate_limited_share_after_warmup=round(late_limited / max(1, late_requests), 5),
        ips=tuple(ips),
    )


async def measure_restart(
    tmp_path: Path, *, limit_rps: float = 200.0, gated: bool = True, warmup_s: float = WARMUP_S
) -> RestartFigures:
    """Kill the Jupiter child after ``warmup_s``; count failed connects per IP until the
    supervisor reports Ready again, then time the first successful quote."""
    async with engine_session(tmp_path, limit_rps, gated=gated) as session:
        supervisor = session.supervisor
        await trio.sleep_until(session.started_at + warmup_s)
        before = session.connect_errors()
        pid = supervisor.pid
        assert pid is not None
        killed_at = trio.current_time()
        os.kill(pid, signal.SIGKILL)
        with trio.fail_after(30):
            await supervisor.wait_state(JupiterState.RESTARTING, JupiterState.STARTING)
            await supervisor.wait_state(JupiterState.READY)
        ready_at = trio.current_time()
        quotes_at_ready = session.quotes
        after = session.connect_errors()
        with trio.fail_after(30):
            while session.quotes == quotes_at_ready:  # noqa: ASYNC110 - a counter, no event
                await trio.sleep(0.002)
        first_quote_at = trio.current_time()
    down_s = ready_at - killed_at
    failed = {ip: after[ip] - before[ip] for ip in IPS}
    per_s = {ip: round(n / down_s, 2) for ip, n in failed.items()}
    return RestartFigures(
        gated=gated,
        down_s=round(down_s, 3),
        failed_connects=failed,
        failed_connects_per_ip_per_s=per_s,
        max_failed_connects_per_ip_per_s=max(per_s.values()),
        ready_to_first_quote_s=round(first_quote_at - ready_at, 4),
    )


async def measure_removal(
    tmp_path: Path, *, limit_rps: float = 40.0, window_s: float = 4.0
) -> RemovalFigures:
    """Run until every IP has settled at the limit, fail the last IP's bind check, refresh the
    inventory and apply its change as the pipeline does; compare the served rates per IP
    over ``window_s`` before and after, then let the IP come back."""
    removed = IPS[-1]
    switch = BindSwitch()
    config = acceptance_config(tmp_path, limit_rps)
    inventory = IpInventory(config.network, allow_loopback=True, bind_check=switch)
    async with engine_session(tmp_path, limit_rps, inventory=inventory) as session:
        engine = session.engine
        await trio.sleep_until(session.started_at + WARMUP_S + 2.0)
        a = await session.sim_counts()
        await trio.sleep(window_s)
        b = await session.sim_counts()
        switch.failing.add(removed)
        change = inventory.refresh()
        assert change.removed == (removed,), change
        for ip in change.removed:
            engine.remove_ip(ip)
        await trio.sleep(0.5)  # answers already on the wire arrive
        crews = tuple(engine.dispatcher.crews if engine.dispatcher else ())
        c = await session.sim_counts()
        await trio.sleep(window_s)
        d = await session.sim_counts()
        inflight = sum(s.inflight for s in engine.allocator.snapshot() if s.ip == removed)
        switch.failing.clear()
        change = inventory.refresh()
        assert change.added == (removed,), change
        for ip in change.added:
            engine.add_ip(ip)
        await trio.sleep(2.0)  # slow start
        e = await session.sim_counts()
        await trio.sleep(2.0)
        f = await session.sim_counts()

    def served(x: Mapping[str, tuple[int, int]], y: Mapping[str, tuple[int, int]], ip: str) -> int:
        return y.get(ip, (0, 0))[0] - x.get(ip, (0, 0))[0]

    before = {ip: round(served(a, b, ip) / window_s, 2) for ip in IPS}
    after = {ip: round(served(c, d, ip) / window_s, 2) for ip in IPS}
    kept = [after[ip] / before[ip] for ip in IPS if ip != removed and before[ip] > 0]
    return RemovalFigures(
        removed_ip=removed,
        before_per_s=before,
        after_per_s=after,
        kept_rate_ratio=round(min(kept), 4) if kept else 0.0,
        crews_after=crews,
        inflight_on_removed_after=inflight,
        back_per_s=round(served(e, f, removed) / 2.0, 2),
    )


def as_json(figures: LimitFigures | RestartFigures | RemovalFigures) -> dict[str, Any]:
    return attrs.asdict(figures)
