"""Turning a buy+sell quote pair into an :class:`Opportunity` or a skip reason, with the
integer profit kernel (``galileo._fast.evaluate``)."""

from __future__ import annotations

from collections.abc import Callable

from galileo import _fast
from galileo._config import ExecutionConfig
from galileo.model import BatchOutcome, LegQuote, Opportunity, QuoteBatch

_POLICIES = {"static": _fast.TIP_STATIC, "percent": _fast.TIP_PERCENT, "floor": _fast.TIP_FLOOR}

DEFAULT_COMPUTE_UNIT_LIMIT = 400_000
"""CU limit assumed when pricing a quote pair, before /swap-instructions says the real one."""

SIGNATURES = 1
"""Signatures of an arbitrage transaction (the wallet)."""


class Evaluator:
    """Net profit of a round trip = sell.out − size − base fee − priority fee − tip.

    Everything that does not depend on the quote (both fees, the tip policy and clamps) is
    the ``galileo._fast.FeeModel`` built once here; per quote the kernel only prices the
    tip and subtracts. A config the kernel cannot price exactly raises ValueError here.

    ``tip_floor_lamports`` supplies the current tip-floor percentile (policy ``floor``),
    e.g. from the Jito lander's tip-floor poller; without one the floor is 0 and the tip
    clamps to ``tip.min_lamports``.
    """

    def __init__(
        self,
        execution: ExecutionConfig,
        *,
        max_quote_age: float,
        compute_unit_limit: int = DEFAULT_COMPUTE_UNIT_LIMIT,
        tip_floor_lamports: Callable[[], int] | None = None,
        run_id: str = "",
    ) -> None:
        tip = execution.tip
        self.fees = _fast.FeeModel(
            SIGNATURES,
            execution.lamports_per_signature,
            compute_unit_limit,
            execution.compute_unit_price_micro_lamports,
            _POLICIES[tip.policy],
            tip.static_lamports,
            tip.percent_bps,
            tip.min_lamports,
            tip.max_lamports,
        )
        self._cu_limit = compute_unit_limit
        self._max_age = max_quote_age
        self._tip_floor = tip_floor_lamports
        self._prefix = run_id + "-" if run_id else ""
        self.priority_fee = self.fees.priority_fee
        self.base_fee = self.fees.base_fee

    def evaluate(
        self, batch: QuoteBatch, buy: LegQuote, sell: LegQuote, *, ip: str, now: float
    ) -> Opportunity | BatchOutcome:
        if now - buy.received_at > self._max_age:
            return BatchOutcome.STALE
        floor = self._tip_floor() if self._tip_floor is not None else 0
        net, tip = _fast.evaluate(self.fees, sell.out_amount, batch.size, floor)
        if net < 0:
            return BatchOutcome.NEGATIVE
        if net < batch.min_profit_lamports:
            return BatchOutcome.BELOW_MIN_PROFIT
        return Opportunity(
            id=f"{self._prefix}{batch.batch_id}",
            batch_id=batch.batch_id,
            base_mint=batch.base_mint,
            mint=batch.mint,
            size=batch.size,
            buy=buy,
            sell=sell,
            gross_profit=sell.out_amount - batch.size,
            net_profit=net,
            tip_lamports=tip,
            priority_fee_lamports=self.priority_fee,
            base_fee_lamports=self.base_fee,
            compute_unit_limit=self._cu_limit,
            min_profit_lamports=batch.min_profit_lamports,
            ip=ip,
            quoted_at=buy.received_at,
            evaluated_at=now,
        )
