"""The jupiter-swap-api binary: releases, verified install cache, launch flags, supervisor.

(The HTTP API client and quote models live next to this in ``_client`` / ``_models``.)
"""

from __future__ import annotations

from galileo.jupiter._errors import (
    DownloadError,
    InstallError,
    JupiterError,
    LaunchError,
    MintFilterError,
    ReleaseError,
    SupervisorFailed,
    VerificationError,
)
from galileo.jupiter._install import InstalledVersion, JupiterInstaller, default_install_dir
from galileo.jupiter._launch import (
    LaunchCommand,
    base_url_of,
    build_launch_command,
    executable_for,
    resolve_filter_mints,
)
from galileo.jupiter._metrics import JupiterMetrics
from galileo.jupiter._progress import NoProgress, Progress, TextProgress
from galileo.jupiter._releases import Release, ReleaseAsset
from galileo.jupiter._state import JupiterState, RestartReason
from galileo.jupiter._supervisor import JupiterSupervisor

__all__ = [
    "DownloadError",
    "InstallError",
    "InstalledVersion",
    "JupiterError",
    "JupiterInstaller",
    "JupiterMetrics",
    "JupiterState",
    "JupiterSupervisor",
    "LaunchCommand",
    "LaunchError",
    "MintFilterError",
    "NoProgress",
    "Progress",
    "Release",
    "ReleaseAsset",
    "ReleaseError",
    "RestartReason",
    "SupervisorFailed",
    "TextProgress",
    "VerificationError",
    "base_url_of",
    "build_launch_command",
    "default_install_dir",
    "executable_for",
    "resolve_filter_mints",
]
