"""The /metrics, /health and /status endpoint, served by a trio task (no threads)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from galileo._httpserver import HttpServer, Request, Response
from galileo._secret import Secret, redact_text
from galileo.obs._redact import expand_secrets, scrub

_log = logging.getLogger("galileo.obs")

StatusFn = Callable[[], Mapping[str, Any]]


class MetricsServer:
    """Serve a registry and the bot's health/status over HTTP/1.1.

    * ``GET /metrics`` — Prometheus text exposition of ``registry``;
    * ``GET /health`` — 200 ``{"status":"ready"}`` once ``set_ready()`` was called, 503
      ``{"status":"starting"}`` before (and ``{"status":"not ready"}`` after ``set_ready(False)``);
    * ``GET /status`` — JSON from ``status()``, with every value in ``secrets`` (and every
      ``Secret`` object) masked; 500 if the callable raises.

    Any other path is 404, any other method on these paths 405. ``port=0`` binds a free port,
    reported through ``task_status.started(port)`` and ``.port``.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        status: StatusFn | None = None,
        secrets: Sequence[Secret | str] = (),
    ) -> None:
        self._registry = registry
        self._status = status
        self._secrets = expand_secrets(secrets)
        self._ready = False
        self._was_ready = False
        self._http = HttpServer(self._handle, host=host, port=port, name="metrics")

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

    def _metrics(self) -> Response:
        # The scrape runs on the trio thread: collecting reads in-memory histograms and /proc.
        return Response(body=generate_latest(self._registry), content_type=CONTENT_TYPE_LATEST)

    def _health(self) -> Response:
        if self._ready:
            return Response.json({"status": "ready"})
        return Response.json({"status": "not ready" if self._was_ready else "starting"}, 503)

    def _status_page(self) -> Response:
        if self._status is None:
            return Response.json({"ready": self._ready})
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
