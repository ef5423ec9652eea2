"""The /metrics, /health and /status endpoint, served by a trio task (no threads).

It shares the event loop with quoting, so what any local client can make it do is bounded
(docs/security.md has the measurements):

* ``/metrics`` and ``/status`` are snapshots: rendered again only once the last one is
  ``refresh_s`` old *and* old enough that rendering takes at most ``RENDER_SHARE`` of the
  loop (a scrape of a busy bot costs ~25 ms: at most one every 2.5 s under a flood);
* requests are paced to ``max_requests_per_s`` across all clients (each costs ~1 ms of CPU);
* at most ``max_connections`` are served at once, an idle one is closed after
  ``idle_timeout_s`` (see ``galileo._httpserver``).

Under a flood the endpoint itself slows down — requests queue for their turn — and quoting
does not.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from galileo._httpserver import HttpServer, Request, Response
from galileo._secret import Secret, redact_text
from galileo.obs._redact import expand_secrets, scrub

_log = logging.getLogger("galileo.obs")

StatusFn = Callable[[], Mapping[str, Any]]

REFRESH_S = 1.0
"""/metrics and /status are rendered at most this often; clients in between get the snapshot."""
RENDER_SHARE = 0.01
"""…and at most this share of the loop each: a snapshot that took 25 ms is kept 2.5 s."""
MAX_CONNECTIONS = 16
"""Prometheus, a probe and a person with curl need a handful."""
IDLE_TIMEOUT_S = 5.0
MAX_REQUESTS_PER_S = 10.0
"""Far above any scraper or probe (Prometheus: one per 15 s); ~1 % of the loop."""
MAX_HEAD_BYTES = 16 * 1024


class MetricsServer:
    """Serve a registry and the bot's health/status over HTTP/1.1.

    * ``GET /metrics`` — Prometheus text exposition of ``registry``;
    * ``GET /health`` — 200 ``{"status":"ready"}`` once ``set_ready()`` was called, 503
      ``{"status":"starting"}`` before (and ``{"status":"not ready"}`` after ``set_ready(False)``);
    * ``GET /status`` — JSON from ``status()``, with every value in ``secrets`` (and every
      ``Secret`` object) masked; 500 if the callable raises.

    ``/metrics`` and ``/status`` are snapshots, at least ``refresh_s`` apart (see the module
    docstring); ``/health`` is always current. Any other path is 404, any other method on these
    paths 405. ``port=0`` binds a free port, reported through ``task_status.started(port)`` and
    ``.port``. ``0`` turns ``refresh_s``, ``max_connections`` and ``max_requests_per_s`` off
    (every request rendered, no cap, no pacing: the server as it was, for comparison).
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        status: StatusFn | None = None,
        secrets: Sequence[Secret | str] = (),
        refresh_s: float = REFRESH_S,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_requests_per_s: float = MAX_REQUESTS_PER_S,
    ) -> None:
        self._registry = registry
        self._status = status
        self._secrets = expand_secrets(secrets)
        self._ready = False
        self._was_ready = False
        self._refresh_s = refresh_s
        self._snapshots: dict[str, tuple[float, Response]] = {}  # path: (fresh until, answer)
        self._http = HttpServer(
            self._handle,
            host=host,
            port=port,
            name="metrics",
            idle_timeout=idle_timeout_s,
            max_body=MAX_HEAD_BYTES,  # GET only: a body is never needed
            max_head=MAX_HEAD_BYTES,
            max_connections=max_connections,
            max_requests_per_s=max_requests_per_s,
        )

    @property
    def host(self) -> str:
        return self._http.host

    @property
    def port(self) -> int:
        """The bound port (the requested one until ``run`` has started)."""
        return self._http.port

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def open_connections(self) -> int:
        """Connections being served right now (at most ``max_connections``)."""
        return self._http.open_connections

    @property
    def ready(self) -> bool:
        return self._ready

    def set_ready(self, ready: bool = True) -> None:
        """Flip /health between 200 and 503."""
        self._ready = ready
        self._was_ready = self._was_ready or ready

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen, report the bound port through ``task_status``, serve until cancelled."""
        await self._http.run(task_status=task_status)

    async def _handle(self, request: Request) -> Response:
        route = _ROUTES.get(request.path)
        if route is None:
            return Response.json({"error": "not found", "paths": sorted(_ROUTES)}, status=404)
        if request.method != "GET":
            return Response.json(
                {"error": "method not allowed"}, status=405, headers=(("allow", "GET"),)
            )
        return route(self)

    def _snapshot(self, path: str, render: Callable[[], Response]) -> Response:
        """``render()``'s last answer while it is fresh (see the module docstring)."""
        now = trio.current_time()
        cached = self._snapshots.get(path)
        if cached is not None and now < cached[0]:
            return cached[1]
        started = time.perf_counter()
        response = render()
        if self._refresh_s:
            cost = time.perf_counter() - started
            self._snapshots[path] = (now + max(self._refresh_s, cost / RENDER_SHARE), response)
        return response

    def _metrics(self) -> Response:
        return self._snapshot("/metrics", self._render_metrics)

    def _render_metrics(self) -> Response:
        # On the trio thread (collectors are not safe against the loop mutating them from
        # another thread): in-memory histograms and /proc, ~25 ms for a busy bot — hence the
        # snapshot. Label values are scrubbed too: an upstream URL may carry a key.
        text = generate_latest(self._registry).decode()
        return Response(
            body=redact_text(text, self._secrets).encode(), content_type=CONTENT_TYPE_LATEST
        )

    def _health(self) -> Response:
        if self._ready:
            return Response.json({"status": "ready"})
        return Response.json({"status": "not ready" if self._was_ready else "starting"}, 503)

    def _status_page(self) -> Response:
        if self._status is None:
            return Response.json({"ready": self._ready})
        return self._snapshot("/status", self._render_status)

    def _render_status(self) -> Response:
        # A failure is a snapshot too: a flood of /status against a broken callable logs one
        # traceback per refresh, not one per request.
        assert self._status is not None
        try:
            payload = scrub(dict(self._status()), self._secrets)
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        except Exception:
            _log.exception("status_failed")
            return Response.json({"error": "status unavailable"}, status=500)
        # Belt and braces: the text is scrubbed again after encoding.
        body = redact_text(body, self._secrets)
        return Response(body=body.encode())


_ROUTES: dict[str, Callable[[MetricsServer], Response]] = {
    "/metrics": MetricsServer._metrics,
    "/health": MetricsServer._health,
    "/status": MetricsServer._status_page,
}
