"""Jupiter: the jupiter-swap-api binary (releases, verified install cache, launch flags,
supervisor) and the quote-path API client with its models (``JupiterClient``, ``Quote``,
``SwapInstructions``)."""

from __future__ import annotations

from galileo.jupiter._client import (
    BadRequest,
    JupiterClient,
    Malformed,
    NoRoute,
    QuoteError,
    QuoteErrorKind,
    QuoteMetrics,
    QuoteOptions,
    RateLimited,
    ServerError,
    Timeout,
    TransportFailed,
)
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
from galileo.jupiter._models import (
    AccountMeta,
    Instruction,
    MalformedBody,
    PlatformFee,
    Quote,
    RoutePlanStep,
    SwapInfo,
    SwapInstructions,
)
from galileo.jupiter._progress import NoProgress, Progress, TextProgress
from galileo.jupiter._releases import Release, ReleaseAsset
from galileo.jupiter._state import JupiterState, RestartReason
from galileo.jupiter._supervisor import JupiterSupervisor

__all__ = [
    "AccountMeta",
    "BadRequest",
    "DownloadError",
    "InstallError",
    "InstalledVersion",
    "Instruction",
    "JupiterClient",
    "JupiterError",
    "JupiterInstaller",
    "JupiterMetrics",
    "JupiterState",
    "JupiterSupervisor",
    "LaunchCommand",
    "LaunchError",
    "Malformed",
    "MalformedBody",
    "MintFilterError",
    "NoProgress",
    "NoRoute",
    "PlatformFee",
    "Progress",
    "Quote",
    "QuoteError",
    "QuoteErrorKind",
    "QuoteMetrics",
    "QuoteOptions",
    "RateLimited",
    "Release",
    "ReleaseAsset",
    "ReleaseError",
    "RestartReason",
    "RoutePlanStep",
    "ServerError",
    "SupervisorFailed",
    "SwapInfo",
    "SwapInstructions",
    "TextProgress",
    "Timeout",
    "TransportFailed",
    "VerificationError",
    "base_url_of",
    "build_launch_command",
    "default_install_dir",
    "executable_for",
    "resolve_filter_mints",
]
