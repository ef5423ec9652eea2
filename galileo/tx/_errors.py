"""Typed errors of the transaction area."""

from __future__ import annotations

import enum

from galileo._errors import GalileoError


class TxError(GalileoError):
    """Root of the transaction area's errors."""


class WalletErrorKind(enum.Enum):
    MISSING = "missing"
    INSECURE = "insecure"
    MALFORMED = "malformed"


class WalletError(TxError):
    """The keypair file cannot be used; ``kind`` says why, ``path`` which file."""

    def __init__(self, kind: WalletErrorKind, path: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path


class BlockhashStale(TxError):
    """No blockhash that is safe to sign with: none fetched yet, the last one is too old, or
    too close to its last valid block height. ``detail`` says which."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AltUnavailable(TxError):
    """An address lookup table could not be fetched or is not a lookup table."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"{address}: {reason}")
        self.address = address
        self.reason = reason
