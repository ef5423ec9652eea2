"""Source IPs and the quote-path transport.

* :class:`IpInventory`: which local IPs may be used (``network.enable_multiple_ip`` /
  ``network.manual_ips`` / interface detection through psutil, family filter, blacklist, bind
  check, default-route fallback), re-read while running (:class:`InventoryChange`).
* :class:`IpAllocator` / :class:`IpLease`: per-IP in-flight caps, FIFO waiters, adaptive
  pacing per (IP, upstream) (:class:`Pacer`, a token bucket whose rate is learned from the
  answers) and jittered doubling cooldowns after 429, timeouts, connection errors and 5xx.
* :class:`FastTransport` (galileo's HTTP/1.1 client on trio) and :class:`HttpxTransport`,
  selected by ``network.transport`` through :func:`make_transport`.
* :class:`IpHashRing`: a lander endpoint → its preferred healthy IP (rendezvous hashing).
* :class:`HttpxClients`: one ``httpx.AsyncClient`` per source IP for everything else.
* :class:`JsonRpcClient`: the JSON-RPC 2.0 client (calls, batches, deadlines, scrubbed
  errors) everything talking to an RPC node uses; errors :class:`RpcError` /
  :class:`RpcTimeout`.
"""

from galileo.net._allocator import (
    DEFAULT_UPSTREAM,
    CooldownPolicy,
    IpAllocator,
    IpLease,
    IpRemoved,
    IpSnapshot,
    IpState,
    NoIpAvailable,
)
from galileo.net._hashring import IpHashRing
from galileo.net._http11 import ProtocolError, RawResponse, ResponseParser
from galileo.net._httpx_clients import HttpxClients
from galileo.net._inventory import (
    InterfaceAddress,
    InventoryChange,
    IpFamily,
    IpInventory,
    NoUsableIp,
    can_bind,
    default_route_ip,
    read_interfaces,
)
from galileo.net._jsonrpc import JsonRpcClient, RpcError, RpcMetrics, RpcTimeout
from galileo.net._metrics import NetMetrics, TransportFaultCollector, ip_label
from galileo.net._pacing import Pacer, PacingPolicy
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
    TransportFaults,
    TransportTimeout,
    make_transport,
)

__all__ = [
    "DEFAULT_UPSTREAM",
    "ConnectFailed",
    "ConnectionPool",
    "ConnectionReset",
    "CooldownPolicy",
    "FastTransport",
    "HttpResponse",
    "HttpxClients",
    "HttpxTransport",
    "InterfaceAddress",
    "InventoryChange",
    "IpAllocator",
    "IpFamily",
    "IpHashRing",
    "IpInventory",
    "IpLease",
    "IpRemoved",
    "IpSnapshot",
    "IpState",
    "JsonRpcClient",
    "MalformedResponse",
    "NetMetrics",
    "NoIpAvailable",
    "NoUsableIp",
    "Pacer",
    "PacingPolicy",
    "ProtocolError",
    "QuoteTransport",
    "RawResponse",
    "ResponseParser",
    "RpcError",
    "RpcMetrics",
    "RpcTimeout",
    "TransportClosed",
    "TransportError",
    "TransportErrorKind",
    "TransportFaultCollector",
    "TransportFaults",
    "TransportTimeout",
    "can_bind",
    "default_route_ip",
    "ip_label",
    "make_transport",
    "read_interfaces",
]
