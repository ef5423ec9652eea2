"""The world's one network rule, shared by its processes and the in-process ``World``."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from galileo._errors import ConfigError


def ensure_loopback(url: str, what: str) -> None:
    """The world never talks to anything outside 127.0.0.0/8."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8"):
            return
    except ValueError:
        pass
    raise ConfigError(what, f"{url!r} is not a loopback (127.0.0.0/8) address")
