"""Execution: opportunities → risk → build → send → land → realised, reconciled PnL.

* :class:`Executor` — one task per admitted opportunity (bounded by ``risk.max_inflight``),
  every step written to the ledger and the event trace; ``stats()`` for the summary.
* :class:`ChainReader` — exact per-transaction balance changes (``getTransaction``) and
  dry-run simulation (``simulateTransaction``).

See docs/execution.md.
"""

from __future__ import annotations

from galileo.execution._chain import BalanceChange, ChainReader, Simulation
from galileo.execution._executor import (
    Executor,
    ExecutorStats,
    TransactionBuilder,
)
from galileo.execution._metrics import ExecutionMetrics

__all__ = [
    "BalanceChange",
    "ChainReader",
    "ExecutionMetrics",
    "Executor",
    "ExecutorStats",
    "Simulation",
    "TransactionBuilder",
]
