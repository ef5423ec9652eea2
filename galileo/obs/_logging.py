"""Logging setup: JSON lines for machines, one readable line per event for people.

Everything galileo logs goes through ``logging.getLogger("galileo.<area>")`` with the message
as a short event name and the data in ``extra={"fields": {...}}``. ``configure_logging``
attaches the handlers to the ``"galileo"`` logger (not the root), so third-party libraries'
logging is left as it is, and calling it again replaces its handlers instead of adding more.

Every emitted line, in every format, is scrubbed of the known secret values (and ``Secret``
objects in fields print their redacted form). The log file is owner-only (0600).
"""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

from galileo._config import LoggingConfig
from galileo._secret import Secret, private_dir, private_opener, redact_text
from galileo.obs._redact import expand_secrets, scrub
from galileo.obs._repeat import RepeatFilter

LOGGER_NAME = "galileo"
_CORE_KEYS = ("ts", "level", "logger", "event")
_MARK = "_galileo_obs_handler"

Format = Literal["json", "console", "journald"]


def _fields_of(record: logging.LogRecord) -> Mapping[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, Mapping) else {}


def _exc_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    if record.exc_info:
        return formatter.formatException(record.exc_info)
    if record.exc_text:
        return record.exc_text
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts, level, logger, event``, then the fields, then ``exc``.

    A field named like a core key is emitted as ``fields.<name>`` so it cannot overwrite it.
    """

    def __init__(self, secrets: Sequence[Secret | str] = ()) -> None:
        super().__init__()
        self._secrets = expand_secrets(secrets)

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in _fields_of(record).items():
            name = str(key)
            payload[f"fields.{name}" if name in _CORE_KEYS or name == "exc" else name] = value
        exc = _exc_text(self, record)
        if exc:
            payload["exc"] = exc
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        line = json.dumps(scrub(payload, self._secrets), ensure_ascii=False, separators=(",", ":"))
        return redact_text(line, self._secrets)


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS.mmm LEVEL logger event key=value …`` (UTC), traceback on following lines."""

    def __init__(self, secrets: Sequence[Secret | str] = ()) -> None:
        super().__init__()
        self._secrets = expand_secrets(secrets)

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        stamp = when.strftime("%H:%M:%S.") + f"{when.microsecond // 1000:03d}"
        return f"{stamp} {record.levelname:<7} {self.body(record)}"

    def body(self, record: logging.LogRecord) -> str:
        """``logger event key=value …`` and the traceback, secrets redacted."""
        parts = [record.name, record.getMessage()]
        for key, value in scrub(dict(_fields_of(record)), self._secrets).items():
            parts.append(f"{key}={_console_value(value)}")
        line = " ".join(parts)
        exc = _exc_text(self, record)
        if exc:
            line = f"{line}\n{exc}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return redact_text(line, self._secrets)


def _console_value(value: Any) -> str:
    if isinstance(value, str):
        plain = value and not any(c.isspace() or c in '"=' for c in value)
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class JournaldFormatter(logging.Formatter):
    """``<priority>logger event key=value …``: journald (and syslog) read the ``<N>`` prefix
    as the priority and stamp their own time, so none is written."""

    _PRIORITY: ClassVar[dict[str, int]] = {
        "DEBUG": 7,
        "INFO": 6,
        "WARNING": 4,
        "ERROR": 3,
        "CRITICAL": 2,
    }

    def __init__(self, secrets: Sequence[Secret | str] = ()) -> None:
        super().__init__()
        self._console = ConsoleFormatter(secrets)

    def format(self, record: logging.LogRecord) -> str:
        line = self._console.body(record)
        priority = self._PRIORITY.get(record.levelname, 6)
        # One journal entry per line: a traceback's lines keep the priority.
        return "\n".join(f"<{priority}>{part}" for part in line.split("\n"))


class PrivateFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler whose files are created 0600 (an existing one is narrowed to
    0600) in a directory created 0700: the log names the wallet, amounts and PnL. At
    ``max_bytes`` (0 = never) the file becomes ``<file>.1`` (older ones shift up to
    ``backups``) and a new one starts."""

    def __init__(self, path: str | Path, *, max_bytes: int = 0, backups: int = 0) -> None:
        private_dir(Path(path).parent)
        super().__init__(path, mode="a", maxBytes=max_bytes, backupCount=backups, encoding="utf-8")

    def _open(self) -> io.TextIOWrapper:
        # Always appended (``mode="a"`` above): restarts add to the file.
        return open(self.baseFilename, "a", encoding=self.encoding, opener=private_opener)


class RedactingFilter(logging.Filter):
    """For handlers galileo does not own: masks secrets in the message and its arguments."""

    def __init__(self, secrets: Sequence[Secret | str]) -> None:
        super().__init__()
        self._secrets = expand_secrets(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = redact_text(record.getMessage(), self._secrets)
            record.args = None
            fields = getattr(record, "fields", None)
            if isinstance(fields, Mapping):
                record.fields = scrub(fields, self._secrets)
        return True


def configure_logging(
    config: LoggingConfig,
    *,
    secrets: Sequence[Secret | str] = (),
    stream: IO[str] | None = None,
    force_format: Format | None = None,
    console_min_level: int = logging.NOTSET,
) -> logging.Logger:
    """Send the ``galileo`` loggers to ``stream`` (stderr) and, if set, to ``config.file``.

    ``console_min_level`` raises the bar for ``stream`` only (the live view owns the terminal
    and shows the state; warnings still get through, the file still gets everything).

    Format: ``force_format`` if given, else ``config.format``; ``auto`` means console when
    ``stream`` is a TTY and JSON lines otherwise. ``config.file`` always gets JSON lines
    (appended, owner-only; its directory is created). Idempotent: handlers from a previous
    call are closed and replaced. Returns the ``galileo`` logger.
    """
    out = sys.stderr if stream is None else stream
    chosen: Format
    if force_format is not None:
        chosen = force_format
    elif config.format == "auto":
        isatty = getattr(out, "isatty", None)
        chosen = "console" if callable(isatty) and isatty() else "json"
    else:
        chosen = config.format

    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(old)
        old.close()

    handlers: list[logging.Handler] = []
    console = logging.StreamHandler(out)
    console.setLevel(console_min_level)
    formatter: logging.Formatter
    if chosen == "console":
        formatter = ConsoleFormatter(secrets)
    elif chosen == "journald":
        formatter = JournaldFormatter(secrets)
    else:
        formatter = JsonFormatter(secrets)
    console.setFormatter(formatter)
    handlers.append(console)
    if config.file:
        file_handler = PrivateFileHandler(
            config.file, max_bytes=config.file_max_bytes, backups=config.file_backups
        )
        file_handler.setFormatter(JsonFormatter(secrets))
        handlers.append(file_handler)
    repeats = RepeatFilter()  # one for all handlers: a repeated warning is held back once
    for handler in handlers:
        setattr(handler, _MARK, True)
        handler.addFilter(repeats)
        logger.addHandler(handler)
    logger.setLevel(config.level.upper())
    # Our handlers are the output; do not also hand records to whatever the root has.
    logger.propagate = False
    return logger


def reset_logging() -> None:
    """Undo ``configure_logging`` (tests; a program can simply exit)."""
    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(old)
        old.close()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
