"""Secrets: RPC URLs with tokens, gRPC x-tokens, auth UUIDs, JWTs, webhook URLs.

A ``Secret`` never shows its value in ``repr``/``str``/f-strings, so it cannot leak through a
log line, an exception message or ``config show`` by accident. Code that must send the value
asks for it explicitly with ``.reveal()``. ``redact_text`` scrubs known secret values out of
free text (log lines, child-process output, error bodies).

Files that hold secrets or what other users of the host should not read (the ledger's PnL,
logs, the event trace, runtime and control files) are created private: ``private_dir`` for
their directories (0700), ``open(path, mode, opener=private_opener)`` for the files (0600),
``write_private_text`` for files replaced atomically and ``touch_private`` for files another
library opens (SQLite). The modes hold whatever the umask says.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
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


# Environment variables whose values are configuration, not credentials: shown as they are.
PUBLIC_ENV_NAMES = frozenset({"RUST_LOG", "RUST_BACKTRACE"})


def env_secrets(env: Mapping[str, str]) -> list[Secret]:
    """The values of an operator-supplied environment (``jupiter.launch.env``) treated as
    secrets: every non-empty value except those of ``PUBLIC_ENV_NAMES``. galileo cannot tell
    an API key from a log level, so it masks them all."""
    return [Secret(value) for name, value in env.items() if value and name not in PUBLIC_ENV_NAMES]


# --- private files --------------------------------------------------------------------------

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: str | os.PathLike[str], *, narrow: bool = False) -> Path:
    """Create directory ``path`` and its missing parents as 0700; return it as a ``Path``.

    An existing directory keeps its mode (a log directory may be shared on purpose) unless
    ``narrow``: then it is narrowed to 0700 too (galileo's own state directory).
    """
    directory = Path(path).expanduser()
    missing: list[Path] = []
    for candidate in (directory, *directory.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            candidate.mkdir(mode=PRIVATE_DIR_MODE)
        _chmod(candidate, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    if narrow and not missing:
        _chmod(directory, PRIVATE_DIR_MODE)
    return directory


def private_opener(path: str, flags: int) -> int:
    """``open(path, mode, opener=private_opener)``: a file created 0600, and an existing one
    narrowed to 0600 (written by an older galileo, or under a wide umask). Its directory must
    exist (``private_dir``)."""
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    with contextlib.suppress(PermissionError):  # another user's file we may write: leave it
        os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def touch_private(path: str | os.PathLike[str]) -> Path:
    """Make sure file ``path`` exists, mode 0600, in a private directory, without changing its
    content — for a file another library opens by name (SQLite then creates its -wal and -shm
    files with the same mode)."""
    file = Path(path).expanduser()
    private_dir(file.parent)
    os.close(private_opener(str(file), os.O_WRONLY | os.O_CREAT))
    return file


def write_private_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace file ``path`` with ``text`` atomically (temporary file + rename: a reader never
    sees half a file), mode 0600, in a private directory."""
    file = Path(path).expanduser()
    private_dir(file.parent)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", opener=private_opener) as out:
        out.write(text)
    os.replace(tmp, file)


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(PermissionError):  # not ours: leave it as it is
        path.chmod(mode)
