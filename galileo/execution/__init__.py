"""Execution: opportunities → risk → build → send → land → realised, reconciled PnL.

* :class:`Executor` — one task per admitted opportunity (bounded by ``risk.max_inflight``),
  every step written to the ledger and the event trace; ``stats()`` for the summary.
* :class:`ChainReader` — exact per-transaction balance changes (``getTransaction``) and
  dry-run simulation (``simulateTransaction``).
* :meth:`Executor.reconcile` — at startup, what an earlier process left in flight, finished
  from the chain (:class:`ReconcileReport`).
* :func:`read_wallet_total` — the wallet's total, retried, ``None`` when unknown.

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
from galileo.execution._reconcile import Reconciled, ReconcileReport
from galileo.execution._wallet import read_wallet_total

__all__ = [
    "BalanceChange",
    "ChainReader",
    "ExecutionMetrics",
    "Executor",
    "ExecutorStats",
    "ReconcileReport",
    "Reconciled",
    "Simulation",
    "TransactionBuilder",
    "read_wallet_total",
]
