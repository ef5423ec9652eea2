"""What a single configuration value must look like: URLs by scheme, IP addresses, base58
public keys, integer ranges, lists without duplicates.

Each rule returns ``None`` when the value is acceptable, else the reason (without the key:
the caller knows the key path). A secret value is never echoed in a reason.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Hashable, Iterator, Sequence
from urllib.parse import urlsplit

U64_MAX = 2**64 - 1
"""The largest integer any key accepts unless it says less: Solana amounts (lamports, token
units, micro-lamports) are u64, so a larger one could never be sent."""

KERNEL_AMOUNT_MAX = 2**62
"""The largest amount the profit kernel (``galileo._fast``) prices exactly in int64: trade
sizes, tips, fees and profit thresholds stay at or below it."""

HTTP = ("http", "https")
"""The schemes of every URL galileo or the Jupiter binary requests."""

_B58 = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


def url_problem(value: str, schemes: Sequence[str] = HTTP, *, secret: bool = False) -> str | None:
    """Why ``value`` is not an absolute URL with one of ``schemes`` and a host."""
    expected = " or ".join(f"{s}://" for s in schemes)
    shown = "" if secret else f"{value!r} "
    if "://" not in value:
        return f"{shown}is not a URL (expected {expected}…)"
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return f"{shown}is not a valid URL (malformed host or port)"
    if parts.scheme.lower() not in schemes:
        return f"scheme {parts.scheme + '://'!r} is not supported (expected {expected}…)"
    if not host:
        return f"{shown}has no host"
    if any(c.isspace() for c in value):
        return f"{shown}contains whitespace"
    return None


def ip_problem(value: str) -> str | None:
    """Why ``value`` is not an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"{value!r} is not an IP address"
    return None


def loopback_problem(value: str) -> str | None:
    """Why ``value`` is not a loopback address (``localhost`` counts)."""
    if value == "localhost":
        return None
    if ip_problem(value) is not None:
        return f"{value!r} is not a loopback address (127.0.0.0/8, ::1 or localhost)"
    if not ipaddress.ip_address(value).is_loopback:
        return f"{value} is not a loopback address (127.0.0.0/8, ::1 or localhost)"
    return None


def looks_like_pubkey(text: str) -> bool:
    """32–44 base58 characters: the text form of a Solana public key (a mint, a program)."""
    return 32 <= len(text) <= 44 and set(text) <= _B58


def pubkey_problem(value: str) -> str | None:
    if looks_like_pubkey(value):
        return None
    return f"{value!r} is not a base58 public key"


def duplicates(items: Sequence[Hashable]) -> Iterator[tuple[int, int]]:
    """``(later, first)`` index pairs of every item equal to an earlier one."""
    first: dict[Hashable, int] = {}
    for index, item in enumerate(items):
        if item in first:
            yield index, first[item]
        else:
            first[item] = index


def env_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an environment variable of a child process."""
    if not name or "=" in name or "\0" in name:
        return f"{name!r} is not an environment variable name"
    return None


def bound_text(value: int | float) -> str:
    """A bound as the reference shows it (``2^64-1`` rather than twenty digits)."""
    names = {U64_MAX: "2^64-1", KERNEL_AMOUNT_MAX: "2^62"}
    return names.get(value, str(value)) if isinstance(value, int) else str(value)
