"""The ledger's SQLite schema and its migrations.

Each migration is applied once, in order, inside one transaction, recorded in
``schema_migrations`` (the history: what was applied when) and stamped in ``PRAGMA
user_version`` (the version any SQLite tool can read without knowing the schema). A file
with a version newer than this code knows is refused rather than guessed at. Tables are
``STRICT`` so SQLite itself refuses a float or text in an amount column (the Python side
checks first and names the field).
"""

from __future__ import annotations

import sqlite3
import time

import attrs

from galileo.ledger._models import LedgerSchemaError
from galileo.model import AttemptStatus, LanderOutcome


@attrs.frozen
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def _quoted(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_STATUSES = _quoted([s.value for s in AttemptStatus])
_OUTCOMES = _quoted([o.value for o in LanderOutcome])
_SENT_STATUSES = _quoted(
    [
        s.value
        for s in (
            AttemptStatus.SUBMITTED,
            AttemptStatus.LANDED,
            AttemptStatus.FAILED,
            AttemptStatus.EXPIRED,
        )
    ]
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "attempts and lander results",
        (
            f"""
            CREATE TABLE attempts (
                opportunity_id    TEXT PRIMARY KEY NOT NULL,
                created_at_ms     INTEGER NOT NULL,
                updated_at_ms     INTEGER NOT NULL,
                base_mint         TEXT NOT NULL,
                intermediate_mint TEXT NOT NULL,
                size              INTEGER NOT NULL,
                expected_profit   INTEGER NOT NULL,
                dry_run           INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
                status            TEXT NOT NULL CHECK (status IN ({_STATUSES})),
                tip               INTEGER,
                base_fee          INTEGER,
                priority_fee      INTEGER,
                signature         TEXT,
                bundle_id         TEXT,
                landed_slot       INTEGER,
                failure_reason    TEXT,
                realised_lamports INTEGER
            ) STRICT
            """,
            "CREATE INDEX attempts_by_created ON attempts (created_at_ms)",
            "CREATE INDEX attempts_by_status ON attempts (status)",
            f"""
            CREATE TABLE lander_results (
                opportunity_id TEXT NOT NULL REFERENCES attempts (opportunity_id),
                lander         TEXT NOT NULL,
                endpoint       TEXT NOT NULL,
                outcome        TEXT NOT NULL CHECK (outcome IN ({_OUTCOMES})),
                reason         TEXT,
                at_ms          INTEGER NOT NULL,
                PRIMARY KEY (opportunity_id, lander, endpoint)
            ) STRICT
            """,
        ),
    ),
    Migration(
        2,
        "send facts for reconciliation; dry runs are never sent",
        (
            # Known once the transaction is built: past this block height it can never land,
            # which is how a restarted bot decides that an orphaned send expired.
            "ALTER TABLE attempts ADD COLUMN last_valid_block_height INTEGER",
            # Whether a row is a dry run is fixed when it is planned, and a dry-run row never
            # takes a status only a sent transaction can have: dry-run and live attempts can
            # never share a row, whatever a caller does.
            """
            CREATE TRIGGER attempts_dry_run_is_fixed
            BEFORE UPDATE OF dry_run ON attempts
            WHEN NEW.dry_run IS NOT OLD.dry_run
            BEGIN SELECT RAISE(ABORT, 'dry_run of an attempt cannot change'); END
            """,
            f"""
            CREATE TRIGGER attempts_dry_run_is_never_sent
            BEFORE UPDATE OF status ON attempts
            WHEN OLD.dry_run = 1 AND NEW.status IN ({_SENT_STATUSES})
            BEGIN SELECT RAISE(ABORT, 'a dry-run attempt cannot be sent'); END
            """,
        ),
    ),
    Migration(
        3,
        "the venue pair of each attempt (multi-leg)",
        (
            # buy venue>sell venue; rows from before multi-leg were Jupiter for both legs.
            "ALTER TABLE attempts ADD COLUMN pair TEXT NOT NULL DEFAULT 'jupiter>jupiter'",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(conn: sqlite3.Connection) -> int:
    """The file's schema version: the higher of ``PRAGMA user_version`` and the history (a
    file from before the stamp existed has only the history)."""
    stamped = int(conn.execute("PRAGMA user_version").fetchone()[0])
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if exists is None:
        return stamped
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return max(stamped, int(row[0] or 0))


def _refuse_newer(found: int, path: str) -> None:
    if found > SCHEMA_VERSION:
        raise LedgerSchemaError(
            path, f"schema version {found} is newer than this galileo ({SCHEMA_VERSION})"
        )


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the file up to ``SCHEMA_VERSION``; return the version found before.

    ``conn`` must be in autocommit mode (``isolation_level=None``): each migration runs in its
    own ``BEGIN IMMEDIATE`` transaction, so two processes opening a fresh file at once do not
    both apply it.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY NOT NULL,"
            " name TEXT NOT NULL,"
            " applied_at_ms INTEGER NOT NULL) STRICT"
        )
        found = current_version(conn)
        _refuse_newer(found, path)
        for migration in MIGRATIONS:
            if migration.version <= found:
                continue
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)",
                (migration.version, migration.name, int(time.time() * 1000)),
            )
        if found < SCHEMA_VERSION:
            # PRAGMA takes no parameters; the value is our own int. It is transactional: a
            # rolled-back migration leaves the old stamp.
            conn.execute(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
