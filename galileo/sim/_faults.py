"""Fault injection and per-source-IP rate limits for the world's HTTP faces.

Every random draw comes from a ``random.Random`` seeded by the world seed and the face name,
in a fixed order per request, so a fault schedule is reproducible. Time comes from trio.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Collection
from typing import Any

import attrs
import trio

from galileo._config import SimConfig, SimFaultsConfig
from galileo._httpserver import Handler, Request, Response

_log = logging.getLogger("galileo.sim")

FACES = ("jupiter", "dflow", "rpc", "jito")


def faults_for(config: SimConfig, face: str) -> SimFaultsConfig:
    """``sim.faults`` with the keys set in ``sim.<face>_faults`` overriding it."""
    shared = config.faults
    own: SimFaultsConfig = getattr(config, f"{face}_faults")
    default = SimFaultsConfig()
    changes: dict[str, Any] = {}
    for field in attrs.fields(SimFaultsConfig):
        value = getattr(own, field.name)
        if value != getattr(default, field.name):
            changes[field.name] = value
    return attrs.evolve(shared, **changes)


@attrs.define
class RateLimiter:
    """Token buckets keyed by (source IP, region): ``rate`` per second, burst ``max(1, rate)``.
    A rate of 0 means unlimited."""

    rate: float
    _buckets: dict[tuple[str, ...], tuple[float, float]] = attrs.field(factory=dict)

    @property
    def burst(self) -> float:
        return max(1.0, self.rate)

    def allow(self, key: tuple[str, ...], now: float) -> bool:
        if self.rate <= 0:
            return True
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return True
        self._buckets[key] = (tokens, now)
        return False

    def retry_after_ms(self, key: tuple[str, ...]) -> int:
        tokens, _ = self._buckets.get(key, (0.0, 0.0))
        # Rounded up: coming back after this many milliseconds finds the token there.
        return max(1, math.ceil((1.0 - tokens) / self.rate * 1000)) if self.rate > 0 else 0


@attrs.define
class IpStats:
    """What one source IP sent to a face: every request, and those answered 429."""

    requests: int = 0
    rate_limited: int = 0

    @property
    def served(self) -> int:
        """Requests the limit let through (whatever the answer was)."""
        return self.requests - self.rate_limited


@attrs.define
class FaultStats:
    requests: int = 0
    rate_limited: int = 0
    resets: int = 0
    stalls: int = 0
    errors_5xx: int = 0
    malformed: int = 0
    truncated: int = 0
    crashed: bool = False
    by_ip: dict[str, IpStats] = attrs.field(factory=dict)
    """Per source IP (the connection's peer address)."""


class FaultInjector:
    """Wraps a face's handler with the faults of ``faults``.

    ``limited_paths``: paths subject to ``quote_rps_per_ip`` (the Jupiter face's /quote);
    ``limited_response``: the 429 body to send. ``on_crash`` is called once when
    ``crash_after_requests`` is reached (the face stops serving).
    """

    def __init__(
        self,
        faults: SimFaultsConfig,
        *,
        seed: int,
        face: str,
        limited_paths: Collection[str] = (),
        limited_response: Callable[[int], Response] | None = None,
        on_crash: Callable[[], None] | None = None,
    ) -> None:
        self.faults = faults
        self.face = face
        self.rng = random.Random(f"galileo-sim-faults:{seed}:{face}")
        self.limiter = RateLimiter(faults.quote_rps_per_ip)
        self.limited_paths = frozenset(limited_paths)
        self.limited_response = limited_response or _default_429
        self.on_crash = on_crash
        self.stats = FaultStats()

    def wrap(self, handler: Handler) -> Handler:
        async def handle(request: Request) -> Response:
            return await self._handle(handler, request)

        return handle

    async def _handle(self, handler: Handler, request: Request) -> Response:
        f = self.faults
        stats = self.stats
        if stats.crashed:
            return Response(reset=True)
        stats.requests += 1
        per_ip = stats.by_ip.get(request.client_host)
        if per_ip is None:
            per_ip = stats.by_ip[request.client_host] = IpStats()
        per_ip.requests += 1
        if f.crash_after_requests and stats.requests > f.crash_after_requests:
            stats.crashed = True
            _log.warning("face crashed", extra={"fields": {"face": self.face}})
            if self.on_crash is not None:
                self.on_crash()
            return Response(reset=True)
        rng = self.rng
        # Fixed draw order per request: latency, reset, stall, 5xx, malformed, truncated.
        delay_ms = self._latency_ms(rng)
        draws = [rng.random() for _ in range(5)]
        if delay_ms > 0:
            await trio.sleep(delay_ms / 1000)
        if request.path in self.limited_paths:
            key = (request.client_host,)
            if not self.limiter.allow(key, trio.current_time()):
                stats.rate_limited += 1
                per_ip.rate_limited += 1
                return self.limited_response(self.limiter.retry_after_ms(key))
        if draws[0] < f.reset_rate:
            stats.resets += 1
            return Response(reset=True)
        if draws[1] < f.stall_rate:
            stats.stalls += 1
            await trio.sleep(f.stall_ms / 1000)
            return Response(reset=True)
        if draws[2] < f.error_5xx_rate:
            stats.errors_5xx += 1
            return Response.json({"error": "Internal Server Error"}, status=500)
        response = await handler(request)
        if draws[3] < f.malformed_rate:
            stats.malformed += 1
            return attrs.evolve(response, body=b"<html><body>502 Bad Gateway</body></html>{")
        if draws[4] < f.truncated_rate and len(response.body) > 1:
            stats.truncated += 1
            return attrs.evolve(response, truncate_at=len(response.body) // 2)
        return response

    def _latency_ms(self, rng: random.Random) -> float:
        f = self.faults
        if f.latency_distribution == "exponential":
            return rng.expovariate(1.0 / f.latency_ms) if f.latency_ms > 0 else 0.0
        jitter = rng.uniform(-f.latency_jitter_ms, f.latency_jitter_ms)
        return max(0.0, f.latency_ms + jitter)


def retry_after_headers(retry_after_ms: int) -> tuple[tuple[str, str], ...]:
    """``Retry-After`` in whole seconds (at least 1, as HTTP allows nothing finer) and the
    precise ``retry-after-ms`` (galileo honours the latter when present)."""
    return (
        ("retry-after", str(max(1, -(-retry_after_ms // 1000)))),
        ("retry-after-ms", str(retry_after_ms)),
    )


def _default_429(retry_after_ms: int) -> Response:
    return Response.json(
        {"error": "Too many requests", "errorCode": "RATE_LIMITED"},
        status=429,
        headers=retry_after_headers(retry_after_ms),
    )
