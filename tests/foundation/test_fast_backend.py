"""The _fast import layer: compiled kernels when built, the pure-Python twin otherwise, and
the two agree."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import galileo
from galileo import _fast
from galileo._fast import _reference

U64 = st.integers(min_value=0, max_value=2**64 - 1)
COMPILED = importlib.util.find_spec("galileo._fast.profit") is not None and (
    importlib.util.find_spec("galileo._fast.profit").origin or ""  # type: ignore[union-attr]
).endswith(".so")


def backend_in_subprocess(value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GALILEO_FAST_BACKEND"}
    if value is not None:
        env["GALILEO_FAST_BACKEND"] = value
    return subprocess.run(
        [sys.executable, "-c", "import galileo; print(galileo.fast_backend())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_active_backend_is_reported() -> None:
    assert galileo.fast_backend() in ("cython", "python")
    assert _fast.backend_detail().startswith(galileo.fast_backend())


@pytest.mark.skipif(not COMPILED, reason="extension not built")
def test_the_compiled_backend_is_used_when_built() -> None:
    assert backend_in_subprocess(None).stdout.strip() == "cython"


def test_the_python_twin_can_be_forced() -> None:
    assert backend_in_subprocess("python").stdout.strip() == "python"


def test_an_unknown_backend_request_is_refused() -> None:
    result = backend_in_subprocess("fortran")
    assert result.returncode != 0
    assert "GALILEO_FAST_BACKEND='fortran'" in result.stderr


@pytest.mark.skipif(not COMPILED, reason="extension not built")
@given(cu_limit=st.integers(0, 2**32), price=st.integers(0, 2**40))
def test_priority_fee_parity(cu_limit: int, price: int) -> None:
    from galileo._fast import profit

    assert profit.priority_fee_lamports(cu_limit, price) == _reference.priority_fee_lamports(
        cu_limit, price
    )


@pytest.mark.skipif(not COMPILED, reason="extension not built")
@given(data=st.binary(max_size=64), nodes=st.lists(st.binary(max_size=16), max_size=8))
def test_hashring_parity(data: bytes, nodes: list[bytes]) -> None:
    from galileo._fast import hashring

    assert hashring.hash64(data) == _reference.hash64(data)
    assert hashring.rendezvous_order(data, nodes) == _reference.rendezvous_order(data, nodes)
