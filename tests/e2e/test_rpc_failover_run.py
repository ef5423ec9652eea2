"""RPC failover in a whole run: the primary execution RPC is killed mid-run and trading goes
on through the fallback — blockhashes, lookup tables, landing statuses and the closing
wallet read — and the ledger still matches the chain."""

from __future__ import annotations

import io
import time
from pathlib import Path

import attrs
import pytest
import trio

from galileo._app import App, RunOptions
from galileo._secret import Secret
from galileo.ledger import Ledger, default_ledger_path
from galileo.model import AttemptStatus
from tests.ports import free_port
from tests.worlds import quiet_config

KILL_AT_S = 7.0
"""Seconds after start the primary dies (the run starts trading after about 3 s)."""
RUN_S = 14.0


async def _pipe(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


async def tcp_proxy(
    listen_port: int, target_port: int, *, task_status: trio.TaskStatus[None]
) -> None:
    """A TCP proxy on ``listen_port`` to ``target_port``: the "primary RPC". Cancelling it
    closes the listener and every connection, like a process that died."""

    async def handle(client: trio.SocketStream) -> None:
        async with client:
            upstream = await trio.open_tcp_stream("127.0.0.1", target_port)
            async with upstream, trio.open_nursery() as nursery:
                nursery.start_soon(_pipe, client, upstream)
                await _pipe(upstream, client)
                nursery.cancel_scope.cancel()

    listeners = await trio.open_tcp_listeners(listen_port, host="127.0.0.1")
    task_status.started()
    await trio.serve_listeners(handle, listeners)


@pytest.mark.slow
async def test_trading_continues_on_the_fallback_when_the_primary_rpc_dies(
    tmp_path: Path,
) -> None:
    rpc_port, proxy_port = free_port(), free_port()
    config = quiet_config(tmp_path, seed=11)
    config = attrs.evolve(
        config,
        sim=attrs.evolve(config.sim, rpc_port=rpc_port),
        execution=attrs.evolve(
            config.execution,
            rpc_urls=[
                Secret(f"http://127.0.0.1:{proxy_port}"),
                Secret(f"http://127.0.0.1:{rpc_port}"),
            ],
        ),
    )
    out = io.StringIO()
    app = App(config, RunOptions(duration_s=RUN_S), out=out)
    summaries: list[dict[str, object]] = []
    async with trio.open_nursery() as nursery:
        proxy = trio.CancelScope()

        async def primary(*, task_status: trio.TaskStatus[None]) -> None:
            with proxy:
                await tcp_proxy(proxy_port, rpc_port, task_status=task_status)

        async def run() -> None:
            summaries.append(await app.run())

        await nursery.start(primary)
        started = trio.current_time()
        nursery.start_soon(run)
        await trio.sleep_until(started + KILL_AT_S)
        proxy.cancel()
        killed_ms = int(time.time() * 1000)
    summary = summaries[0]
    print(out.getvalue())

    ledger = Ledger(default_ledger_path(config.state_dir))
    try:
        attempts = ledger.attempts()
    finally:
        ledger.close()
    landed = [a for a in attempts if a.status is AttemptStatus.LANDED]
    after_kill = [a for a in landed if a.created_at_ms > killed_ms]
    print(
        f"primary killed {KILL_AT_S:.0f} s in; landed {len(landed)}, "
        f"{len(after_kill)} of them planned after the kill; "
        f"pnl {summary['pnl_lamports']} vs delta {summary['wallet_delta_lamports']}"
    )
    assert after_kill, "nothing landed after the primary RPC died"
    assert summary["wallet_delta_lamports"] is not None
    assert summary["pnl_lamports"] == summary["wallet_delta_lamports"]
    assert all(a.status.terminal for a in attempts)
