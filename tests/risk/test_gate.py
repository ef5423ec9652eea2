"""RiskGate: each guard, in-flight accounting, pauses on trio's mock clock."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from galileo.risk import (
    Allow,
    InflightLimitError,
    PauseCause,
    RiskGate,
    Skip,
    SkipReason,
)
from tests.risk.risk_helpers import Metrics, RiskConfigFactory

SIZE = 500_000_000
PROFIT = 50_000


def allowed(gate: RiskGate, **kwargs: int) -> bool:
    facts = {"size": SIZE, "expected_profit": PROFIT, **kwargs}
    return isinstance(gate.check(**facts), Allow)


# -- per-opportunity guards ------------------------------------------------------------------


async def test_a_profitable_opportunity_of_allowed_size_is_allowed(
    risk_config: RiskConfigFactory, metrics: Metrics
) -> None:
    gate = RiskGate(risk_config(), metrics=metrics.risk)
    assert gate.check(size=SIZE, expected_profit=PROFIT) == Allow(dry_run=False)
    assert metrics.skips("below_min_profit") == 0


@pytest.mark.parametrize(
    ("size", "profit", "reason"),
    [
        (0, PROFIT, SkipReason.INVALID),
        (-5, PROFIT, SkipReason.INVALID),
        (1_000_000_001, PROFIT, SkipReason.ABOVE_MAX_SIZE),
        (SIZE, 9_999, SkipReason.BELOW_MIN_PROFIT),
        (SIZE, -1, SkipReason.BELOW_MIN_PROFIT),
    ],
)
async def test_opportunity_guards_skip_with_their_reason(
    risk_config: RiskConfigFactory, metrics: Metrics, size: int, profit: int, reason: SkipReason
) -> None:
    gate = RiskGate(risk_config(), metrics=metrics.risk)
    decision = gate.check(size=size, expected_profit=profit)
    assert isinstance(decision, Skip)
    assert decision.reason is reason
    assert metrics.skips(reason.value) == 1


async def test_the_limits_are_inclusive(risk_config: RiskConfigFactory) -> None:
    gate = RiskGate(risk_config())
    assert allowed(gate, size=1_000_000_000, expected_profit=10_000)


async def test_a_per_mint_minimum_overrides_the_global_one(risk_config: RiskConfigFactory) -> None:
    gate = RiskGate(risk_config())
    assert not allowed(gate, expected_profit=20_000, min_profit_lamports=30_000)
    assert allowed(gate, expected_profit=5_000, min_profit_lamports=5_000)
    # 0 means "use risk.min_profit_lamports", as in strategy.blind.base_mints[].
    assert not allowed(gate, expected_profit=5_000, min_profit_lamports=0)


async def test_dry_run_allows_with_the_dry_run_flag(risk_config: RiskConfigFactory) -> None:
    gate = RiskGate(risk_config(dry_run=True))
    assert gate.check(size=SIZE, expected_profit=PROFIT) == Allow(dry_run=True)
    slot = gate.admit(size=SIZE, expected_profit=PROFIT)
    assert not isinstance(slot, Skip)
    assert slot.dry_run


async def test_every_skip_reason_is_exported_from_the_start(metrics: Metrics) -> None:
    for reason in SkipReason:
        assert metrics.skips(reason.value) == 0
        assert (
            metrics.registry.get_sample_value("galileo_risk_skips_total", {"reason": reason.value})
            == 0
        )


# -- in-flight cap ---------------------------------------------------------------------------


async def test_the_inflight_cap_skips_until_a_slot_is_released(
    risk_config: RiskConfigFactory, metrics: Metrics
) -> None:
    gate = RiskGate(risk_config(max_inflight=2), metrics=metrics.risk)
    first = gate.admit(size=SIZE, expected_profit=PROFIT)
    second = gate.admit(size=SIZE, expected_profit=PROFIT)
    assert not isinstance(first, Skip) and not isinstance(second, Skip)
    assert (gate.inflight, metrics.inflight()) == (2, 2)
    third = gate.admit(size=SIZE, expected_profit=PROFIT)
    assert third == Skip(SkipReason.INFLIGHT_CAP, "2 in flight")
    assert metrics.skips("inflight_cap") == 1
    first.release()
    first.release()  # idempotent
    assert (gate.inflight, metrics.inflight()) == (1, 1)
    assert allowed(gate)
    second.release()
    assert gate.inflight == 0


async def test_acquire_raises_when_full_and_slot_works_as_a_context_manager(
    risk_config: RiskConfigFactory,
) -> None:
    gate = RiskGate(risk_config(max_inflight=1))
    async with gate.slot() as slot:
        assert gate.inflight == 1
        with pytest.raises(InflightLimitError) as info:
            gate.acquire()
        assert (info.value.inflight, info.value.limit) == (1, 1)
    assert slot.released
    assert gate.inflight == 0
    with gate.acquire():
        assert gate.inflight == 1
    assert gate.inflight == 0


async def test_a_slot_is_released_when_the_block_raises(risk_config: RiskConfigFactory) -> None:
    gate = RiskGate(risk_config(max_inflight=1))
    with pytest.raises(RuntimeError):
        async with gate.slot():
            raise RuntimeError("send failed")
    assert gate.inflight == 0


# -- failure streak --------------------------------------------------------------------------


async def test_a_failure_streak_pauses_for_pause_s(
    risk_config: RiskConfigFactory, metrics: Metrics, mock_clock: trio.testing.MockClock
) -> None:
    gate = RiskGate(risk_config(failure_streak_pause=3, pause_s=60), metrics=metrics.risk)
    gate.record_outcome(landed=False)
    gate.record_outcome(landed=False)
    assert allowed(gate)
    gate.record_outcome(landed=False)
    assert gate.check(size=SIZE, expected_profit=PROFIT) == Skip(SkipReason.FAILURE_STREAK)
    assert gate.blocked() is SkipReason.FAILURE_STREAK
    assert (metrics.paused(), metrics.pauses("failure_streak")) == (1, 1)
    assert gate.state().causes == (PauseCause.FAILURE_STREAK,)

    mock_clock.jump(59.9)
    assert not allowed(gate)
    mock_clock.jump(0.1)
    assert allowed(gate)
    assert gate.blocked() is None
    assert metrics.paused() == 0
    # The streak starts again from zero after a pause.
    gate.record_outcome(landed=False)
    gate.record_outcome(landed=False)
    assert allowed(gate)


async def test_a_landing_resets_the_failure_streak(
    risk_config: RiskConfigFactory, mock_clock: trio.testing.MockClock
) -> None:
    gate = RiskGate(risk_config(failure_streak_pause=3))
    for _ in range(5):
        gate.record_outcome(landed=False)
        gate.record_outcome(landed=False)
        gate.record_outcome(landed=True, realised_lamports=1_000)
    assert allowed(gate)
    assert gate.state().failure_streak == 0


async def test_opportunity_guards_are_counted_before_pauses(
    risk_config: RiskConfigFactory, metrics: Metrics, mock_clock: trio.testing.MockClock
) -> None:
    gate = RiskGate(risk_config(failure_streak_pause=1), metrics=metrics.risk)
    gate.record_outcome(landed=False)
    gate.check(size=SIZE, expected_profit=1)
    gate.check(size=SIZE, expected_profit=PROFIT)
    assert metrics.skips("below_min_profit") == 1
    assert metrics.skips("failure_streak") == 1


# -- loss limit ------------------------------------------------------------------------------


async def test_a_net_loss_over_the_limit_pauses(
    risk_config: RiskConfigFactory, metrics: Metrics, mock_clock: trio.testing.MockClock
) -> None:
    gate = RiskGate(risk_config(max_loss_lamports=100_000), metrics=metrics.risk)
    gate.record_outcome(landed=True, realised_lamports=-60_000)
    gate.record_outcome(landed=True, realised_lamports=-40_000)
    assert allowed(gate)  # exactly the limit: not exceeded
    gate.record_outcome(landed=True, realised_lamports=-1)
    assert gate.check(size=SIZE, expected_profit=PROFIT) == Skip(SkipReason.LOSS_LIMIT)
    assert metrics.pauses("loss_limit") == 1
    assert gate.state().window_pnl_lamports == -100_001


async def test_profits_in_the_window_offset_losses(
    risk_config: RiskConfigFactory, mock_clock: trio.testing.MockClock
) -> None:
    gate = RiskGate(risk_config(max_loss_lamports=100_000))
    gate.record_outcome(landed=True, realised_lamports=50_000)
    gate.record_outcome(landed=False, realised_lamports=-140_000)
    assert allowed(gate)
    gate.record_realised(-20_000)  # a late balance read
    assert not allowed(gate)


async def test_the_loss_pause_lasts_until_the_losses_slide_out_of_the_window(
    risk_config: RiskConfigFactory, metrics: Metrics, mock_clock: trio.testing.MockClock
) -> None:
    gate = RiskGate(
        risk_config(max_loss_lamports=100_000, loss_window_s=600, pause_s=60),
        metrics=metrics.risk,
    )
    gate.record_outcome(landed=True, realised_lamports=-70_000)  # t = 0
    mock_clock.jump(300)
    gate.record_outcome(landed=True, realised_lamports=-70_000)  # t = 300: −140 000
    assert not allowed(gate)
    mock_clock.jump(60)  # pause_s is over, but the window still holds −140 000
    assert gate.check(size=SIZE, expected_profit=PROFIT) == Skip(SkipReason.LOSS_LIMIT)
    assert gate.state().loss_pause_remaining_s == 0
    mock_clock.jump(240)  # t = 600: the first loss leaves the window
    assert allowed(gate)
    assert gate.state().window_pnl_lamports == -70_000
    assert metrics.paused() == 0


async def test_old_losses_do_not_count(
    risk_config: RiskConfigFactory, mock_clock: trio.testing.MockClock
) -> None:
    gate = RiskGate(risk_config(max_loss_lamports=100_000, loss_window_s=600))
    gate.record_outcome(landed=True, realised_lamports=-90_000)
    mock_clock.jump(601)
    gate.record_outcome(landed=True, realised_lamports=-90_000)
    assert allowed(gate)
    assert gate.state().window_pnl_lamports == -90_000


async def test_realised_amounts_must_be_ints(risk_config: RiskConfigFactory) -> None:
    gate = RiskGate(risk_config())
    with pytest.raises(TypeError):
        gate.record_outcome(landed=True, realised_lamports=1.5)  # type: ignore[arg-type]


# -- time ------------------------------------------------------------------------------------


async def test_a_pause_expires_on_the_autojump_clock(
    risk_config: RiskConfigFactory, autojump_clock: trio.testing.MockClock
) -> None:
    gate = RiskGate(risk_config(failure_streak_pause=1, pause_s=30))
    gate.record_outcome(landed=False)
    assert not allowed(gate)
    await trio.sleep(30)  # virtual time: returns at once
    assert allowed(gate)


async def test_the_clock_can_be_injected(risk_config: RiskConfigFactory) -> None:
    now = [100.0]
    gate = RiskGate(risk_config(failure_streak_pause=1, pause_s=10), clock=lambda: now[0])
    gate.record_outcome(landed=False)
    assert not allowed(gate)
    now[0] = 110.0
    assert allowed(gate)


def test_a_gate_can_be_built_outside_trio_and_used_inside(risk_config: RiskConfigFactory) -> None:
    gate = RiskGate(risk_config())

    async def main() -> tuple[bool, dict[str, object]]:
        return allowed(gate), gate.state().to_json()

    ok, state = trio.run(main)
    assert ok
    assert state["paused"] is False
    assert state["max_inflight"] == 2
    assert state["window_pnl_lamports"] == 0
