"""Supervisor states and restart reasons (values double as metric labels)."""

from __future__ import annotations

import enum


class JupiterState(enum.Enum):
    """Lifecycle of the supervised process.

    Stopped → Starting → Ready ⇄ Unhealthy → Restarting → Starting … ; Failed is terminal
    (restart budget spent, or the first start never became ready).
    """

    STOPPED = "stopped"
    STARTING = "starting"
    READY = "ready"
    UNHEALTHY = "unhealthy"
    RESTARTING = "restarting"
    FAILED = "failed"


class RestartReason(enum.Enum):
    """Why the supervisor restarted the process."""

    CRASH = "crash"  # the process exited on its own
    UNHEALTHY = "unhealthy"  # N consecutive failed health checks
    STARTUP_TIMEOUT = "startup_timeout"  # not ready within startup_timeout_s
    SCHEDULED = "scheduled"  # scheduled_restart_minutes elapsed
