"""The deterministic hot core: compiled (Cython) when built, the pure-Python twin otherwise.

Callers import the kernels from here, never from ``profit`` / ``pairing`` / ``hashring``
directly, so one switch decides the backend for the whole process:

* ``GALILEO_FAST_BACKEND=auto`` (default): the compiled modules when all of them import,
  otherwise the twins in ``_reference``;
* ``GALILEO_FAST_BACKEND=python``: always the twins (debugging, parity checks);
* ``GALILEO_FAST_BACKEND=cython``: the compiled modules or an ImportError saying why.

``backend()`` names the active one; ``galileo doctor`` prints it.

``FeeModel`` and ``evaluate`` go together: ``evaluate`` takes a ``FeeModel`` of the same
backend. For mypy both are the twin's (the compiled ones have the same interface, see
``profit.pyi`` and tests/fast/test_kernel_parity.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from galileo._fast import _reference

Backend = Literal["cython", "python"]

_requested = os.environ.get("GALILEO_FAST_BACKEND", "auto").strip().lower()
if _requested not in ("auto", "python", "cython"):
    raise ImportError(f"GALILEO_FAST_BACKEND={_requested!r}: expected one of auto, python, cython")

_backend: Backend = "python"
_import_error: str | None = None

priority_fee_lamports = _reference.priority_fee_lamports
net_profit = _reference.net_profit
batch_slot = _reference.batch_slot
hash64 = _reference.hash64
rendezvous_score = _reference.rendezvous_score
rendezvous_order = _reference.rendezvous_order
rendezvous_pick = _reference.rendezvous_pick
tip_lamports = _reference.tip_lamports
FeeModel = _reference.FeeModel
evaluate = _reference.evaluate
batch_slots = _reference.batch_slots
lane_sizes = _reference.lane_sizes
jitter_size = _reference.jitter_size

# Tip policy codes shared by both backends.
TIP_STATIC = _reference.TIP_STATIC
TIP_PERCENT = _reference.TIP_PERCENT
TIP_FLOOR = _reference.TIP_FLOOR

if _requested != "python":
    try:
        from galileo._fast import hashring as _hashring
        from galileo._fast import pairing as _pairing
        from galileo._fast import profit as _profit
    except ImportError as exc:
        _import_error = str(exc)
        if _requested == "cython":
            raise ImportError(
                "GALILEO_FAST_BACKEND=cython but the extension is not built "
                f"(run `make build`): {exc}"
            ) from exc
    else:
        _backend = "cython"
        priority_fee_lamports = _profit.priority_fee_lamports
        net_profit = _profit.net_profit
        batch_slot = _pairing.batch_slot
        hash64 = _hashring.hash64
        rendezvous_score = _hashring.rendezvous_score
        rendezvous_order = _hashring.rendezvous_order
        rendezvous_pick = _hashring.rendezvous_pick
        tip_lamports = _profit.tip_lamports
        if not TYPE_CHECKING:  # typed as the twin's, see the module docstring
            FeeModel = _profit.FeeModel
            evaluate = _profit.evaluate
        batch_slots = _pairing.batch_slots
        lane_sizes = _pairing.lane_sizes
        jitter_size = _pairing.jitter_size


def backend() -> Backend:
    """``"cython"`` when the compiled kernels are active, ``"python"`` for the twins."""
    return _backend


def backend_detail() -> str:
    """One line for ``doctor``: the backend and, on fallback, why."""
    if _backend == "cython":
        return "cython (compiled galileo._fast extensions)"
    if _requested == "python":
        return "python (forced by GALILEO_FAST_BACKEND=python)"
    return f"python (compiled extensions not importable: {_import_error})"


__all__ = [
    "TIP_FLOOR",
    "TIP_PERCENT",
    "TIP_STATIC",
    "FeeModel",
    "backend",
    "backend_detail",
    "batch_slot",
    "batch_slots",
    "evaluate",
    "hash64",
    "jitter_size",
    "lane_sizes",
    "net_profit",
    "priority_fee_lamports",
    "rendezvous_order",
    "rendezvous_pick",
    "rendezvous_score",
    "tip_lamports",
]
