"""One value for "where this process reports to": the metrics registry, the stage recorder
on it, and the event trace. Built once by the composition root and handed down."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from prometheus_client import CollectorRegistry

from galileo._secret import Secret
from galileo.obs._recorder import Recorder
from galileo.obs._registry import create_registry
from galileo.obs._trace import EventTrace


@attrs.frozen
class Observability:
    """The registry that ``/metrics`` exports, the recorder timing every stage on it, and the
    per-opportunity trace. :meth:`detached` reports nowhere (a notebook, a unit test)."""

    registry: CollectorRegistry
    recorder: Recorder
    trace: EventTrace

    @classmethod
    def create(
        cls, *, trace_file: str | None = None, secrets: Sequence[Secret | str] = ()
    ) -> Observability:
        """A registry with galileo's build info and process metrics, its recorder, and the
        trace at ``trace_file`` (none when empty)."""
        registry = create_registry()
        return cls(registry, Recorder(registry), EventTrace(trace_file or None, secrets=secrets))

    @classmethod
    def detached(cls) -> Observability:
        registry = CollectorRegistry()
        return cls(registry, Recorder(registry), EventTrace(None))

    def close(self) -> None:
        self.trace.close()
