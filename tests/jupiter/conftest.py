"""Fixtures for the Jupiter lifecycle tests (helpers live in jupiter_support.py)."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trio

from galileo._httpserver import HttpServer
from tests.jupiter.jupiter_support import FakeGitHub, launched_pids, process_gone


@pytest.fixture
async def github(nursery: trio.Nursery) -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub()
    server = HttpServer(fake.handle, name="fake-github", idle_timeout=5)
    await nursery.start(server.run)
    fake.url = server.url
    yield fake


@pytest.fixture
def control_dir(tmp_path: Path) -> Path:
    path = tmp_path / "control"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def _kill_leftover_children(control_dir: Path) -> Iterator[None]:
    """Whatever a test does, no stand-in it launched survives it."""
    yield
    for pid in launched_pids(control_dir):
        if not process_gone(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
