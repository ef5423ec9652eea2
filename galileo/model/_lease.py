"""What a source-IP lease is for, and how the request made under it ended."""

from __future__ import annotations

import enum


class LeaseKind(enum.Enum):
    """What a lease is for (the ``task`` label). LONG_LIVED leases (a websocket, a stream)
    do not count against the in-flight cap: the IP is shared with short requests."""

    QUOTE = "quote"
    SWAP = "swap"
    LANDER = "lander"
    RPC = "rpc"
    LONG_LIVED = "long_lived"


class LeaseResult(enum.Enum):
    """Outcome of one request made under a lease. Values are metric labels."""

    SUCCESS = "success"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    ERROR = "error"
