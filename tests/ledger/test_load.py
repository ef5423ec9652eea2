"""Loading the ledger for analysis: records, a masked numpy structured array, pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from galileo.ledger import COLUMNS, INT64_MAX, Ledger, to_dataframe, to_numpy, to_records
from tests.ledger.ledger_helpers import plan


def test_records_hold_every_column_and_the_lander_results(sample_ledger: Path, t0: float) -> None:
    records = to_records(sample_ledger)
    assert [r["opportunity_id"] for r in records] == [f"a{i}" for i in range(1, 9)]
    a1 = records[0]
    assert set(a1) == {*COLUMNS, "lander_results"}
    assert a1["created_at_ms"] == int(t0 * 1000)
    assert (a1["status"], a1["realised_lamports"], a1["fees"], a1["dry_run"]) == (
        "landed", 80_000, 7_000, False,
    )  # fmt: skip
    assert a1["lander_results"] == [
        {"lander": "jito", "endpoint": "ams", "outcome": "rate_limited", "reason": None},
        {"lander": "jito", "endpoint": "ny", "outcome": "accepted", "reason": None},
    ]
    assert records[7]["tip"] is None


def test_records_can_be_limited_to_a_period(sample_ledger: Path, t0: float) -> None:
    since = int((t0 + 6 * 600) * 1000)
    assert [r["opportunity_id"] for r in to_records(sample_ledger, since_ms=since)] == [
        "a7",
        "a8",
    ]


def test_numpy_array_is_typed_and_masks_unknown_values(sample_ledger: Path) -> None:
    arr = to_numpy(sample_ledger)
    assert isinstance(arr, np.ma.MaskedArray)
    assert len(arr) == 8
    assert arr.dtype["size"] == np.int64
    assert arr.dtype["realised_lamports"] == np.int64
    assert arr.dtype["dry_run"] == np.bool_
    assert arr.dtype["status"].kind == "U"
    landed = arr[arr["status"] == "landed"]
    assert int(landed["realised_lamports"].sum()) == 80_000  # a2's unknown change is masked
    assert int(arr["realised_lamports"].count()) == 2  # a1 and a3
    assert bool(arr["tip"].mask[7])  # type: ignore[index]  # numpy stubs: mask may be a scalar
    assert int(arr["expected_profit"].sum()) == 380_000


def test_numpy_keeps_int64_extremes_exact(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        plan(ledger, "big", size=INT64_MAX, profit=-(2**63))
    arr = to_numpy(ledger_path)
    assert int(arr["size"][0]) == INT64_MAX
    assert int(arr["expected_profit"][0]) == -(2**63)


def test_numpy_of_an_empty_ledger_is_empty(ledger_path: Path) -> None:
    Ledger(ledger_path).close()
    arr = to_numpy(ledger_path)
    assert arr.shape == (0,)
    assert set(arr.dtype.names or ()) == set(COLUMNS)


def test_dataframe_uses_exact_nullable_integers(sample_ledger: Path) -> None:
    pd = pytest.importorskip("pandas")
    frame = to_dataframe(sample_ledger)
    assert list(frame["opportunity_id"]) == [f"a{i}" for i in range(1, 9)]
    assert str(frame["realised_lamports"].dtype) == "Int64"
    assert frame["realised_lamports"].isna().sum() == 6
    assert int(frame.loc[frame["status"] == "landed", "realised_lamports"].sum()) == 80_000
    assert frame["created_at"].dt.tz is not None
    assert isinstance(frame, pd.DataFrame)


def test_dataframe_without_pandas_says_what_to_do(
    sample_ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pandas(name: str, *args: object, **kwargs: object) -> object:
        if name == "pandas":
            raise ImportError("no pandas here")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match="to_records"):
        to_dataframe(sample_ledger)


def test_dataframe_keeps_amounts_above_2_53_exact(ledger_path: Path) -> None:
    pytest.importorskip("pandas")
    with Ledger(ledger_path) as ledger:
        plan(ledger, "big", size=INT64_MAX, profit=2**53 + 1)
        ledger.realised("big", INT64_MAX)
        plan(ledger, "unknown")
    frame = to_dataframe(ledger_path)
    assert int(frame["size"][0]) == INT64_MAX
    assert int(frame["expected_profit"][0]) == 2**53 + 1
    assert int(frame["realised_lamports"][0]) == INT64_MAX
    assert frame["realised_lamports"].isna().tolist() == [False, True]
