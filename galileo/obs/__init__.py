"""Observability: stage timers and histograms, the metrics registry and its HTTP endpoint,
structured logging and the per-opportunity event trace.

See docs/metrics.md (stage timing, metric names, the summary layout, measured overhead) and
docs/logging.md (log formats, redaction, the event trace).
"""

from __future__ import annotations

from galileo.obs._histogram import RELATIVE_ERROR, Histogram
from galileo.obs._logging import (
    ConsoleFormatter,
    JsonFormatter,
    RedactingFilter,
    configure_logging,
    reset_logging,
)
from galileo.obs._observability import Observability
from galileo.obs._recorder import (
    DEFAULT_BUCKETS,
    KNOWN_STAGES,
    STAGE_ERRORS_METRIC,
    STAGE_METRIC,
    SUMMARY_SCHEMA,
    Recorder,
    Series,
    StageLabelsError,
    StageSpec,
    StageTimer,
)
from galileo.obs._registry import BUILD_INFO_METRIC, create_registry
from galileo.obs._server import MetricsServer
from galileo.obs._trace import EventTrace, TraceFormatError, iter_trace, read_trace

__all__ = [
    "BUILD_INFO_METRIC",
    "DEFAULT_BUCKETS",
    "KNOWN_STAGES",
    "RELATIVE_ERROR",
    "STAGE_ERRORS_METRIC",
    "STAGE_METRIC",
    "SUMMARY_SCHEMA",
    "ConsoleFormatter",
    "EventTrace",
    "Histogram",
    "JsonFormatter",
    "MetricsServer",
    "Observability",
    "Recorder",
    "RedactingFilter",
    "Series",
    "StageLabelsError",
    "StageSpec",
    "StageTimer",
    "TraceFormatError",
    "configure_logging",
    "create_registry",
    "iter_trace",
    "read_trace",
    "reset_logging",
]
