"""The child's stdout/stderr, redacted and written to a size-rotated log file."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from galileo._secret import expand_secrets, private_dir, private_opener, redact_text


class ChildLog:
    """Append lines to ``path``; past ``max_bytes`` rotate to ``path.1`` … ``path.<backups>``.

    Secret values (and the credential parts of secret URLs) are scrubbed from every line; the
    last lines stay in ``tail`` for error messages ("exited with 1; last output: …"). The
    files are owner-only (0600), in a private directory when galileo creates it.
    """

    def __init__(
        self, path: Path, *, max_bytes: int, backups: int, secrets: Sequence[str] = ()
    ) -> None:
        self.path = path
        self._max_bytes = max_bytes
        self._backups = backups
        self._secrets = expand_secrets(secrets)
        self._partial = b""
        self.tail: deque[str] = deque(maxlen=20)
        private_dir(path.parent)
        self._file = open(path, "ab", opener=private_opener)  # noqa: SIM115 - owned
        self._size = self._file.tell()

    def set_secrets(self, secrets: Sequence[str]) -> None:
        self._secrets = expand_secrets(secrets)

    def feed(self, data: bytes) -> None:
        """Add raw output; complete lines are written, a trailing partial line is held."""
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        if len(self._partial) > 64 * 1024:  # a runaway line: write it anyway
            lines.append(self._partial)
            self._partial = b""
        for line in lines:
            self._write_line(line)
        self._file.flush()

    def mark(self, text: str) -> None:
        """A galileo line in the child log (spawn/exit markers), so the file tells the story."""
        self._write_line(f"[galileo] {text}".encode())
        self._file.flush()

    def close(self) -> None:
        if self._partial:
            self._write_line(self._partial)
            self._partial = b""
        self._file.close()

    def _write_line(self, raw: bytes) -> None:
        text = redact_text(raw.decode("utf-8", errors="replace").rstrip("\r"), self._secrets)
        self.tail.append(text)
        encoded = text.encode() + b"\n"
        if self._size + len(encoded) > self._max_bytes and self._size > 0:
            self._rotate()
        self._file.write(encoded)
        self._size += len(encoded)

    def _rotate(self) -> None:
        self._file.close()
        if self._backups > 0:
            for i in range(self._backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{i}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{i + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
            self._file = open(self.path, "ab", opener=private_opener)  # noqa: SIM115
        else:
            self._file = open(self.path, "wb", opener=private_opener)  # noqa: SIM115
        self._size = 0
