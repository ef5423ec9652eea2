"""The ledger: one SQLite file, one row per attempt, written by idempotent upserts.

Durability: WAL journal, ``synchronous=FULL`` by default — each commit fsyncs the WAL, so a
row the caller was told is written survives a process kill *and* a power cut. ``NORMAL``
(no fsync per commit, still crash-safe against a killed process, may lose the last commits on
power loss) is available for machines with slow disks; docs/ledger.md has the measured cost.

Every write is keyed by the opportunity id and is safe to replay: ``plan`` inserts once
(a replay is a no-op, and says so: the caller must not write to a row it did not plan),
``update`` only fills the fields it is given and never moves the status backwards, lander
results are keyed by (opportunity, lander, endpoint). A pipeline that is killed and
restarted can therefore re-send its last writes without duplicating or corrupting rows, and
``orphans`` lists what a killed process left in flight for the next one to reconcile.

Opening checks the file (``PRAGMA quick_check``) and migrates its schema (``_schema``).

This class is synchronous and not thread-safe on purpose; ``AsyncLedger`` runs it on one
worker thread at a time for trio code.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from galileo._secret import touch_private
from galileo.ledger._models import (
    DEFAULT_PAIR,
    Attempt,
    LedgerCorruptError,
    LedgerSchemaError,
    LedgerValueError,
    UnknownAttemptError,
    check_int64,
    check_text,
)
from galileo.ledger._schema import SCHEMA_VERSION, current_version, migrate
from galileo.model import AttemptStatus, LanderOutcome, LanderResult

Synchronous = Literal["full", "normal"]

LEDGER_FILE_NAME = "ledger.sqlite3"

_ATTEMPT_COLUMNS = (
    "opportunity_id, created_at_ms, updated_at_ms, base_mint, intermediate_mint, size,"
    " expected_profit, dry_run, status, tip, base_fee, priority_fee, signature, bundle_id,"
    " landed_slot, failure_reason, realised_lamports, last_valid_block_height, pair"
)

# Statuses an attempt holds while its process still owns it; at startup, rows in one of these
# were left by a process that ended without finishing them.
_IN_FLIGHT = (AttemptStatus.PLANNED, AttemptStatus.BUILT, AttemptStatus.SUBMITTED)

# The stored status's rank, as SQL (see AttemptStatus.rank): updates only move forwards.
_STATUS_RANK_SQL = (
    "CASE status "
    + " ".join(f"WHEN '{s.value}' THEN {s.rank}" for s in AttemptStatus)
    + " ELSE -1 END"
)

_UPDATE_SQL = f"""
UPDATE attempts SET
    updated_at_ms     = :now,
    status            = CASE WHEN :status IS NOT NULL AND :rank > ({_STATUS_RANK_SQL})
                             THEN :status ELSE status END,
    tip               = COALESCE(:tip, tip),
    base_fee          = COALESCE(:base_fee, base_fee),
    priority_fee      = COALESCE(:priority_fee, priority_fee),
    signature         = COALESCE(:signature, signature),
    bundle_id         = COALESCE(:bundle_id, bundle_id),
    landed_slot       = COALESCE(:landed_slot, landed_slot),
    failure_reason    = COALESCE(:failure_reason, failure_reason),
    realised_lamports = COALESCE(:realised_lamports, realised_lamports),
    last_valid_block_height = COALESCE(:last_valid_block_height, last_valid_block_height)
WHERE opportunity_id = :opportunity_id
RETURNING status
"""

_LANDER_UPSERT_SQL = """
INSERT INTO lander_results (opportunity_id, lander, endpoint, outcome, reason, at_ms)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (opportunity_id, lander, endpoint) DO UPDATE SET
    outcome = excluded.outcome, reason = excluded.reason, at_ms = excluded.at_ms
"""


def default_ledger_path(state_dir: str | os.PathLike[str]) -> Path:
    """``<state_dir>/ledger.sqlite3``."""
    return Path(state_dir) / LEDGER_FILE_NAME


class Ledger:
    """The attempts ledger in the SQLite file at ``path`` (created and migrated on open).

    ``clock`` gives wall-clock Unix seconds for the created/updated stamps (injectable for
    tests). Use as a context manager or call ``close()``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "full",
        clock: Callable[[], float] = time.time,
        busy_timeout_ms: int = 5000,
    ) -> None:
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be 'full' or 'normal', not {synchronous!r}")
        self.path = Path(path)
        touch_private(self.path)  # 0600 before SQLite opens it: its -wal/-shm files follow
        self._clock = clock
        # isolation_level=None: autocommit; single statements are their own transaction and
        # multi-statement writes use an explicit BEGIN IMMEDIATE (see _transaction).
        # check_same_thread=False: AsyncLedger hands the connection to one worker thread at a
        # time (serialised by its limiter), never to two at once.
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            _configure(self._conn, synchronous, busy_timeout_ms)
            _check_integrity(self._conn, self.path)
            migrate(self._conn, str(self.path))
        except BaseException:
            self._conn.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection, for ad-hoc read queries (do not write through it)."""
        return self._conn

    # -- writes ----------------------------------------------------------------------------

    def plan(
        self,
        opportunity_id: str,
        *,
        base_mint: str,
        intermediate_mint: str,
        size: int,
        expected_profit: int,
        dry_run: bool = False,
        pair: str = DEFAULT_PAIR,
    ) -> bool:
        """Record a new attempt as ``planned``; ``False`` if the id was already there.
        ``pair``: the venues of its legs, ``buy>sell``.

        The opportunity's facts are written once: replaying ``plan`` with the same id leaves
        the existing row untouched (whatever status it has reached, dry run or not). On
        ``False`` the caller does not own the row and must not write to it: its writes would
        merge into another attempt's.
        """
        check_text("opportunity_id", opportunity_id)
        check_text("base_mint", base_mint)
        check_text("intermediate_mint", intermediate_mint)
        check_int64("size", size)
        check_int64("expected_profit", expected_profit)
        check_text("pair", pair)
        if not isinstance(dry_run, bool):
            raise LedgerValueError("dry_run", dry_run, "must be a bool")
        now = self._now_ms()
        cursor = self._conn.execute(
            "INSERT INTO attempts (opportunity_id, created_at_ms, updated_at_ms, base_mint,"
            " intermediate_mint, size, expected_profit, dry_run, status, pair)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (opportunity_id) DO NOTHING",
            (
                opportunity_id,
                now,
                now,
                base_mint,
                intermediate_mint,
                size,
                expected_profit,
                int(dry_run),
                AttemptStatus.PLANNED.value,
                pair,
            ),
        )
        return cursor.rowcount == 1

    def update(
        self,
        opportunity_id: str,
        *,
        status: AttemptStatus | None = None,
        tip: int | None = None,
        base_fee: int | None = None,
        priority_fee: int | None = None,
        signature: str | None = None,
        bundle_id: str | None = None,
        landed_slot: int | None = None,
        failure_reason: str | None = None,
        realised_lamports: int | None = None,
        last_valid_block_height: int | None = None,
    ) -> AttemptStatus:
        """Fill the given fields (``None`` = leave as is); return the status now stored.

        ``status`` only takes effect if it is further along than the stored one (see
        ``AttemptStatus``), which makes replays and out-of-order writes harmless.
        Raises ``UnknownAttemptError`` if the id was never planned, ``LedgerValueError``
        (field ``status``) for a sent status on a dry-run row.
        """
        params = self._update_params(
            opportunity_id,
            status=status,
            tip=tip,
            base_fee=base_fee,
            priority_fee=priority_fee,
            signature=signature,
            bundle_id=bundle_id,
            landed_slot=landed_slot,
            failure_reason=failure_reason,
            realised_lamports=realised_lamports,
            last_valid_block_height=last_valid_block_height,
        )
        return self._apply_update(params)

    def built(
        self,
        opportunity_id: str,
        *,
        tip: int,
        base_fee: int,
        priority_fee: int,
        signature: str | None = None,
        last_valid_block_height: int | None = None,
    ) -> AttemptStatus:
        """The transaction is built and signed (its signature is known from here on)."""
        return self.update(
            opportunity_id,
            status=AttemptStatus.BUILT,
            tip=tip,
            base_fee=base_fee,
            priority_fee=priority_fee,
            signature=signature,
            last_valid_block_height=last_valid_block_height,
        )

    def sending(
        self,
        opportunity_id: str,
        *,
        signature: str,
        tip: int,
        base_fee: int,
        priority_fee: int,
        last_valid_block_height: int,
    ) -> AttemptStatus:
        """Built and about to be sent: ``submitted`` with the transaction's facts, written
        before the first byte goes out. Once this returns, a crash at any later point leaves
        a row naming the signature and the block height past which it cannot land — what
        the next start needs to reconcile it against the chain. (One write instead of
        ``built`` + ``submitted``: the send waits for one fsync, not two.)"""
        check_text("signature", signature)
        check_int64("last_valid_block_height", last_valid_block_height)
        return self.update(
            opportunity_id,
            status=AttemptStatus.SUBMITTED,
            tip=tip,
            base_fee=base_fee,
            priority_fee=priority_fee,
            signature=signature,
            last_valid_block_height=last_valid_block_height,
        )

    def submitted(
        self,
        opportunity_id: str,
        *,
        signature: str | None = None,
        bundle_id: str | None = None,
        results: Iterable[LanderResult] = (),
    ) -> AttemptStatus:
        """Sent to the landers; ``results`` are their answers (one transaction for all)."""
        results = list(results)
        for result in results:
            _check_lander_result(result)
        params = self._update_params(
            opportunity_id,
            status=AttemptStatus.SUBMITTED,
            signature=signature,
            bundle_id=bundle_id,
        )
        with self._transaction():
            status = self._apply_update(params)
            self._upsert_results(opportunity_id, results, params["now"])
        return status

    def lander_result(self, opportunity_id: str, result: LanderResult) -> None:
        """Record (or replace) one lander endpoint's answer."""
        _check_lander_result(result)
        check_text("opportunity_id", opportunity_id)
        now = self._now_ms()
        with self._transaction():
            if (
                self._conn.execute(
                    "SELECT 1 FROM attempts WHERE opportunity_id = ?", (opportunity_id,)
                ).fetchone()
                is None
            ):
                raise UnknownAttemptError(opportunity_id)
            self._upsert_results(opportunity_id, [result], now)
            self._conn.execute(
                "UPDATE attempts SET updated_at_ms = ? WHERE opportunity_id = ?",
                (now, opportunity_id),
            )

    def landed(
        self,
        opportunity_id: str,
        *,
        slot: int,
        signature: str | None = None,
        realised_lamports: int | None = None,
    ) -> AttemptStatus:
        """Confirmed on chain in ``slot``; the balance change may follow via ``realised``."""
        return self.update(
            opportunity_id,
            status=AttemptStatus.LANDED,
            landed_slot=slot,
            signature=signature,
            realised_lamports=realised_lamports,
        )

    def finished(
        self,
        opportunity_id: str,
        status: AttemptStatus,
        *,
        reason: str | None = None,
        landed_slot: int | None = None,
        realised_lamports: int | None = None,
    ) -> AttemptStatus:
        """End an attempt without a successful landing (``failed``/``expired``/``dropped``/
        ``dry_run``). ``landed_slot``/``realised_lamports`` are for a transaction that was
        included but failed on chain (it still paid its fees)."""
        if status is AttemptStatus.LANDED or not status.terminal:
            raise LedgerValueError("status", status, "finished() takes a non-landed end status")
        return self.update(
            opportunity_id,
            status=status,
            failure_reason=reason,
            landed_slot=landed_slot,
            realised_lamports=realised_lamports,
        )

    def realised(self, opportunity_id: str, lamports: int) -> AttemptStatus:
        """The wallet balance change read from the chain for this attempt (signed)."""
        check_int64("realised_lamports", lamports)
        return self.update(opportunity_id, realised_lamports=lamports)

    # -- reads -----------------------------------------------------------------------------

    def get(self, opportunity_id: str) -> Attempt | None:
        rows = select_attempts(self._conn, "WHERE opportunity_id = ?", (opportunity_id,))
        return rows[0] if rows else None

    def attempts(
        self, *, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[Attempt]:
        """Every attempt created in ``[since_ms, until_ms)``, oldest first."""
        return read_attempts(self._conn, since_ms=since_ms, until_ms=until_ms)

    def orphans(self) -> list[Attempt]:
        """Attempts not finished (``planned``/``built``/``submitted``), oldest first. Read at
        startup — one process per state directory, before it trades — these are what an
        earlier process left behind when it ended (killed, crashed, power cut)."""
        marks = ", ".join("?" * len(_IN_FLIGHT))
        return select_attempts(
            self._conn,
            f"WHERE status IN ({marks}) ORDER BY created_at_ms, opportunity_id",
            tuple(s.value for s in _IN_FLIGHT),
        )

    def count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer (``"ok"`` when the file is sound)."""
        return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])

    # -- internals -------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _apply_update(self, params: dict[str, Any]) -> AttemptStatus:
        try:
            # fetchall, not fetchone: the autocommit transaction ends when the statement is
            # done.
            rows = self._conn.execute(_UPDATE_SQL, params).fetchall()
        except sqlite3.IntegrityError as exc:  # a schema trigger: see _schema, migration 2
            raise LedgerValueError("status", params["status"], str(exc)) from None
        if not rows:
            raise UnknownAttemptError(params["opportunity_id"])
        return AttemptStatus(rows[0][0])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _update_params(
        self, opportunity_id: str, *, status: AttemptStatus | None, **fields: Any
    ) -> dict[str, Any]:
        check_text("opportunity_id", opportunity_id)
        if status is not None and not isinstance(status, AttemptStatus):
            raise LedgerValueError("status", status, "must be an AttemptStatus")
        for name in (
            "tip",
            "base_fee",
            "priority_fee",
            "landed_slot",
            "realised_lamports",
            "last_valid_block_height",
        ):
            check_int64(name, fields.get(name), nullable=True)
        for name in ("signature", "bundle_id", "failure_reason"):
            check_text(name, fields.get(name), nullable=True)
        return {
            "now": self._now_ms(),
            "opportunity_id": opportunity_id,
            "status": None if status is None else status.value,
            "rank": None if status is None else status.rank,
            "tip": None,
            "base_fee": None,
            "priority_fee": None,
            "signature": None,
            "bundle_id": None,
            "landed_slot": None,
            "failure_reason": None,
            "realised_lamports": None,
            "last_valid_block_height": None,
            **fields,
        }

    def _upsert_results(
        self, opportunity_id: str, results: list[LanderResult], now_ms: int
    ) -> None:
        self._conn.executemany(
            _LANDER_UPSERT_SQL,
            [
                (opportunity_id, r.lander, r.endpoint, r.outcome.value, r.reason, now_ms)
                for r in results
            ],
        )


def _configure(conn: sqlite3.Connection, synchronous: Synchronous, busy_timeout_ms: int) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise LedgerValueError("journal_mode", mode, "the ledger needs WAL mode")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys = ON")


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check`` (the structural half of integrity_check, O(file size)): a
    damaged file is refused before anything is written to it, with SQLite's first finding."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:  # too damaged to even walk
        raise LedgerCorruptError(str(path), [str(exc)]) from None
    findings = [
        line
        for row in rows
        for line in str(row[0]).splitlines()
        if line.strip() and not line.startswith("*** in database")
    ]
    if findings != ["ok"]:
        raise LedgerCorruptError(str(path), findings)


def _require_current_version(conn: sqlite3.Connection, path: Path) -> None:
    version = current_version(conn)
    if version != SCHEMA_VERSION:
        hint = " (open it once with galileo run to migrate)" if version < SCHEMA_VERSION else ""
        raise LedgerSchemaError(
            str(path), f"schema version {version}, this galileo reads {SCHEMA_VERSION}{hint}"
        )


def open_readonly(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A read-only connection to an existing, up-to-date ledger (nothing is created)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no ledger at {file}")
    conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        _require_current_version(conn, file)
    except BaseException:
        conn.close()
        raise
    return conn


def read_attempts(
    conn: sqlite3.Connection, *, since_ms: int | None = None, until_ms: int | None = None
) -> list[Attempt]:
    """Every attempt created in ``[since_ms, until_ms)``, oldest first."""
    where, params = time_filter(since_ms, until_ms)
    return select_attempts(conn, where + " ORDER BY created_at_ms, opportunity_id", params)


def select_attempts(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> list[Attempt]:
    rows = conn.execute(f"SELECT {_ATTEMPT_COLUMNS} FROM attempts {where}", params).fetchall()
    if not rows:
        return []
    results = _lander_results_by_id(conn, [row[0] for row in rows])
    return [_attempt_from_row(row, results.get(row[0], ())) for row in rows]


def time_filter(
    since_ms: int | None,
    until_ms: int | None,
    *,
    column: str = "created_at_ms",
    run_id: str | None = None,
    id_column: str = "opportunity_id",
) -> tuple[str, tuple[Any, ...]]:
    """A ``WHERE`` clause on ``column`` (``""`` when unbounded), and with ``run_id`` on the
    run that created the attempt (opportunity ids are ``<run id>-<batch>``)."""
    clauses: list[str] = []
    params: list[Any] = []
    if run_id is not None:
        check_text("run_id", run_id)
        prefix = run_id + "-"
        # substr, not LIKE: a run id is matched literally, whatever characters it holds.
        clauses.append(f"substr({id_column}, 1, ?) = ?")
        params += [len(prefix), prefix]
    if since_ms is not None:
        check_int64("since_ms", since_ms)
        clauses.append(f"{column} >= ?")
        params.append(since_ms)
    if until_ms is not None:
        check_int64("until_ms", until_ms)
        clauses.append(f"{column} < ?")
        params.append(until_ms)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _check_lander_result(result: LanderResult) -> None:
    if not isinstance(result, LanderResult):
        raise LedgerValueError("results", result, "must be LanderResult values")
    check_text("lander", result.lander)
    check_text("endpoint", result.endpoint)
    check_text("reason", result.reason, nullable=True)
    if not isinstance(result.outcome, LanderOutcome):
        raise LedgerValueError("outcome", result.outcome, "must be a LanderOutcome")


def _lander_results_by_id(
    conn: sqlite3.Connection, ids: list[str]
) -> dict[str, tuple[LanderResult, ...]]:
    found: dict[str, list[LanderResult]] = {}
    # Chunked: SQLite caps the number of host parameters per statement.
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for opp, lander, endpoint, outcome, reason in conn.execute(
            "SELECT opportunity_id, lander, endpoint, outcome, reason FROM lander_results"
            f" WHERE opportunity_id IN ({marks}) ORDER BY opportunity_id, lander, endpoint",
            chunk,
        ):
            found.setdefault(opp, []).append(
                LanderResult(
                    lander=lander, endpoint=endpoint, outcome=LanderOutcome(outcome), reason=reason
                )
            )
    return {key: tuple(value) for key, value in found.items()}


def _attempt_from_row(row: tuple[Any, ...], results: tuple[LanderResult, ...]) -> Attempt:
    (
        opportunity_id,
        created_at_ms,
        updated_at_ms,
        base_mint,
        intermediate_mint,
        size,
        expected_profit,
        dry_run,
        status,
        tip,
        base_fee,
        priority_fee,
        signature,
        bundle_id,
        landed_slot,
        failure_reason,
        realised_lamports,
        last_valid_block_height,
        pair,
    ) = row
    return Attempt(
        opportunity_id=opportunity_id,
        created_at_ms=created_at_ms,
        updated_at_ms=updated_at_ms,
        base_mint=base_mint,
        intermediate_mint=intermediate_mint,
        size=size,
        expected_profit=expected_profit,
        dry_run=bool(dry_run),
        status=AttemptStatus(status),
        tip=tip,
        base_fee=base_fee,
        priority_fee=priority_fee,
        signature=signature,
        bundle_id=bundle_id,
        landed_slot=landed_slot,
        failure_reason=failure_reason,
        realised_lamports=realised_lamports,
        last_valid_block_height=last_valid_block_height,
        pair=pair,
        lander_results=results,
    )
