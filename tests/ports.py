"""Loopback addresses for tests that start real servers or child processes: free ports, and
the source IPs a multi-IP client binds (all of 127.0.0.0/8 is local)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


IPS = ["127.0.0.2", "127.0.0.3"]
"""Two loopback source addresses, for the tests of per-IP clients and leases."""
