"""Sending signed transactions and following them until they land.

* :class:`Landers` — fan-out of one signed transaction to every enabled lander endpoint
  (Jito ``sendBundle`` / bundle-only ``sendTransaction``, RPC and staked RPC
  ``sendTransaction``), each on its hash-ring source IP, behind a per-endpoint token bucket
  with a queue timeout, under one deadline → :class:`Submission`.
* :class:`LandingTracker` — batched ``getSignatureStatuses`` / ``getInflightBundleStatuses``
  and ``getBlockHeight`` for every in-flight submission → :class:`LandingOutcome`.

Both talk JSON-RPC through :class:`galileo.net.JsonRpcClient` (errors
:class:`galileo.net.RpcError`).

See docs/landers.md.
"""

from __future__ import annotations

from galileo.landers._bucket import TokenBucket
from galileo.landers._landers import (
    Landers,
    Sendable,
    build_endpoints,
    jito_base,
    jito_label,
)
from galileo.landers._metrics import LanderMetrics
from galileo.landers._models import (
    Endpoint,
    EndpointResult,
    LanderError,
    LanderKind,
    LandingOutcome,
    LandingStatus,
    SendMethod,
    Submission,
)
from galileo.landers._tracker import LandingTracker, RpcCaller

__all__ = [
    "Endpoint",
    "EndpointResult",
    "LanderError",
    "LanderKind",
    "LanderMetrics",
    "Landers",
    "LandingOutcome",
    "LandingStatus",
    "LandingTracker",
    "RpcCaller",
    "SendMethod",
    "Sendable",
    "Submission",
    "TokenBucket",
    "build_endpoints",
    "jito_base",
    "jito_label",
]
