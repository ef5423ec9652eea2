"""The Cython kernels against their pure-Python twins, measured in the same run.

    .venv/bin/python -m pytest benches/bench_engine_profit.py -p no:cacheprovider -s \
        --benchmark-json=benches/results/bench_engine_profit.json

Each case runs the compiled kernel and its twin on identical inputs; the last test prints
the per-call times and the speed-up (the numbers quoted in docs/performance.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from galileo._fast import _reference

_times: dict[tuple[str, str], float] = {}

# signatures, lamports/signature, CU limit, CU price, tip policy, static, bps, min, max
FEES = (1, 5_000, 400_000, 1_000, _reference.TIP_PERCENT, 10_000, 5_000, 1_000, 10**7)
# One FeeModel per backend, built before timing: the Evaluator builds it once at start-up.
MODELS: dict[Any, Any] = {}
NODES = [f"10.0.0.{i}".encode() for i in range(16)]
NODE_HASHES = np.array([_reference.hash64(n) for n in NODES], dtype=np.uint64)
ELIGIBLE = np.ones(len(NODES), dtype=np.uint8)
ELIGIBLE[3] = 0

CASES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    # The engine's per-quote call: tip + net profit against the prebuilt fee model.
    "evaluate (per quote)": (
        "profit",
        lambda m: m.evaluate(MODELS[m], 1_001_000_000, 1_000_000_000, 0),
    ),
    "FeeModel (once per Evaluator)": ("profit", lambda m: m.FeeModel(*FEES)),
    "tip_lamports": ("profit", lambda m: m.tip_lamports(1, 123_456_789, 0, 5_000, 0, 1_000, 10**7)),
    "batch_slot": ("pairing", lambda m: m.batch_slot(123_456, 37, 4)),
    "batch_slots (1024)": ("pairing", lambda m: m.batch_slots(123_456, 1024, 37, 4)),
    "jitter_size": ("pairing", lambda m: m.jitter_size(1_000_000_000, 500, 0xDEADBEEFCAFEBABE)),
    "hash64 (44-byte key)": (
        "hashring",
        lambda m: m.hash64(b"https://ny.mainnet.block-engine.jito.wtf/api"),
    ),
    "rendezvous_pick (16 IPs)": (
        "hashring",
        lambda m: m.rendezvous_pick(0x1234_5678_9ABC_DEF0, NODE_HASHES, ELIGIBLE),
    ),
    "rendezvous_order (16 IPs)": ("hashring", lambda m: m.rendezvous_order(b"endpoint", NODES)),
}


def _compiled(module: str) -> Any:
    try:
        return importlib.import_module(f"galileo._fast.{module}")
    except ImportError:
        pytest.skip("compiled extension not built (run `make build`)")


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("impl", ["twin", "cython"])
def test_kernel(benchmark: Any, case: str, impl: str) -> None:
    module, call = CASES[case]
    target = _reference if impl == "twin" else _compiled(module)
    if module == "profit":
        MODELS.setdefault(target, target.FeeModel(*FEES))
    benchmark.group = f"engine-kernel: {case}"
    benchmark(call, target)
    if benchmark.stats is not None:  # None under --benchmark-disable: the call ran once
        _times[(case, impl)] = benchmark.stats.stats.median


def test_zz_report() -> None:
    print("\nkernel                                   twin µs   cython µs   speed-up")
    for case in CASES:
        twin = _times.get((case, "twin"))
        compiled = _times.get((case, "cython"))
        if twin is None or compiled is None:
            continue
        print(f"  {case:38s} {twin * 1e6:8.2f}  {compiled * 1e6:9.3f}  {twin / compiled:8.1f}x")
