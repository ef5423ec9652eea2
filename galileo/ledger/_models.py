"""Value types of the ledger: attempt statuses, lander outcomes, rows and the errors.

Everything a pipeline stage hands to the ledger is a plain int, str or one of these enums, so
the transaction builder, the landers and the landing tracker can write without importing
anything heavier than this module.
"""

from __future__ import annotations

from typing import Any

import attrs

from galileo._errors import GalileoError
from galileo.model import AttemptStatus, LanderResult

DEFAULT_PAIR = "jupiter>jupiter"
"""The venue pair of an attempt whose legs both went through Jupiter (the circular route)."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class LedgerError(GalileoError):
    """Root of the ledger's errors."""


class LedgerValueError(LedgerError, ValueError):
    """A value cannot be stored as given (``field`` names it); nothing was written."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        super().__init__(f"{field}: {reason} (got {value!r})")
        self.field = field
        self.value = value
        self.reason = reason


class UnknownAttemptError(LedgerError, KeyError):
    """An update names an opportunity id that was never planned."""

    def __init__(self, opportunity_id: str) -> None:
        super().__init__(opportunity_id)
        self.opportunity_id = opportunity_id

    def __str__(self) -> str:
        return f"no attempt with opportunity id {self.opportunity_id!r} (plan() it first)"


class LedgerSchemaError(LedgerError):
    """The ledger file was written by a newer galileo (or is not a galileo ledger)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class LedgerCorruptError(LedgerError):
    """``PRAGMA quick_check`` found damage; ``findings`` are SQLite's messages. Nothing was
    written. Restore a backup, or salvage with ``sqlite3 FILE .recover``."""

    def __init__(self, path: str, findings: list[str]) -> None:
        first = findings[0] if findings else "unknown damage"
        more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
        super().__init__(f"{path}: the ledger file is damaged: {first}{more}")
        self.path = path
        self.findings = findings


@attrs.frozen(kw_only=True)
class Attempt:
    """One row of the ledger as read back (amounts in lamports / atomic units).

    Times are Unix epoch milliseconds (wall clock, UTC). ``None`` means "not known (yet)".
    """

    opportunity_id: str
    created_at_ms: int
    updated_at_ms: int
    base_mint: str
    intermediate_mint: str
    size: int
    expected_profit: int
    dry_run: bool
    status: AttemptStatus
    tip: int | None = None
    base_fee: int | None = None
    priority_fee: int | None = None
    signature: str | None = None
    bundle_id: str | None = None
    landed_slot: int | None = None
    failure_reason: str | None = None
    realised_lamports: int | None = None
    last_valid_block_height: int | None = None
    pair: str = DEFAULT_PAIR
    """The venues of the legs, ``buy>sell`` (multi-leg)."""
    lander_results: tuple[LanderResult, ...] = ()

    @property
    def fees(self) -> int | None:
        """Base + priority fee, when either is known."""
        if self.base_fee is None and self.priority_fee is None:
            return None
        return (self.base_fee or 0) + (self.priority_fee or 0)


def check_int64(field: str, value: object, *, nullable: bool = False) -> None:
    """Refuse anything SQLite cannot store exactly as an INTEGER (bools and floats included)."""
    if value is None and nullable:
        return
    if type(value) is not int:
        raise LedgerValueError(field, value, "must be an int")
    if not INT64_MIN <= value <= INT64_MAX:
        raise LedgerValueError(field, value, "outside the signed 64-bit range SQLite stores")


def check_text(field: str, value: object, *, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, str):
        raise LedgerValueError(field, value, "must be a str")
