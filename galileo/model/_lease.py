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
    """Outcome of one request made under a lease. Values are metric labels (``result``,
    and the cooldown ``reason``).

    SUCCESS: the upstream answered (a "no route" answer too); RATE_LIMITED: HTTP 429;
    TIMEOUT: no answer before the deadline; CONNECT_ERROR: the connection could not be opened,
    or broke before an answer; SERVER_ERROR: HTTP 5xx; ERROR: any other answer that is not
    the IP's fault (a malformed body, a refused request) — it causes no cooldown."""

    SUCCESS = "success"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect_error"
    SERVER_ERROR = "server_error"
    ERROR = "error"
