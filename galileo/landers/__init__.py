"""Sending signed transactions and following them until they land.

* :class:`Landers` — fan-out of one signed transaction to every enabled lander endpoint
  (Jito ``sendBundle`` / bundle-only ``sendTransaction``, RPC and staked RPC
  ``sendTransaction``), each on the first source IP of the endpoint's rendezvous order that
  is not cooling down and has a token in time (a token bucket per endpoint and IP, so N IPs
  give an endpoint N times its rate), under one deadline → :class:`Submission`.
* :class:`LandingTracker` — batched ``getSignatureStatuses`` / ``getInflightBundleStatuses``
  and ``getBlockHeight`` for every in-flight submission → :class:`LandingOutcome`.
* :class:`TipFloor` — polls Jito's tip-floor endpoint (``GET /api/v1/bundles/tip_floor``) for
  the ``floor`` tip policy; ``TipFloor.lamports`` feeds the quote engine.

Both talk JSON-RPC through :class:`galileo.net.JsonRpcClient` (errors
:class:`galileo.net.RpcError`).

See docs/landers.md.
"""

from __future__ import annotations

from galileo.landers._bucket import TokenBucket
from galileo.landers._landers import (
    IP_REMOVED,
    Landers,
    build_endpoints,
    jito_base,
    jito_label,
    lander_upstream,
)
from galileo.landers._metrics import LanderMetrics
from galileo.landers._models import (
    Endpoint,
    EndpointResult,
    LanderError,
    LanderKind,
    SendMethod,
    Submission,
)
from galileo.landers._tipfloor import (
    JITO_TIP_FLOOR_URL,
    MalformedTipFloor,
    TipFloor,
    parse_tip_floor,
    sol_to_lamports,
    tip_floor_url,
)
from galileo.landers._tracker import LandingTracker, RpcCaller

__all__ = [
    "IP_REMOVED",
    "JITO_TIP_FLOOR_URL",
    "Endpoint",
    "EndpointResult",
    "LanderError",
    "LanderKind",
    "LanderMetrics",
    "Landers",
    "LandingTracker",
    "MalformedTipFloor",
    "RpcCaller",
    "SendMethod",
    "Submission",
    "TipFloor",
    "TokenBucket",
    "build_endpoints",
    "jito_base",
    "jito_label",
    "lander_upstream",
    "parse_tip_floor",
    "sol_to_lamports",
    "tip_floor_url",
]
