"""The runtime file a running supervisor keeps under ``<state_dir>/jupiter/runtime.json``,
read by ``galileo jupiter status`` / ``stop`` from another process."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from galileo._secret import write_private_text


def runtime_path(state_dir: str | Path) -> Path:
    return Path(state_dir).expanduser() / "jupiter" / "runtime.json"


def write_runtime(path: Path, data: dict[str, Any]) -> None:
    """Atomic write (tmp + rename), so readers never see half a file; owner-only (0600), as
    it names the child's command line and log file. ``data`` must already be redacted."""
    write_private_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_runtime(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:  # a zombie (dead, not yet reaped) is not running
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]
