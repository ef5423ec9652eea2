"""Risk guards between an opportunity and a send, and the operator's kill switch.

* :class:`RiskGate` — ``check``/``admit`` an opportunity (``Allow`` | ``Skip(reason)``),
  in-flight slots, ``record_outcome`` feedback, loss-limit and failure-streak pauses.
* :class:`RiskControl` — the pause/stop files ``galileo pause|resume|stop`` write and a
  running instance watches.
* :class:`RiskMetrics` — ``galileo_risk_skips_total{reason}``, ``galileo_risk_paused``,
  ``galileo_risk_inflight``, ``galileo_risk_pauses_total{cause}``.

See docs/risk.md.
"""

from __future__ import annotations

from galileo.risk._control import (
    PAUSE_FILE_NAME,
    STOP_FILE_NAME,
    ControlAck,
    ControlNote,
    RiskControl,
)
from galileo.risk._gate import DEFAULT_POLL_INTERVAL_S, InflightSlot, RiskGate
from galileo.risk._metrics import RiskMetrics
from galileo.risk._types import (
    Allow,
    Decision,
    InflightLimitError,
    PauseCause,
    RiskError,
    RiskState,
    Skip,
    SkipReason,
)

__all__ = [
    "DEFAULT_POLL_INTERVAL_S",
    "PAUSE_FILE_NAME",
    "STOP_FILE_NAME",
    "Allow",
    "ControlAck",
    "ControlNote",
    "Decision",
    "InflightLimitError",
    "InflightSlot",
    "PauseCause",
    "RiskControl",
    "RiskError",
    "RiskGate",
    "RiskMetrics",
    "RiskState",
    "Skip",
    "SkipReason",
]
