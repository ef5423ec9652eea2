"""Errors of the Jupiter binary lifecycle (install, verify, launch, supervise)."""

from __future__ import annotations

from galileo._errors import GalileoError


class JupiterError(GalileoError):
    """Root of every error about the managed jupiter-swap-api binary and process."""


class ReleaseError(JupiterError):
    """The releases API could not be read, or has no such version / asset."""


class DownloadError(JupiterError):
    """A release asset could not be downloaded (status, transport failure, deadline)."""


class VerificationError(JupiterError):
    """A downloaded asset's sha256 differs from the pinned or first-seen digest.

    Nothing is installed or switched when this is raised.
    """

    def __init__(self, *, tag: str, asset: str, expected: str, actual: str, source: str) -> None:
        super().__init__(
            f"sha256 mismatch for {asset} {tag}: expected {expected} ({source}), got {actual}; "
            "refusing to install (nothing was changed)"
        )
        self.tag = tag
        self.asset = asset
        self.expected = expected
        self.actual = actual
        self.source = source


class InstallError(JupiterError):
    """The install cache is unusable: bad archive, nothing installed, no version to roll back to."""


class LaunchError(JupiterError):
    """The launch command cannot be built (missing RPC URL, bad thread counts, bad mints)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"jupiter.launch.{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class MintFilterError(JupiterError):
    """A market-filter mint supplier (file or URL) could not be read."""


class SupervisorFailed(JupiterError):
    """The supervised process could not be kept running (restart budget spent, never ready)."""
