"""Make arbitrary structured data safe to emit: JSON-ready, with every known secret masked."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from galileo._secret import Secret, expand_secrets, redact_text

__all__ = ["expand_secrets", "scrub"]


def scrub(value: Any, secrets: Sequence[Secret | str]) -> Any:
    """A JSON-ready copy of ``value`` with secrets masked.

    Ints, floats, bools and None pass through unchanged (amounts stay ints). Strings go through
    ``redact_text``; ``Secret`` objects become their redacted form; enums become their value;
    attrs instances become dicts; mappings, lists, tuples and sets become dicts and lists;
    anything else becomes its (redacted) ``str``.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value, secrets) if secrets else value
    if isinstance(value, Secret):
        return value.redacted()
    if isinstance(value, enum.Enum):
        return scrub(value.value, secrets)
    if isinstance(value, Mapping):
        return {str(scrub(str(k), secrets)): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((scrub(v, secrets) for v in value), key=repr)
    if attrs.has(type(value)):
        return scrub(attrs.asdict(value, recurse=False), secrets)
    if isinstance(value, bytes):
        return value.hex()
    return scrub(str(value), secrets)
