"""``RiskGate``: the guards between an opportunity and a send.

Per opportunity (``check`` / ``admit``): size > 0, size ≤ ``max_trade_size_lamports``,
expected profit ≥ the minimum. Per instance: stopped, paused by the operator (kill-switch
file), loss limit, failure streak, in-flight cap. Outcomes fed back with ``record_outcome``
drive the loss limit and the failure streak. Every decision is synchronous and does no I/O
except a ``stat`` of the control files at most every ``poll_interval_s``.

Loss limit: the net realised PnL of the outcomes recorded in the last ``loss_window_s``
(a sliding window) is tracked; when the net loss exceeds ``max_loss_lamports`` sending pauses
for at least ``pause_s`` *and* until enough of the loss has slid out of the window — a limit
per window that lifted after ``pause_s`` alone would allow ``max_loss`` every ``pause_s``.

Failure streak: ``failure_streak_pause`` failed sends in a row (no landing in between) pause
sending for ``pause_s``; the streak then starts again from zero.

Capital guards (each 0 = off): ``max_inflight_lamports`` caps the trade sizes awaiting their
outcome, summed (an opportunity that would take the sum over is skipped); the realised PnL of
the UTC day (wall clock) beyond ``-daily_loss_limit_lamports`` pauses sending until the next
UTC midnight; a SOL balance below ``min_sol_balance_lamports`` (fed by
:meth:`RiskGate.observe_sol_balance`, read by the pipeline every ``balance_check_s``) pauses
sending until a read shows it back above.

Time is ``trio.current_time()`` (injectable), so tests drive it with a ``MockClock``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import trio
from prometheus_client import CollectorRegistry

from galileo._config import RiskConfig
from galileo.risk._control import ControlAck, RiskControl
from galileo.risk._metrics import RiskMetrics
from galileo.risk._types import (
    Allow,
    InflightLimitError,
    PauseCause,
    RiskState,
    Skip,
    SkipReason,
)

_log = logging.getLogger("galileo.risk")

DEFAULT_POLL_INTERVAL_S = 0.25


class InflightSlot:
    """One reserved in-flight submission. ``release()`` is idempotent; also usable as
    ``with slot:`` / ``async with slot:`` (released on exit). Hand it to whatever task
    learns the outcome (the landing tracker) and release it there."""

    __slots__ = ("_gate", "_released", "dry_run", "lamports")

    def __init__(self, gate: RiskGate, *, dry_run: bool, lamports: int = 0) -> None:
        self._gate = gate
        self._released = False
        self.dry_run = dry_run
        self.lamports = lamports
        """The trade size this slot holds against ``max_inflight_lamports``."""

    @property
    def released(self) -> bool:
        return self._released

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._gate._release(self.lamports)

    def __enter__(self) -> InflightSlot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    async def __aenter__(self) -> InflightSlot:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class RiskGate:
    """Guards built from ``risk`` config; see the module docstring.

    ``control``: the operator's pause/stop files (``None``: only ``risk.kill_switch_file``,
    if set, is watched as a pause file). ``metrics``: ``RiskMetrics`` on the app's registry.
    ``clock``: seconds, monotonic (``trio.current_time`` by default); ``wall_clock``: seconds
    since the epoch, for the UTC day of the daily loss cap.
    """

    def __init__(
        self,
        config: RiskConfig,
        *,
        control: RiskControl | None = None,
        metrics: RiskMetrics | None = None,
        clock: Callable[[], float] = trio.current_time,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        if control is None and config.kill_switch_file:
            control = RiskControl(pause_file=Path(config.kill_switch_file))
        self.control = control
        self._metrics = metrics if metrics is not None else RiskMetrics(CollectorRegistry())
        self._clock = clock
        self._poll_interval_s = poll_interval_s
        self.stop_requested = trio.Event()
        """Set when the operator asked this instance to stop (the app shuts down on it)."""

        self._inflight = 0
        self._inflight_lamports = 0
        self._wall_clock = wall_clock
        self._day = _utc_day(wall_clock())
        self._day_pnl = 0
        self._sol_balance: int | None = None
        self._operator_paused = False
        self._operator_reason: str | None = None
        self._stopped = False
        self._next_poll = -math.inf
        self._streak = 0
        self._streak_pause_until = -math.inf
        self._loss_pause_until = -math.inf
        self._window: deque[tuple[float, int]] = deque()
        self._window_sum = 0
        self._paused_gauge = False
        self._acked: tuple[bool, bool, str] | None = None
        if control is not None and control.is_stop_requested():
            note = control.consume_stop()
            _log.warning(
                "risk stale stop discarded",
                extra={"fields": {"file": str(control.stop_file), "note": str(note)}},
            )

    # -- decisions -------------------------------------------------------------------------

    def check(
        self, *, size: int, expected_profit: int, min_profit_lamports: int | None = None
    ) -> Allow | Skip:
        """Should this opportunity be sent? Counts a skip metric when not.

        ``min_profit_lamports`` overrides ``risk.min_profit_lamports`` (a base mint's own
        minimum); it does not reserve an in-flight slot (see ``admit``/``acquire``).
        """
        decision = self._decide(size, expected_profit, min_profit_lamports)
        if isinstance(decision, Skip):
            self._metrics.skips.labels(reason=decision.reason.value).inc()
        return decision

    def admit(
        self, *, size: int, expected_profit: int, min_profit_lamports: int | None = None
    ) -> InflightSlot | Skip:
        """``check`` and, when allowed, reserve an in-flight slot in the same step."""
        decision = self.check(
            size=size, expected_profit=expected_profit, min_profit_lamports=min_profit_lamports
        )
        if isinstance(decision, Skip):
            return decision
        return self._acquire(dry_run=decision.dry_run, lamports=size)

    def blocked(self) -> SkipReason | None:
        """Why sending is held back right now (``None``: it is not). Call it just before
        sending: a pause may have started while the transaction was being built."""
        causes = self._causes(self._clock())
        return causes[0].skip_reason if causes else None

    @property
    def dry_run(self) -> bool:
        return self.config.dry_run

    # -- in-flight accounting --------------------------------------------------------------

    @property
    def inflight(self) -> int:
        return self._inflight

    def acquire(self) -> InflightSlot:
        """Reserve an in-flight slot; ``InflightLimitError`` when ``max_inflight`` are taken."""
        if self._inflight >= self.config.max_inflight:
            raise InflightLimitError(self._inflight, self.config.max_inflight)
        return self._acquire(dry_run=self.config.dry_run)

    def slot(self) -> InflightSlot:
        """``async with gate.slot():`` — same as ``acquire()`` (raises when full)."""
        return self.acquire()

    def _acquire(self, *, dry_run: bool, lamports: int = 0) -> InflightSlot:
        self._inflight += 1
        self._inflight_lamports += lamports
        self._metrics.inflight.set(self._inflight)
        self._metrics.inflight_lamports.set(self._inflight_lamports)
        return InflightSlot(self, dry_run=dry_run, lamports=lamports)

    def _release(self, lamports: int = 0) -> None:
        self._inflight -= 1
        self._inflight_lamports -= lamports
        self._metrics.inflight.set(self._inflight)
        self._metrics.inflight_lamports.set(self._inflight_lamports)

    # -- outcomes --------------------------------------------------------------------------

    def record_outcome(self, *, landed: bool, realised_lamports: int = 0) -> None:
        """A sent attempt finished: it landed or not (failed / expired / dropped), with the
        wallet's realised balance change if known (pass later ones to ``record_realised``).
        Dry runs are not outcomes: do not report them."""
        now = self._clock()
        if landed:
            self._streak = 0
        else:
            self._streak += 1
            if self._streak >= self.config.failure_streak_pause:
                self._streak = 0
                self._streak_pause_until = now + self.config.pause_s
                self._engaged(PauseCause.FAILURE_STREAK, pause_s=self.config.pause_s)
        self.record_realised(realised_lamports)

    def record_realised(self, realised_lamports: int) -> None:
        """A realised balance change (signed lamports) learnt after the outcome."""
        if type(realised_lamports) is not int:
            raise TypeError(f"realised_lamports must be an int, not {realised_lamports!r}")
        if realised_lamports == 0:
            return
        now = self._clock()
        self._window.append((now, realised_lamports))
        self._window_sum += realised_lamports
        self._slide(now)
        if -self._window_sum > self.config.max_loss_lamports and now >= self._loss_pause_until:
            self._loss_pause_until = now + self.config.pause_s
            self._engaged(PauseCause.LOSS_LIMIT, window_pnl=self._window_sum)
        self._roll_day()
        was_over = self._day_loss_exceeded()
        self._day_pnl += realised_lamports
        self._metrics.day_pnl.set(self._day_pnl)
        if self._day_loss_exceeded() and not was_over:
            self._engaged(PauseCause.DAILY_LOSS, day_pnl=self._day_pnl)

    def observe_sol_balance(self, lamports: int) -> None:
        """The wallet's SOL balance, just read (the balance floor's measure)."""
        floor = self.config.min_sol_balance_lamports
        was_below = self._below_floor()
        self._sol_balance = lamports
        self._metrics.sol_balance.set(lamports)
        if self._below_floor() and not was_below:
            self._engaged(PauseCause.BALANCE_FLOOR, sol_balance=lamports, floor=floor)
        elif was_below and not self._below_floor():
            _log.warning(
                "risk balance back above the floor",
                extra={"fields": {"sol_balance": lamports, "floor": floor}},
            )

    def _roll_day(self) -> None:
        day = _utc_day(self._wall_clock())
        if day != self._day:
            self._day = day
            self._day_pnl = 0
            self._metrics.day_pnl.set(0)

    def _day_loss_exceeded(self) -> bool:
        limit = self.config.daily_loss_limit_lamports
        return limit > 0 and -self._day_pnl > limit

    def _below_floor(self) -> bool:
        floor = self.config.min_sol_balance_lamports
        return floor > 0 and self._sol_balance is not None and self._sol_balance < floor

    # -- operator --------------------------------------------------------------------------

    def stop(self, reason: str = "") -> None:
        """Stop sending for good and set ``stop_requested`` (what ``galileo stop`` causes)."""
        if not self._stopped:
            self._stopped = True
            self._engaged(PauseCause.STOPPED, reason=reason)
            self.stop_requested.set()

    def state(self) -> RiskState:
        now = self._clock()
        causes = self._causes(now)
        self._slide(now)
        return RiskState(
            causes=causes,
            operator_reason=self._operator_reason if self._operator_paused else None,
            dry_run=self.config.dry_run,
            inflight=self._inflight,
            max_inflight=self.config.max_inflight,
            failure_streak=self._streak,
            window_pnl_lamports=self._window_sum,
            loss_pause_remaining_s=max(0.0, self._loss_pause_until - now),
            streak_pause_remaining_s=max(0.0, self._streak_pause_until - now),
            inflight_lamports=self._inflight_lamports,
            max_inflight_lamports=self.config.max_inflight_lamports,
            day_pnl_lamports=self._day_pnl,
            daily_loss_limit_lamports=self.config.daily_loss_limit_lamports,
            sol_balance_lamports=self._sol_balance,
            min_sol_balance_lamports=self.config.min_sol_balance_lamports,
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Watch the control files every ``poll_interval_s`` even when no opportunity comes
        (keeps ``galileo_risk_paused`` current and notices ``galileo stop`` promptly)."""
        control = self.control
        if control is not None:
            control.announce(os.getpid())
        try:
            self._refresh(self._clock(), force=True)
            task_status.started()
            while not self._stopped:
                await trio.sleep(self._poll_interval_s)
                self._causes(self._clock())
        finally:
            if control is not None:
                control.retire(os.getpid())

    # -- internals -------------------------------------------------------------------------

    def _decide(
        self, size: int, expected_profit: int, min_profit_lamports: int | None
    ) -> Allow | Skip:
        if size <= 0:
            return Skip(SkipReason.INVALID, f"size {size}")
        if size > self.config.max_trade_size_lamports:
            return Skip(
                SkipReason.ABOVE_MAX_SIZE, f"{size} > {self.config.max_trade_size_lamports}"
            )
        minimum = min_profit_lamports or self.config.min_profit_lamports
        if expected_profit < minimum:
            return Skip(SkipReason.BELOW_MIN_PROFIT, f"{expected_profit} < {minimum}")
        causes = self._causes(self._clock())
        if causes:
            return Skip(causes[0].skip_reason)
        if self._inflight >= self.config.max_inflight:
            return Skip(SkipReason.INFLIGHT_CAP, f"{self._inflight} in flight")
        cap = self.config.max_inflight_lamports
        if cap and self._inflight_lamports + size > cap:
            return Skip(SkipReason.INFLIGHT_LAMPORTS, f"{self._inflight_lamports} + {size} > {cap}")
        return Allow(dry_run=self.config.dry_run)

    def _causes(self, now: float) -> tuple[PauseCause, ...]:
        self._refresh(now)
        causes: list[PauseCause] = []
        if self._stopped:
            causes.append(PauseCause.STOPPED)
        if self._operator_paused:
            causes.append(PauseCause.OPERATOR)
        if now < self._loss_pause_until:
            causes.append(PauseCause.LOSS_LIMIT)
        elif self._window and -self._window_sum > self.config.max_loss_lamports:
            self._slide(now)
            if -self._window_sum > self.config.max_loss_lamports:
                causes.append(PauseCause.LOSS_LIMIT)
        if now < self._streak_pause_until:
            causes.append(PauseCause.FAILURE_STREAK)
        self._roll_day()
        if self._day_loss_exceeded():
            causes.append(PauseCause.DAILY_LOSS)
        if self._below_floor():
            causes.append(PauseCause.BALANCE_FLOOR)
        paused = bool(causes)
        if paused != self._paused_gauge:
            self._paused_gauge = paused
            self._metrics.paused.set(1 if paused else 0)
            if not paused:
                _log.info("risk resumed", extra={"fields": {}})
        return tuple(causes)

    def _refresh(self, now: float, *, force: bool = False) -> None:
        """Stat the control files if ``poll_interval_s`` has passed since the last look."""
        control = self.control
        if control is None or (now < self._next_poll and not force):
            return
        self._next_poll = now + self._poll_interval_s
        paused = control.is_paused()
        note_id = ""
        if paused:
            note = control.pause_note()
            note_id = note.id if note is not None else ""
        if paused != self._operator_paused:
            self._operator_paused = paused
            if paused:
                note = control.pause_note()
                self._operator_reason = note.reason if note is not None else ""
                self._engaged(
                    PauseCause.OPERATOR,
                    file=str(control.pause_file),
                    note=note.describe() if note is not None else "",
                )
            else:
                self._operator_reason = None
                _log.warning(
                    "risk operator resumed", extra={"fields": {"file": str(control.pause_file)}}
                )
        if not self._stopped and control.is_stop_requested():
            note = control.consume_stop()
            self.stop(note.describe() if note is not None else "")
            note_id = note.id if note is not None else ""
        ack = (paused, self._stopped, note_id)
        if ack != self._acked:
            # Tell `galileo pause|resume|stop` what this instance now does (and for which note).
            self._acked = ack
            control.acknowledge(
                ControlAck(pid=os.getpid(), paused=paused, stopping=self._stopped, note_id=note_id)
            )

    def _slide(self, now: float) -> None:
        horizon = now - self.config.loss_window_s
        window = self._window
        while window and window[0][0] <= horizon:
            self._window_sum -= window.popleft()[1]

    def _engaged(self, cause: PauseCause, **fields: object) -> None:
        self._metrics.pauses.labels(cause=cause.value).inc()
        _log.warning("risk paused", extra={"fields": {"cause": cause.value, **fields}})


def _utc_day(epoch_s: float) -> int:
    """Days since the epoch, UTC: the daily loss cap resets when this changes."""
    return int(epoch_s // 86_400)
