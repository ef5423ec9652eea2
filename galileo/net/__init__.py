"""Source IPs and the quote-path transport.

* :class:`IpInventory`: which local IPs may be used (``network.enable_multiple_ip`` /
  ``network.manual_ips`` / interface detection + bind check).
* :class:`IpAllocator` / :class:`IpLease`: per-IP in-flight caps, cooldowns after 429 and
  timeouts, FIFO waiters.
* :class:`FastTransport` (galileo's HTTP/1.1 client on trio) and :class:`HttpxTransport`,
  selected by ``network.transport`` through :func:`make_transport`.
* :class:`IpHashRing`: a lander endpoint → its preferred healthy IP (rendezvous hashing).
* :class:`HttpxClients`: one ``httpx.AsyncClient`` per source IP for everything else.
* :class:`JsonRpcClient`: the JSON-RPC 2.0 client (calls, batches, deadlines, scrubbed
  errors) everything talking to an RPC node uses; errors :class:`RpcError` /
  :class:`RpcTimeout`.
"""

from galileo.net._allocator import (
    CooldownPolicy,
    IpAllocator,
    IpLease,
    IpSnapshot,
    IpState,
    NoIpAvailable,
)
from galileo.net._hashring import IpHashRing
from galileo.net._http11 import ProtocolError, RawResponse, ResponseParser
from galileo.net._httpx_clients import HttpxClients
from galileo.net._inventory import IpInventory, NoUsableIp, can_bind, detect_interface_ips
from galileo.net._jsonrpc import JsonRpcClient, RpcError, RpcTimeout
from galileo.net._metrics import NetMetrics, ip_label
from galileo.net._transport import (
    ConnectFailed,
    ConnectionPool,
    ConnectionReset,
    FastTransport,
    HttpResponse,
    HttpxTransport,
    MalformedResponse,
    QuoteTransport,
    TransportClosed,
    TransportError,
    TransportErrorKind,
    TransportTimeout,
    make_transport,
)

__all__ = [
    "ConnectFailed",
    "ConnectionPool",
    "ConnectionReset",
    "CooldownPolicy",
    "FastTransport",
    "HttpResponse",
    "HttpxClients",
    "HttpxTransport",
    "IpAllocator",
    "IpHashRing",
    "IpInventory",
    "IpLease",
    "IpSnapshot",
    "IpState",
    "JsonRpcClient",
    "MalformedResponse",
    "NetMetrics",
    "NoIpAvailable",
    "NoUsableIp",
    "ProtocolError",
    "QuoteTransport",
    "RawResponse",
    "ResponseParser",
    "RpcError",
    "RpcTimeout",
    "TransportClosed",
    "TransportError",
    "TransportErrorKind",
    "TransportTimeout",
    "can_bind",
    "detect_interface_ips",
    "ip_label",
    "make_transport",
]
