"""The attempts ledger: one SQLite row per arbitrage attempt, PnL and landing reports.

* :class:`Ledger` — synchronous, idempotent writes keyed by opportunity id (``plan``,
  ``built``, ``sending``, ``submitted``, ``lander_result``, ``landed``, ``finished``,
  ``realised``, ``update``), ``orphans`` left by an earlier process, WAL +
  ``synchronous=FULL``, versioned schema, integrity-checked on open.
* :class:`AsyncLedger` — the same for trio code: one writer thread, FIFO, not abandoned on
  cancellation.
* :func:`build_report` / :func:`format_report` — what ``galileo report`` prints.
* :func:`to_records` / :func:`to_numpy` / :func:`to_dataframe` — load it for analysis.

See docs/ledger.md.
"""

from __future__ import annotations

from galileo.ledger._async import LEDGER_STAGE, AsyncLedger
from galileo.ledger._ledger import (
    LEDGER_FILE_NAME,
    Ledger,
    default_ledger_path,
    open_readonly,
    read_attempts,
)
from galileo.ledger._load import COLUMNS, attempt_record, to_dataframe, to_numpy, to_records
from galileo.ledger._models import (
    INT64_MAX,
    INT64_MIN,
    Attempt,
    LedgerCorruptError,
    LedgerError,
    LedgerSchemaError,
    LedgerValueError,
    UnknownAttemptError,
)
from galileo.ledger._report import (
    LanderStats,
    LedgerReport,
    PairStats,
    StageLatency,
    SummaryFormatError,
    build_report,
    format_lamports,
    format_report,
    stage_latencies,
)
from galileo.ledger._schema import SCHEMA_VERSION

__all__ = [
    "COLUMNS",
    "INT64_MAX",
    "INT64_MIN",
    "LEDGER_FILE_NAME",
    "LEDGER_STAGE",
    "SCHEMA_VERSION",
    "AsyncLedger",
    "Attempt",
    "LanderStats",
    "Ledger",
    "LedgerCorruptError",
    "LedgerError",
    "LedgerReport",
    "LedgerSchemaError",
    "LedgerValueError",
    "PairStats",
    "StageLatency",
    "SummaryFormatError",
    "UnknownAttemptError",
    "attempt_record",
    "build_report",
    "default_ledger_path",
    "format_lamports",
    "format_report",
    "open_readonly",
    "read_attempts",
    "stage_latencies",
    "to_dataframe",
    "to_numpy",
    "to_records",
]
