"""Decisions of the risk gate: ``Allow`` or ``Skip(reason)``, and why sending is paused."""

from __future__ import annotations

import enum

import attrs

from galileo._errors import GalileoError


class SkipReason(enum.StrEnum):
    """Why an opportunity is not sent. Values are the ``reason`` label of
    ``galileo_risk_skips_total``.

    The first three are about the opportunity itself, the others about the bot's state (they
    are checked after, so their counts are opportunities that would otherwise have been sent).
    """

    INVALID = "invalid"  # size ≤ 0
    ABOVE_MAX_SIZE = "above_max_size"
    BELOW_MIN_PROFIT = "below_min_profit"
    STOPPED = "stopped"  # `galileo stop` (or gate.stop()): this instance sends nothing more
    PAUSED = "paused"  # operator pause: the kill-switch file exists
    LOSS_LIMIT = "loss_limit"  # realised loss over the window exceeds max_loss_lamports
    FAILURE_STREAK = "failure_streak"  # failure_streak_pause failed sends in a row
    INFLIGHT_CAP = "inflight_cap"  # max_inflight submissions already awaiting their outcome
    INFLIGHT_LAMPORTS = "inflight_lamports"  # the size would take max_inflight_lamports over
    DAILY_LOSS = "daily_loss"  # the UTC day's realised loss exceeds daily_loss_limit_lamports
    BALANCE_FLOOR = "balance_floor"  # the SOL balance is below min_sol_balance_lamports


class PauseCause(enum.StrEnum):
    """What is holding sends back (``galileo_risk_pauses_total{cause}`` counts engagements)."""

    STOPPED = "stopped"
    OPERATOR = "operator"
    LOSS_LIMIT = "loss_limit"
    FAILURE_STREAK = "failure_streak"
    DAILY_LOSS = "daily_loss"
    BALANCE_FLOOR = "balance_floor"

    @property
    def skip_reason(self) -> SkipReason:
        return _SKIP_FOR_CAUSE[self]


_SKIP_FOR_CAUSE = {
    PauseCause.STOPPED: SkipReason.STOPPED,
    PauseCause.OPERATOR: SkipReason.PAUSED,
    PauseCause.LOSS_LIMIT: SkipReason.LOSS_LIMIT,
    PauseCause.FAILURE_STREAK: SkipReason.FAILURE_STREAK,
    PauseCause.DAILY_LOSS: SkipReason.DAILY_LOSS,
    PauseCause.BALANCE_FLOOR: SkipReason.BALANCE_FLOOR,
}


@attrs.frozen
class Allow:
    """Go ahead. With ``dry_run`` the caller builds and signs but must not send."""

    dry_run: bool = False


@attrs.frozen
class Skip:
    """Do not send; ``reason`` says why (``detail`` is for logs, never a metric label)."""

    reason: SkipReason
    detail: str = ""


Decision = Allow | Skip


class RiskError(GalileoError):
    """Root of the risk area's errors."""


class InflightLimitError(RiskError):
    """``acquire()`` was called while ``max_inflight`` slots are taken."""

    def __init__(self, inflight: int, limit: int) -> None:
        super().__init__(f"{inflight} submissions in flight, max_inflight is {limit}")
        self.inflight = inflight
        self.limit = limit


@attrs.frozen(kw_only=True)
class RiskState:
    """A snapshot of the gate, for /status and logs (times in seconds, amounts in lamports)."""

    causes: tuple[PauseCause, ...]
    operator_reason: str | None
    dry_run: bool
    inflight: int
    max_inflight: int
    failure_streak: int
    window_pnl_lamports: int
    loss_pause_remaining_s: float
    streak_pause_remaining_s: float
    inflight_lamports: int = 0
    max_inflight_lamports: int = 0
    day_pnl_lamports: int = 0
    """Realised PnL of the current UTC day."""
    daily_loss_limit_lamports: int = 0
    sol_balance_lamports: int | None = None
    """The last SOL balance read (None: not read yet, or no floor configured)."""
    min_sol_balance_lamports: int = 0

    @property
    def paused(self) -> bool:
        return bool(self.causes)

    def to_json(self) -> dict[str, object]:
        """For /status: plain JSON types, amounts as ints."""
        return {
            "paused": self.paused,
            "causes": [c.value for c in self.causes],
            "operator_reason": self.operator_reason,
            "dry_run": self.dry_run,
            "inflight": self.inflight,
            "max_inflight": self.max_inflight,
            "failure_streak": self.failure_streak,
            "window_pnl_lamports": self.window_pnl_lamports,
            "loss_pause_remaining_s": round(self.loss_pause_remaining_s, 3),
            "streak_pause_remaining_s": round(self.streak_pause_remaining_s, 3),
            "inflight_lamports": self.inflight_lamports,
            "max_inflight_lamports": self.max_inflight_lamports,
            "day_pnl_lamports": self.day_pnl_lamports,
            "daily_loss_limit_lamports": self.daily_loss_limit_lamports,
            "sol_balance_lamports": self.sol_balance_lamports,
            "min_sol_balance_lamports": self.min_sol_balance_lamports,
        }
