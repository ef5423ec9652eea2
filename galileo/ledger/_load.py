"""Load the ledger for analysis: plain records, a numpy structured array, a pandas DataFrame.

All three open the file read-only (a running bot can keep writing) and return one row per
attempt, oldest first, optionally limited to attempts created in ``[since_ms, until_ms)``.
Amounts stay exact 64-bit integers in every form.
"""

from __future__ import annotations

import os
from typing import Any

import attrs
import numpy as np

from galileo.ledger._ledger import open_readonly, read_attempts
from galileo.ledger._models import Attempt

# Integer columns that may be unknown (NULL): masked in numpy, pandas "Int64" (nullable).
NULLABLE_INT_COLUMNS = (
    "tip",
    "base_fee",
    "priority_fee",
    "fees",
    "landed_slot",
    "realised_lamports",
)
INT_COLUMNS = ("created_at_ms", "updated_at_ms", "size", "expected_profit")
TEXT_COLUMNS = (
    "opportunity_id",
    "base_mint",
    "intermediate_mint",
    "status",
    "signature",
    "bundle_id",
    "failure_reason",
)
NULLABLE_TEXT_COLUMNS = ("signature", "bundle_id", "failure_reason")
COLUMNS = (
    "opportunity_id",
    "created_at_ms",
    "updated_at_ms",
    "base_mint",
    "intermediate_mint",
    "size",
    "expected_profit",
    "dry_run",
    "status",
    "tip",
    "base_fee",
    "priority_fee",
    "fees",
    "signature",
    "bundle_id",
    "landed_slot",
    "failure_reason",
    "realised_lamports",
)


def _load(
    path: str | os.PathLike[str], since_ms: int | None, until_ms: int | None
) -> list[Attempt]:
    conn = open_readonly(path)
    try:
        return read_attempts(conn, since_ms=since_ms, until_ms=until_ms)
    finally:
        conn.close()


def attempt_record(attempt: Attempt) -> dict[str, Any]:
    """One attempt as a plain dict (status as its string value, lander results as dicts)."""
    record: dict[str, Any] = {name: getattr(attempt, name) for name in COLUMNS}
    record["status"] = attempt.status.value
    record["lander_results"] = [
        {**attrs.asdict(r), "outcome": r.outcome.value} for r in attempt.lander_results
    ]
    return record


def to_records(
    path: str | os.PathLike[str], *, since_ms: int | None = None, until_ms: int | None = None
) -> list[dict[str, Any]]:
    """Every attempt as a dict: the columns of ``COLUMNS`` plus ``lander_results``
    (a list of ``{"lander", "endpoint", "outcome", "reason"}``). ``None`` = unknown."""
    return [attempt_record(a) for a in _load(path, since_ms, until_ms)]


def to_numpy(
    path: str | os.PathLike[str], *, since_ms: int | None = None, until_ms: int | None = None
) -> np.ma.MaskedArray[Any, np.dtype[np.void]]:
    """The attempts as a masked numpy structured array (one element per attempt).

    Integer columns are ``int64``; text columns are fixed-width unicode sized to their longest
    value; ``dry_run`` is ``bool``. Unknown values (NULL) are masked, so
    ``arr["realised_lamports"].sum()`` sums only the known ones. Lander results are not part
    of the array (use ``to_records``).
    """
    records = [attempt_record(a) for a in _load(path, since_ms, until_ms)]
    fields: list[tuple[str, Any]] = []
    for name in COLUMNS:
        if name == "dry_run":
            fields.append((name, np.bool_))
        elif name in TEXT_COLUMNS:
            width = max((len(r[name] or "") for r in records), default=0)
            fields.append((name, f"<U{max(width, 1)}"))
        else:
            fields.append((name, np.int64))
    dtype = np.dtype(fields)
    data: Any = np.zeros(len(records), dtype=dtype)  # Any: numpy types field access loosely
    mask: Any = np.zeros(len(records), dtype=np.ma.make_mask_descr(dtype))
    for i, record in enumerate(records):
        for name in COLUMNS:
            value = record[name]
            if value is None:
                mask[name][i] = True
            else:
                data[name][i] = value
    return np.ma.array(data, mask=mask)


def to_dataframe(
    path: str | os.PathLike[str], *, since_ms: int | None = None, until_ms: int | None = None
) -> Any:
    """The attempts as a ``pandas.DataFrame`` (pandas must be installed; it is not a
    dependency of galileo, hence the ``Any`` return type).

    Nullable integer columns use pandas' ``Int64`` (exact, with ``<NA>``), the other integer
    columns ``int64``; ``created_at`` / ``updated_at`` are added as UTC timestamps;
    ``lander_results`` is a column of lists of dicts.
    """
    try:
        import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "galileo.ledger.to_dataframe needs pandas (pip install pandas); "
            "to_records() and to_numpy() work without it"
        ) from exc
    records = to_records(path, since_ms=since_ms, until_ms=until_ms)
    # Built column by column from Python ints: going through float64 (what pandas does with
    # a None in an int column) would round amounts above 2**53.
    data: dict[str, Any] = {}
    for name in COLUMNS:
        values = [r[name] for r in records]
        if name in NULLABLE_INT_COLUMNS:
            data[name] = pd.array(values, dtype="Int64")
        elif name in INT_COLUMNS:
            data[name] = np.array(values, dtype=np.int64)
        elif name == "dry_run":
            data[name] = np.array(values, dtype=np.bool_)
        else:
            data[name] = pd.Series(values, dtype=object)
    data["lander_results"] = pd.Series([r["lander_results"] for r in records], dtype=object)
    frame = pd.DataFrame(data)
    frame["created_at"] = pd.to_datetime(frame["created_at_ms"], unit="ms", utc=True)
    frame["updated_at"] = pd.to_datetime(frame["updated_at_ms"], unit="ms", utc=True)
    return frame
