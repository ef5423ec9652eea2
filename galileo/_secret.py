"""Secrets: RPC URLs with tokens, gRPC x-tokens, auth UUIDs, JWTs, webhook URLs.

A ``Secret`` never shows its value in ``repr``/``str``/f-strings, so it cannot leak through a
log line, an exception message or ``config show`` by accident. Code that must send the value
asks for it explicitly with ``.reveal()``. ``redact_text`` scrubs known secret values out of
free text (log lines, child-process output, error bodies).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

MASK = "***"


@attrs.frozen(repr=False)
class Secret:
    """A string that must not be shown. Empty means "not set"."""

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """The real value, for the one place that sends it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def redacted(self) -> str:
        """A form safe to show: URLs keep scheme, host and port; everything else is masked."""
        return redact_value(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.redacted()!r})"

    def __str__(self) -> str:
        return self.redacted()

    def __format__(self, spec: str) -> str:
        return format(self.redacted(), spec)


def redact_value(value: str) -> str:
    """``https://rpc.example/?api-key=abc`` → ``https://rpc.example/***``; ``abc`` → ``***``."""
    if not value:
        return ""
    if "://" in value:
        try:
            parts = urlsplit(value)
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            return MASK
        if host:
            hidden = parts.path not in ("", "/") or parts.query or parts.username
            return f"{parts.scheme}://{host}{port}/{MASK if hidden else ''}"
    return MASK


def redact_text(text: str, secrets: Iterable[Secret | str]) -> str:
    """Replace every occurrence of each given value in ``text`` with its redacted form.

    Pass ``expand_secrets(...)`` (computed once) rather than the raw secrets to also mask the
    parts of a secret URL that carry the credential on their own.
    """
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if len(value) < 4:
            continue  # too short to mask without mangling ordinary text
        if value in text:
            text = text.replace(value, redact_value(value))
    return text


_MIN_PART = 8  # URL parts shorter than this (``v2``, ``rpc``) are not worth masking alone


def expand_secrets(secrets: Iterable[Secret | str]) -> tuple[str, ...]:
    """The strings to mask for ``secrets``: each whole value and, for URLs, the parts that
    carry the credential on their own (query values, long path segments, the password), so
    a token copied out of its URL into an error message is masked too. Longest first, so a
    whole URL is replaced before its parts.
    """
    needles: set[str] = set()
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if len(value) < 4:
            continue
        needles.add(value)
        if "://" not in value:
            continue
        try:
            parts = urlsplit(value)
            password = parts.password
        except ValueError:
            continue
        candidates = [v for _, v in parse_qsl(parts.query, keep_blank_values=False)]
        candidates += [unquote(segment) for segment in parts.path.split("/")]
        candidates += parts.path.split("/")
        if password:
            candidates.append(password)
        needles.update(c for c in candidates if len(c) >= _MIN_PART)
    return tuple(sorted(needles, key=len, reverse=True))
