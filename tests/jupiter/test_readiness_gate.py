"""The supervisor as the quote engine's readiness gate (``galileo.model.ReadinessGate``)."""

from __future__ import annotations

import trio
import trio.testing

from galileo._config import Config
from galileo.jupiter_binary import JupiterState, JupiterSupervisor
from galileo.model import ReadinessGate


async def test_ready_and_unhealthy_are_ready_and_waiters_wake_on_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    supervisor = JupiterSupervisor(Config(), write_runtime_file=False)
    gate: ReadinessGate = supervisor
    assert not gate.is_ready()  # stopped
    woke: list[float] = []

    async def waiter() -> None:
        await gate.wait_ready()
        woke.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await trio.sleep(1)
        supervisor._set_state(JupiterState.STARTING)
        await trio.sleep(1)
        assert woke == []
        supervisor._set_state(JupiterState.READY)
    assert woke == [2.0]
    supervisor._set_state(JupiterState.UNHEALTHY)
    assert gate.is_ready()
    await gate.wait_ready()  # at once
    supervisor._set_state(JupiterState.RESTARTING)
    assert not gate.is_ready()
