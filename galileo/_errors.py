"""The error hierarchy. Every failure galileo reports is one of these types.

Each carries the facts a person needs to act (a key path, an HTTP status, a reason code) as
attributes, so callers branch on data and log lines stay structured.
"""

from __future__ import annotations


class GalileoError(Exception):
    """Root of every error galileo raises on purpose."""


class ConfigError(GalileoError):
    """A configuration value is missing, malformed or inconsistent.

    ``path`` is the dotted key path (``strategy.blind.base_mints[0].trade_size_range``) and
    ``reason`` says what is wrong with it; ``str(err)`` is ``"<path>: <reason>"``.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class ConfigErrors(GalileoError):
    """Several configuration errors found in one pass (all are reported, not just the first)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class StartupError(GalileoError):
    """A run could not start although its configuration is valid: an upstream that does not
    answer in time, say. ``str(err)`` says which key points at it."""
