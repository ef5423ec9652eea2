"""Helpers for the Jupiter lifecycle tests: fake release archives, a fake GitHub releases
API with Range support, configs with short timeouts, process checks."""

from __future__ import annotations

import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import attrs
import trio

from galileo._config import Config, JupiterConfig, LaunchConfig, ProcessConfig
from galileo._httpserver import Request, Response
from tests.ports import free_port

FAKE_SCRIPT = Path(__file__).with_name("fake_jupiter.py")
ASSET = "jupiter-swap-api-x86_64-unknown-linux-gnu.zip"


def fake_binary_bytes(marker: str = "") -> bytes:
    """The stand-in as an executable script (the marker changes the digest per version)."""
    return (
        f"#!{sys.executable}\n# fake jupiter-swap-api {marker}\n".encode()
        + FAKE_SCRIPT.read_bytes()
    )


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def release_zip(tag: str, *, padding: int = 0) -> bytes:
    """A release archive; ``padding`` adds an incompressible member (for partial downloads)."""
    files = {"jupiter-swap-api": fake_binary_bytes(tag)}
    if padding:
        files["README.bin"] = os.urandom(padding)
    return make_zip(files)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@attrs.define
class FakeGitHub:
    """A GitHub-releases-compatible API plus asset downloads on loopback.

    ``assets[tag]`` is the served archive; ``tags`` is the release order (oldest first;
    served newest first like GitHub). Faults: ``truncate_once`` (tags whose next full
    download is cut at half), ``stall_ranges`` (Range requests never answer),
    ``stall_all`` (downloads never answer). ``requests`` logs (path, range header).
    """

    assets: dict[str, bytes] = attrs.field(factory=dict)
    tags: list[str] = attrs.field(factory=list)
    truncate_once: set[str] = attrs.field(factory=set)
    stall_ranges: bool = False
    stall_all: bool = False
    requests: list[tuple[str, str]] = attrs.field(factory=list)
    url: str = ""

    def add(self, tag: str, data: bytes | None = None) -> bytes:
        data = release_zip(tag) if data is None else data
        self.assets[tag] = data
        if tag not in self.tags:
            self.tags.append(tag)
        return data

    def _release(self, tag: str) -> dict[str, object]:
        return {
            "tag_name": tag,
            "draft": False,
            "prerelease": False,
            "published_at": "2026-01-01T00:00:00Z",
            "assets": [
                {
                    "name": ASSET,
                    "size": len(self.assets[tag]),
                    "browser_download_url": f"{self.url}/download/{tag}/{ASSET}",
                },
                {"name": "other.zip", "size": 1, "browser_download_url": f"{self.url}/x"},
            ],
        }

    async def handle(self, request: Request) -> Response:
        self.requests.append((request.path, request.headers.get("range", "")))
        parts = request.path.strip("/").split("/")
        if request.path == "/releases":
            return Response.json([self._release(t) for t in reversed(self.tags)])
        if parts[:2] == ["releases", "tags"] and len(parts) == 3:
            if parts[2] in self.assets:
                return Response.json(self._release(parts[2]))
            return Response.json({"message": "Not Found"}, status=404)
        if parts[0] == "download" and len(parts) == 3 and parts[1] in self.assets:
            tag = parts[1]
            data = self.assets[tag]
            content = "application/octet-stream"
            range_header = request.headers.get("range", "")
            if self.stall_all or (range_header and self.stall_ranges):
                await trio.sleep_forever()
            if range_header:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    return Response(status=416, content_type=content)
                return Response(
                    status=206,
                    body=data[start:],
                    content_type=content,
                    headers=(("content-range", f"bytes {start}-{len(data) - 1}/{len(data)}"),),
                )
            if tag in self.truncate_once:
                self.truncate_once.discard(tag)
                return Response(body=data, content_type=content, truncate_at=len(data) // 2)
            return Response(body=data, content_type=content)
        return Response.json({"message": "Not Found"}, status=404)

    def ranges_for(self, tag: str) -> list[str]:
        return [r for p, r in self.requests if p == f"/download/{tag}/{ASSET}" and r]


def fast_process(**overrides: Any) -> ProcessConfig:
    values: dict[str, Any] = {
        "startup_timeout_s": 20.0,
        "health_interval_s": 0.2,
        "health_timeout_s": 2.0,
        "unhealthy_restart_after": 2,
        "restart_backoff_initial_s": 0.05,
        "restart_backoff_max_s": 0.2,
        "max_restarts": 5,
        "restart_window_s": 600.0,
        "stop_grace_s": 3.0,
    }
    values.update(overrides)
    return ProcessConfig(**values)


def supervised_config(
    tmp_path: Path,
    control_dir: Path,
    *,
    process: ProcessConfig | None = None,
    env: dict[str, str] | None = None,
    **launch: Any,
) -> Config:
    env = {"FAKE_JUPITER_DIR": str(control_dir), **(env or {})}
    launch_config = LaunchConfig(port=free_port(), env=env, **launch)
    return Config(
        state_dir=str(tmp_path / "state"),
        jupiter=JupiterConfig(
            source="path",
            path=str(FAKE_SCRIPT),
            install_dir=str(tmp_path / "install"),
            launch=launch_config,
            process=process or fast_process(),
        ),
    )


def fake_executable() -> list[str]:
    return [sys.executable, str(FAKE_SCRIPT)]


def process_gone(pid: int) -> bool:
    """Dead or a zombie (a reparented zombie may linger if init does not reap)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def launched_pids(control_dir: Path) -> list[int]:
    import json

    pids = []
    for path in sorted(control_dir.glob("launch-*.json")):
        try:
            pids.append(int(json.loads(path.read_text())["pid"]))
        except (ValueError, KeyError):
            continue
    return pids
