"""The jupiter-swap-api binary: releases, verified install cache, launch flags, supervisor.

The API client of the quote path (``JupiterClient``) is a leg provider: :mod:`galileo.providers`.
"""

from __future__ import annotations

from galileo.jupiter_binary._errors import (
    DownloadError,
    InstallError,
    JupiterError,
    LaunchError,
    MintFilterError,
    ReleaseError,
    SupervisorFailed,
    VerificationError,
)
from galileo.jupiter_binary._install import InstalledVersion, JupiterInstaller, default_install_dir
from galileo.jupiter_binary._launch import (
    LaunchCommand,
    base_url_of,
    build_launch_command,
    default_base_mints,
    default_rpc_url,
    executable_for,
    resolve_filter_mints,
    source_env,
)
from galileo.jupiter_binary._metrics import JupiterMetrics
from galileo.jupiter_binary._progress import NoProgress, Progress, TextProgress
from galileo.jupiter_binary._releases import Release, ReleaseAsset
from galileo.jupiter_binary._runtime import pid_alive, read_runtime, runtime_path
from galileo.jupiter_binary._state import JupiterState, RestartReason
from galileo.jupiter_binary._supervisor import JupiterSupervisor

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
    "default_base_mints",
    "default_install_dir",
    "default_rpc_url",
    "executable_for",
    "pid_alive",
    "read_runtime",
    "resolve_filter_mints",
    "runtime_path",
    "source_env",
]
