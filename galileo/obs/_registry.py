"""The galileo metrics registry: one ``CollectorRegistry`` per process, never the global one."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

BUILD_INFO_METRIC = "galileo_build_info"


def create_registry(
    *,
    version: str | None = None,
    fast_backend: str | None = None,
    process_metrics: bool = True,
) -> CollectorRegistry:
    """A fresh registry holding ``galileo_build_info{version,fast_backend} 1``.

    ``version`` / ``fast_backend`` default to this build's ``galileo.__version__`` and the
    active ``galileo._fast`` backend. With ``process_metrics`` (default) it also exports the
    standard ``process_*`` (CPU, RSS, open fds, start time; read from /proc at scrape time, so
    free between scrapes) and ``python_info`` series.
    """
    if version is None or fast_backend is None:
        import galileo

        version = galileo.__version__ if version is None else version
        fast_backend = galileo.fast_backend() if fast_backend is None else fast_backend
    registry = CollectorRegistry(auto_describe=True)
    build_info = Gauge(
        BUILD_INFO_METRIC,
        "Always 1; the labels say which galileo build is running.",
        ["version", "fast_backend"],
        registry=registry,
    )
    build_info.labels(version=version, fast_backend=fast_backend).set(1)
    if process_metrics:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    return registry
