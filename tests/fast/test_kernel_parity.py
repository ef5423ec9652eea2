"""The compiled kernels answer exactly like their pure-Python twins (or raise alike).

The compiled modules are imported directly, never through ``galileo._fast``: that layer
falls back to the twin when the extension is missing, and the tests would then compare the
twin with itself and pass. A missing extension therefore fails this module loudly, unless
``GALILEO_NO_CYTHON=1`` says the twin-only build is intended; then it is skipped with that
reason.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import galileo._fast as fast
from galileo._fast import _reference as ref

COMPILED_MODULES = ("profit", "pairing", "hashring")


def _load_compiled() -> dict[str, ModuleType]:
    if os.environ.get("GALILEO_NO_CYTHON"):
        pytest.skip(
            "GALILEO_NO_CYTHON is set: twin-only build, no compiled kernels to compare",
            allow_module_level=True,
        )
    modules: dict[str, ModuleType] = {}
    for name in COMPILED_MODULES:
        error = None
        try:
            module = importlib.import_module(f"galileo._fast.{name}")
        except ImportError as exc:
            error = str(exc)
        if error is not None:
            pytest.fail(
                f"galileo._fast.{name} is not built ({error}). Run `make build`, or set "
                "GALILEO_NO_CYTHON=1 if the twin-only build is intended.",
                pytrace=False,
            )
        origin = getattr(module, "__file__", None) or ""
        if not origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            pytest.fail(
                f"galileo._fast.{name} imports from {origin!r}, not a compiled extension",
                pytrace=False,
            )
        modules[name] = module
    return modules


COMPILED = _load_compiled()
profit, pairing, hashring = (COMPILED[name] for name in COMPILED_MODULES)


def same(compiled: Callable[..., Any], twin: Callable[..., Any], *args: Any) -> None:
    try:
        expected = twin(*args)
    except (ValueError, OverflowError, TypeError) as exc:
        with pytest.raises(type(exc)):
            compiled(*args)
        return
    got = compiled(*args)
    if isinstance(expected, tuple) and expected and isinstance(expected[0], np.ndarray):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert a.dtype == b.dtype
            assert a.tolist() == b.tolist()
    else:
        assert got == expected


# --- the surface ---------------------------------------------------------------------------

FEE_MODEL_FIELDS = (
    "signatures",
    "lamports_per_signature",
    "cu_limit",
    "cu_price_micro_lamports",
    "tip_policy",
    "tip_static",
    "tip_percent_bps",
    "tip_min",
    "tip_max",
)
FEE_MODEL_ATTRIBUTES = (*FEE_MODEL_FIELDS, "base_fee", "priority_fee", "fees")


def _public_functions() -> list[str]:
    return [
        name
        for name in fast.__all__
        if inspect.isfunction(getattr(ref, name, None))
        and name not in ("backend", "backend_detail")
    ]


@pytest.mark.parametrize("name", _public_functions())
def test_every_kernel_has_the_twins_signature(name: str) -> None:
    owners = [m for m in COMPILED.values() if hasattr(m, name)]
    assert len(owners) == 1, f"{name} should live in exactly one compiled module"
    compiled = inspect.signature(getattr(owners[0], name)).parameters
    assert list(compiled) == list(inspect.signature(getattr(ref, name)).parameters)


def test_the_fee_model_has_the_twins_fields() -> None:
    values = (1, 5_000, 200_000, 1_000, ref.TIP_PERCENT, 0, 5_000, 1_000, 10**7)
    kwargs = dict(zip(FEE_MODEL_FIELDS, values, strict=True))
    compiled, twin = profit.FeeModel(**kwargs), ref.FeeModel(**kwargs)
    assert [f.name for f in ref.FeeModel.__attrs_attrs__] == list(FEE_MODEL_ATTRIBUTES)
    for attribute in FEE_MODEL_ATTRIBUTES:
        assert getattr(compiled, attribute) == getattr(twin, attribute), attribute


def test_evaluate_takes_only_its_own_backends_fee_model() -> None:
    twin_model = ref.FeeModel(1, 5_000, 0, 0, ref.TIP_STATIC, 0, 0, 0, 0)
    with pytest.raises(TypeError):
        profit.evaluate(twin_model, 1, 1, 0)
    with pytest.raises(TypeError):
        profit.evaluate(None, 1, 1, 0)


# --- profit --------------------------------------------------------------------------------

amount = st.integers(min_value=0, max_value=2**62)
small = st.integers(min_value=0, max_value=10**12)
maybe_bad = st.one_of(amount, st.integers(min_value=-(2**63), max_value=2**64))
policy = st.sampled_from([ref.TIP_STATIC, ref.TIP_PERCENT, ref.TIP_FLOOR])
bps = st.integers(min_value=0, max_value=10_000)


@given(
    st.tuples(
        policy,
        st.integers(min_value=-(2**62), max_value=2**62),
        amount,
        bps,
        amount,
        small,
        amount,
    )
)
@example((ref.TIP_PERCENT, 0, 0, 0, 0, 0, 0))  # zero gross, zero share, zero clamps
@example((ref.TIP_PERCENT, 9_999, 0, 10_000, 0, 0, 2**62))  # remainder only
def test_tip_lamports_matches_twin(args: tuple[int, ...]) -> None:
    same(profit.tip_lamports, ref.tip_lamports, *args)


@given(
    st.tuples(
        st.integers(min_value=-3, max_value=5),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.integers(),
        st.integers(min_value=-5, max_value=20_000),
        st.integers(),
        st.integers(),
        st.integers(),
    )
)
@example((2**40, 0, 0, 0, 0, 0, 0))  # a policy beyond C int: refused alike
def test_tip_lamports_matches_twin_outside_kernel_range(args: tuple[int, ...]) -> None:
    same(profit.tip_lamports, ref.tip_lamports, *args)


@given(st.integers(min_value=-2, max_value=2**40), st.integers(min_value=-2, max_value=2**70))
@example(0, 0)
@example(-1, 0)  # negative inputs are refused by both
def test_priority_fee_matches_twin(cu_limit: int, price: int) -> None:
    same(profit.priority_fee_lamports, ref.priority_fee_lamports, cu_limit, price)


fee_model_args = st.tuples(
    st.integers(min_value=-1, max_value=8),
    st.one_of(st.integers(min_value=-1, max_value=10_000), st.just(2**62)),
    st.integers(min_value=-1, max_value=1_400_000),
    st.one_of(st.integers(min_value=-1, max_value=10**9), st.just(2**70)),
    st.integers(min_value=-1, max_value=3),
    st.one_of(small, maybe_bad),
    st.integers(min_value=-1, max_value=10_001),
    st.one_of(small, maybe_bad),
    st.one_of(small, maybe_bad),
)
GOOD_FEES = (1, 5_000, 400_000, 1_000, ref.TIP_PERCENT, 10_000, 5_000, 1_000, 10**7)
ZERO_FEES = (0, 0, 0, 0, ref.TIP_STATIC, 0, 0, 0, 0)
# fees + tip_max == 2**62 exactly: the widest model the kernel accepts.
WIDEST_FEES = (1, 2**61, 0, 0, ref.TIP_STATIC, 2**62, 0, 0, 2**61)


def _fee_model_attributes(module: Any, args: tuple[int, ...]) -> tuple[int, ...]:
    model = module.FeeModel(*args)
    return tuple(getattr(model, name) for name in FEE_MODEL_ATTRIBUTES)


@given(fee_model_args)
@example(ZERO_FEES)
@example(WIDEST_FEES)
@example((1, 2**61, 0, 0, ref.TIP_STATIC, 0, 0, 0, 2**61 + 1))  # one lamport too wide
@example((0, 0, 0, 2**70, ref.TIP_FLOOR, 0, 0, 0, 0))  # huge price, zero CU: no fee
def test_fee_model_matches_twin(args: tuple[int, ...]) -> None:
    same(
        lambda *a: _fee_model_attributes(profit, a),
        lambda *a: _fee_model_attributes(ref, a),
        *args,
    )


def _evaluate(module: Any, fee_args: tuple[int, ...], *amounts: int) -> tuple[int, int]:
    return module.evaluate(module.FeeModel(*fee_args), *amounts)  # type: ignore[no-any-return]


@given(st.one_of(fee_model_args, st.just(GOOD_FEES)), maybe_bad, maybe_bad, maybe_bad)
@example(ZERO_FEES, 0, 0, 0)  # nothing at all
@example(GOOD_FEES, 0, 0, 0)  # zero gross on a percent tip
@example(WIDEST_FEES, 0, 2**62, 0)  # the most negative net: exactly -2**63
@example(GOOD_FEES, 2**62, 0, 2**62)  # the largest gross
@example(GOOD_FEES, 2**62 + 1, 0, 0)
@example(GOOD_FEES, 0, -1, 0)
@example(GOOD_FEES, 0, 0, 2**64)
def test_evaluate_matches_twin(
    fee_args: tuple[int, ...], sell_out: int, size: int, tip_floor: int
) -> None:
    same(
        lambda *a: _evaluate(profit, fee_args, *a),
        lambda *a: _evaluate(ref, fee_args, *a),
        sell_out,
        size,
        tip_floor,
    )


# --- pairing -------------------------------------------------------------------------------

counts = st.one_of(st.integers(min_value=-2, max_value=50), st.just(2**62), st.just(2**31))


@given(st.integers(min_value=-(2**63), max_value=2**64), counts, counts)
@example(5, 0, 4)  # zero mints: the divisor would be zero
@example(5, 4, 0)  # zero sizes
@example(5, 0, 0)
@example(-7, 3, 2)  # negative batch index: Python's modulo, not C's
@example(-(2**62) + 1, 1, 1)
def test_batch_slot_matches_twin(batch_index: int, mints: int, sizes: int) -> None:
    same(pairing.batch_slot, ref.batch_slot, batch_index, mints, sizes)


@given(
    st.integers(min_value=-1, max_value=2**62),
    st.integers(min_value=-1, max_value=300),
    counts,
    counts,
)
@example(0, 5, 0, 3)  # zero mints
@example(0, 5, 3, 0)  # zero sizes
@example(0, 0, 3, 3)  # nothing to fill
@example(2**62 - 1, 4, 3, 2)
def test_batch_slots_matches_twin(start: int, count: int, mints: int, sizes: int) -> None:
    same(pairing.batch_slots, ref.batch_slots, start, count, mints, sizes)


@given(
    st.integers(min_value=-2, max_value=10**15),
    st.integers(min_value=-2, max_value=10**15),
    st.integers(min_value=0, max_value=40),
    st.booleans(),
)
def test_lane_sizes_matches_twin(lo: int, hi: int, lanes: int, geometric: bool) -> None:
    same(pairing.lane_sizes, ref.lane_sizes, lo, hi, lanes, geometric)


@given(
    st.integers(min_value=-1, max_value=2**62 + 1),
    st.integers(min_value=-1, max_value=10_001),
    st.integers(min_value=-1, max_value=2**64),
)
@example(9_999, 1, 2**64 - 1)  # span 0: no modulus at all
@example(1, 10_000, 0)  # span 1: modulus 3
@example(2**62, 10_000, 2**64 - 1)  # modulus 2**63 + 1 and a moved size above int64
@example(2**62, 0, 5)
def test_jitter_size_matches_twin(size: int, jitter_bps: int, random_u64: int) -> None:
    same(pairing.jitter_size, ref.jitter_size, size, jitter_bps, random_u64)


# --- hashring ------------------------------------------------------------------------------


@given(
    st.integers(min_value=0, max_value=2**64 - 1),
    st.lists(st.tuples(st.integers(min_value=0, max_value=2**64 - 1), st.booleans()), max_size=12),
)
def test_rendezvous_pick_matches_twin(key_hash: int, nodes: list[tuple[int, bool]]) -> None:
    same(
        hashring.rendezvous_pick,
        ref.rendezvous_pick,
        key_hash,
        np.array([h for h, _ in nodes], dtype=np.uint64),
        np.array([ok for _, ok in nodes], dtype=np.uint8),
    )


@given(st.integers(min_value=-(2**70), max_value=2**70), st.integers())
@example(-1, 0)
@example(2**64, 2**64 - 1)
def test_rendezvous_score_matches_twin(key_hash: int, node_hash: int) -> None:
    same(hashring.rendezvous_score, ref.rendezvous_score, key_hash, node_hash)


@given(st.binary(max_size=64), st.lists(st.binary(max_size=16), max_size=10))
@example(b"", [])
@example(b"k", [b"a", b"a", b"", b"a"])  # equal scores: the lower index first
def test_existing_hash_kernels_match_twin(key: bytes, nodes: list[bytes]) -> None:
    same(hashring.hash64, ref.hash64, key)
    same(hashring.rendezvous_order, ref.rendezvous_order, key, nodes)
