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
        cls,
        *,
        trace_file: str | None = None,
        secrets: Sequence[Secret | str] = (),
        trace_max_bytes: int = 0,
        trace_backups: int = 0,
    ) -> Observability:
        """A registry with galileo's build info and process metrics, its recorder, and the
        trace at ``trace_file`` (none when empty; rotated at ``trace_max_bytes``, keeping
        ``trace_backups`` old files)."""
        registry = create_registry()
        trace = EventTrace(
            trace_file or None,
            secrets=secrets,
            max_bytes=trace_max_bytes,
            backups=trace_backups,
        )
        return cls(registry, Recorder(registry), trace)

    @classmethod
    def detached(cls) -> Observability:
        registry = CollectorRegistry()
        return cls(registry, Recorder(registry), EventTrace(None))

    def close(self) -> None:
        self.trace.close()
