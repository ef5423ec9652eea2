"""Logging: JSON lines with the documented keys, a readable console line, secrets scrubbed
from messages and fields, an extra JSONL file, and idempotent setup."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from galileo._config import LoggingConfig
from galileo._secret import Secret
from galileo.obs import configure_logging, reset_logging

TOKEN = "sk_live_9f8e7d6c5b4a"
RPC_URL = f"https://rpc.example.com/v1/{TOKEN}"


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    yield
    reset_logging()


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines_of(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines_of(stream)]


def test_a_non_tty_stream_gets_json_lines_with_the_documented_keys() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(), stream=stream)
    logging.getLogger("galileo.engine").info(
        "quote_failed", extra={"fields": {"ip": "127.0.0.2", "amount": 10**18, "ok": False}}
    )
    (line,) = json_lines(stream)
    assert list(line)[:4] == ["ts", "level", "logger", "event"]
    assert line["level"] == "info"
    assert line["logger"] == "galileo.engine"
    assert line["event"] == "quote_failed"
    assert line["ip"] == "127.0.0.2"
    assert line["amount"] == 10**18
    assert line["ok"] is False
    ts = datetime.fromisoformat(line["ts"])
    assert ts.utcoffset() is not None and ts.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_exceptions_are_included_as_exc() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(), stream=stream)
    try:
        raise ValueError("bad body")
    except ValueError:
        logging.getLogger("galileo.jupiter").exception("decode_failed")
    (line,) = json_lines(stream)
    assert line["level"] == "error"
    assert "ValueError: bad body" in line["exc"]


def test_fields_named_like_core_keys_cannot_overwrite_them() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(), stream=stream)
    logging.getLogger("galileo.x").warning("real", extra={"fields": {"event": "fake", "ts": 1}})
    (line,) = json_lines(stream)
    assert line["event"] == "real"
    assert line["fields.event"] == "fake"
    assert line["fields.ts"] == 1


def test_secrets_are_scrubbed_from_message_args_and_fields_in_json() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(), stream=stream, secrets=[Secret(RPC_URL)])
    log = logging.getLogger("galileo.landers")
    log.info("send_failed %s", RPC_URL, extra={"fields": {"url": RPC_URL, "token": TOKEN}})
    log.info("config", extra={"fields": {"rpc": Secret(RPC_URL), "nested": {"k": [TOKEN]}}})
    text = stream.getvalue()
    assert TOKEN not in text
    first, second = json_lines(stream)
    assert first["event"] == "send_failed https://rpc.example.com/***"
    assert first["url"] == "https://rpc.example.com/***"
    assert first["token"] == "***"
    assert second["rpc"] == "https://rpc.example.com/***"
    assert second["nested"] == {"k": ["***"]}


def test_secrets_are_scrubbed_from_tracebacks() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(), stream=stream, secrets=[Secret(RPC_URL)])
    try:
        raise ConnectionError(f"cannot connect to {RPC_URL}")
    except ConnectionError:
        logging.getLogger("galileo.net").exception("connect_failed")
    assert TOKEN not in stream.getvalue()


def test_a_tty_gets_one_readable_line_per_event() -> None:
    stream = TtyStream()
    configure_logging(LoggingConfig(format="auto"), stream=stream, secrets=[TOKEN])
    logging.getLogger("galileo.engine").info(
        "opportunity", extra={"fields": {"mint": "So11", "profit": 1234, "why": "two words"}}
    )
    logging.getLogger("galileo.engine").warning("leak %s", TOKEN)
    first, second = lines_of(stream)
    assert ' INFO    galileo.engine opportunity mint=So11 profit=1234 why="two words"' in first
    assert second.endswith("WARNING galileo.engine leak ***")


@pytest.mark.parametrize(
    ("config_format", "force", "tty", "expect_json"),
    [
        ("auto", None, False, True),
        ("auto", None, True, False),
        ("json", None, True, True),
        ("console", None, False, False),
        ("console", "json", True, True),
        ("json", "console", False, False),
    ],
)
def test_the_format_follows_force_then_config_then_the_tty(
    config_format: Any, force: Any, tty: bool, expect_json: bool
) -> None:
    stream = TtyStream() if tty else io.StringIO()
    configure_logging(LoggingConfig(format=config_format), stream=stream, force_format=force)
    logging.getLogger("galileo.t").info("hello")
    assert stream.getvalue().startswith("{") == expect_json


def test_configuring_twice_does_not_duplicate_lines() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(), stream=stream)
    configure_logging(LoggingConfig(), stream=stream)
    logging.getLogger("galileo.t").info("once")
    assert len(lines_of(stream)) == 1


def test_the_level_filters_and_other_loggers_are_untouched() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(level="warning"), stream=stream)
    logging.getLogger("galileo.t").info("hidden")
    logging.getLogger("galileo.t").warning("shown")
    logging.getLogger("someone.else").warning("not ours")
    assert [line["event"] for line in json_lines(stream)] == ["shown"]


def test_the_extra_file_gets_json_lines_even_when_the_console_is_readable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "logs" / "galileo.jsonl"
    stream = TtyStream()
    configure_logging(
        LoggingConfig(format="console", file=str(path)), stream=stream, secrets=[TOKEN]
    )
    logging.getLogger("galileo.t").info("saved", extra={"fields": {"token": TOKEN}})
    reset_logging()
    (line,) = [json.loads(text) for text in path.read_text().splitlines()]
    assert line["event"] == "saved"
    assert line["token"] == "***"
    assert not stream.getvalue().startswith("{")


def test_the_redacting_filter_protects_handlers_galileo_does_not_own() -> None:
    from galileo.obs import RedactingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([Secret(RPC_URL)]))
    logger = logging.getLogger("thirdparty.client")
    logger.addHandler(handler)
    try:
        logger.warning("retrying %s", RPC_URL, extra={"fields": {"url": RPC_URL}})
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "retrying https://rpc.example.com/***\n"


def test_a_console_floor_quiets_the_terminal_but_not_the_file(tmp_path: Path) -> None:
    stream = TtyStream()
    log_file = tmp_path / "galileo.jsonl"
    configure_logging(
        LoggingConfig(file=str(log_file)), stream=stream, console_min_level=logging.WARNING
    )
    logger = logging.getLogger("galileo.app")
    logger.info("progress")
    logger.warning("drain timed out")
    assert len(lines_of(stream)) == 1 and "drain timed out" in stream.getvalue()
    events = [json.loads(line)["event"] for line in log_file.read_text().splitlines()]
    assert events == ["progress", "drain timed out"]
