"""Operator control of a running instance through files (no restart, no open port).

* **pause file** — ``risk.kill_switch_file`` if set, else ``<state_dir>/PAUSE``. While it
  exists the instance sends nothing (it keeps quoting). ``galileo pause`` writes it (JSON with
  the reason, time, user and host); a plain ``touch`` works too. ``galileo resume`` (or
  ``rm``) removes it. It survives restarts on purpose: a paused bot stays paused.
* **stop file** — ``<state_dir>/STOP``. ``galileo stop`` writes it; a running instance that
  sees it stops sending for good, deletes the file and shuts down. A stop file found when an
  instance starts was meant for an earlier one and is discarded.
* **instance file** — ``<state_dir>/INSTANCE.json``: the running instance's pid, written at
  start and removed at exit, so a command knows whether a bot uses this state directory.
* **acknowledgement** — ``<state_dir>/CONTROL-ACK.json``: what the running instance last
  saw (paused or not, stopping or not, and the id of the note it acted on). ``galileo
  pause|resume|stop`` wait for it and say so, or fail when it does not come.

The running instance stats these files at most every ``poll_interval_s`` (0.25 s): a stat is
a few microseconds and needs no thread. galileo writes them owner-only (0600).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from galileo._secret import private_dir, write_private_text

PAUSE_FILE_NAME = "PAUSE"
STOP_FILE_NAME = "STOP"
INSTANCE_FILE_NAME = "INSTANCE.json"
ACK_FILE_NAME = "CONTROL-ACK.json"


@attrs.frozen(kw_only=True)
class ControlNote:
    """What a control file says (all optional: a ``touch``-ed file has none of it)."""

    reason: str = ""
    at: str = ""  # ISO 8601 UTC
    by: str = ""  # user@host
    id: str = ""  # echoed in the instance's acknowledgement

    def describe(self) -> str:
        parts = [self.reason or "no reason given"]
        if self.at:
            parts.append(f"since {self.at}")
        if self.by:
            parts.append(f"by {self.by}")
        return ", ".join(parts)


@attrs.frozen(kw_only=True)
class ControlAck:
    """What the running instance last acted on (``CONTROL-ACK.json``)."""

    pid: int
    paused: bool
    stopping: bool
    note_id: str = ""
    at: str = ""


@attrs.frozen
class RiskControl:
    """The control files of one instance (see the module docstring). Paths are absolute."""

    pause_file: Path
    stop_file: Path | None = None  # None: no stop file is watched
    state_dir: Path | None = None  # None: no instance or acknowledgement file

    @classmethod
    def for_state_dir(
        cls, state_dir: str | os.PathLike[str], kill_switch_file: str = ""
    ) -> RiskControl:
        state = Path(state_dir).absolute()
        pause = Path(kill_switch_file).absolute() if kill_switch_file else state / PAUSE_FILE_NAME
        return cls(pause_file=pause, stop_file=state / STOP_FILE_NAME, state_dir=state)

    @property
    def instance_file(self) -> Path | None:
        return None if self.state_dir is None else self.state_dir / INSTANCE_FILE_NAME

    @property
    def ack_file(self) -> Path | None:
        return None if self.state_dir is None else self.state_dir / ACK_FILE_NAME

    # -- which instance --------------------------------------------------------------------

    def announce(self, pid: int) -> None:
        """The instance with ``pid`` uses this state directory (called at start). The state
        directory is made private (0700) here: it holds the ledger, logs and runtime files."""
        if self.state_dir is not None:
            private_dir(self.state_dir, narrow=True)
        if self.instance_file is not None:
            _write_json(self.instance_file, {"pid": pid, "started_at": _now()})

    def retire(self, pid: int) -> None:
        """Remove the instance file if it is still ``pid``'s (called at exit)."""
        if self.instance_file is not None and self.running_pid() in (pid, None):
            with contextlib.suppress(OSError):
                self.instance_file.unlink()

    def running_pid(self) -> int | None:
        """The pid of the live instance using this state directory, if any."""
        data = _read_json(self.instance_file) if self.instance_file is not None else None
        pid = data.get("pid") if data else None
        if type(pid) is not int or pid <= 0:
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid  # alive, another user's
        return pid

    def acknowledge(self, ack: ControlAck) -> None:
        if self.ack_file is not None:
            with contextlib.suppress(OSError):
                _write_json(self.ack_file, attrs.asdict(attrs.evolve(ack, at=ack.at or _now())))

    def acknowledgement(self) -> ControlAck | None:
        data = _read_json(self.ack_file) if self.ack_file is not None else None
        if not data or type(data.get("pid")) is not int:
            return None
        return ControlAck(
            pid=data["pid"],
            paused=bool(data.get("paused")),
            stopping=bool(data.get("stopping")),
            note_id=str(data.get("note_id", "")),
            at=str(data.get("at", "")),
        )

    # -- operator side (CLI) ---------------------------------------------------------------

    def pause(self, reason: str = "") -> ControlNote:
        """Create (or rewrite) the pause file."""
        note = _new_note(reason)
        _write_atomically(self.pause_file, note)
        return note

    def resume(self) -> ControlNote | None:
        """Remove the pause file; return what it said (``None`` if it was not there)."""
        note = self.pause_note()
        try:
            self.pause_file.unlink()
        except FileNotFoundError:
            return None
        return note or ControlNote()

    def request_stop(self, reason: str = "") -> ControlNote:
        if self.stop_file is None:
            raise ValueError("this control has no stop file")
        note = _new_note(reason)
        _write_atomically(self.stop_file, note)
        return note

    # -- instance side ---------------------------------------------------------------------

    def is_paused(self) -> bool:
        return _exists(self.pause_file)

    def is_stop_requested(self) -> bool:
        return self.stop_file is not None and _exists(self.stop_file)

    def pause_note(self) -> ControlNote | None:
        return _read_note(self.pause_file)

    def consume_stop(self) -> ControlNote | None:
        """Read and delete the stop file (``None`` if there was none)."""
        if self.stop_file is None:
            return None
        note = _read_note(self.stop_file)
        with contextlib.suppress(FileNotFoundError):
            self.stop_file.unlink()
        return note


def _exists(path: Path) -> bool:
    try:
        os.stat(path)
    except FileNotFoundError:
        return False
    except OSError:
        # Unreadable directory, dangling parent, ...: fail safe, treat as present.
        return True
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_note(reason: str) -> ControlNote:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return ControlNote(
        reason=reason,
        at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        by=f"{user}@{socket.gethostname()}",
        id=secrets.token_hex(8),
    )


def _write_atomically(path: Path, note: ControlNote) -> None:
    _write_json(path, attrs.asdict(note))


def _write_json(path: Path, data: dict[str, object]) -> None:
    # Atomic and owner-only: a reader never sees a half-written file, other users none at all.
    write_private_text(path, json.dumps(data) + "\n")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_note(path: Path) -> ControlNote | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return ControlNote()
    try:
        data = json.loads(text)
    except ValueError:
        # `echo "deploy in progress" > PAUSE` is a fine way to pause too.
        return ControlNote(reason=text.strip()[:500])
    if not isinstance(data, dict):
        return ControlNote()
    return ControlNote(
        reason=str(data.get("reason", "")),
        at=str(data.get("at", "")),
        by=str(data.get("by", "")),
        id=str(data.get("id", "")),
    )
