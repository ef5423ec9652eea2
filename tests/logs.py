"""Reading galileo's structured log records in tests."""

from __future__ import annotations

import logging
from typing import Any


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The fields galileo logs with ``extra={"fields": {...}}`` (see galileo.obs)."""
    fields = record.__dict__.get("fields")
    assert isinstance(fields, dict), record
    return fields
