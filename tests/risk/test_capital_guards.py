"""Capital guards: the lamports in flight, the UTC day's realised loss, the SOL balance floor
— each holds sends back, says why, shows in the state (``/status``) and in the metrics."""

from __future__ import annotations

from galileo.risk import InflightSlot, PauseCause, RiskGate, Skip, SkipReason
from tests.risk.risk_helpers import Metrics, RiskConfigFactory

PROFIT = 50_000
DAY = 86_400.0


async def test_trade_sizes_in_flight_are_capped_and_freed_on_release(
    risk_config: RiskConfigFactory, metrics: Metrics
) -> None:
    gate = RiskGate(
        risk_config(max_inflight=10, max_inflight_lamports=1_000_000_000), metrics=metrics.risk
    )
    first = gate.admit(size=600_000_000, expected_profit=PROFIT)
    assert isinstance(first, InflightSlot)

    second = gate.admit(size=500_000_000, expected_profit=PROFIT)

    assert isinstance(second, Skip) and second.reason is SkipReason.INFLIGHT_LAMPORTS
    assert isinstance(gate.admit(size=400_000_000, expected_profit=PROFIT), InflightSlot)
    assert gate.state().inflight_lamports == 1_000_000_000
    assert metrics.registry.get_sample_value("galileo_risk_inflight_lamports") == 1_000_000_000
    first.release()
    assert gate.state().inflight_lamports == 400_000_000
    assert metrics.skips("inflight_lamports") == 1


async def test_the_daily_loss_cap_pauses_until_the_next_utc_midnight(
    risk_config: RiskConfigFactory, metrics: Metrics
) -> None:
    wall = [10 * DAY + 3600.0]  # 01:00 UTC
    gate = RiskGate(
        risk_config(daily_loss_limit_lamports=1_000_000, max_loss_lamports=10**12),
        metrics=metrics.risk,
        wall_clock=lambda: wall[0],
    )
    gate.record_outcome(landed=False, realised_lamports=-600_000)
    assert gate.blocked() is None
    gate.record_outcome(landed=False, realised_lamports=-600_000)

    assert gate.blocked() is SkipReason.DAILY_LOSS
    assert PauseCause.DAILY_LOSS in gate.state().causes
    assert gate.state().day_pnl_lamports == -1_200_000
    assert metrics.pauses("daily_loss") == 1
    wall[0] = 11 * DAY - 1.0  # 23:59:59 the same day: still paused
    assert gate.blocked() is SkipReason.DAILY_LOSS
    wall[0] = 11 * DAY  # midnight UTC: a new day
    assert gate.blocked() is None
    assert gate.state().day_pnl_lamports == 0


async def test_a_sol_balance_below_the_floor_pauses_until_a_read_shows_it_back(
    risk_config: RiskConfigFactory, metrics: Metrics
) -> None:
    gate = RiskGate(risk_config(min_sol_balance_lamports=50_000_000), metrics=metrics.risk)
    assert gate.blocked() is None  # not read yet: no guess

    gate.observe_sol_balance(49_999_999)

    assert gate.blocked() is SkipReason.BALANCE_FLOOR
    state = gate.state().to_json()
    assert state["sol_balance_lamports"] == 49_999_999
    assert state["causes"] == ["balance_floor"]
    assert metrics.paused() == 1
    assert metrics.registry.get_sample_value("galileo_wallet_sol_lamports") == 49_999_999
    gate.observe_sol_balance(50_000_000)
    assert gate.blocked() is None
    assert metrics.pauses("balance_floor") == 1


async def test_guards_set_to_zero_are_off(risk_config: RiskConfigFactory) -> None:
    gate = RiskGate(risk_config(max_inflight=10, max_loss_lamports=10**12))
    gate.observe_sol_balance(0)
    gate.record_outcome(landed=False, realised_lamports=-(10**6))
    assert isinstance(gate.admit(size=10**9, expected_profit=PROFIT), InflightSlot)
    assert gate.blocked() is None
