"""A token bucket whose waiters queue for a bounded time (stale sends are dropped, not sent).

``reserve(max_wait)`` books the next token and says how long to wait for it, or refuses when
that would take longer than ``max_wait`` (the caller counts a drop). Tokens may go negative:
each reservation queues behind the earlier ones, so waiters are served in order without any
task polling. Time is injected (``trio.current_time`` by default) for MockClock tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import trio

# Run a little under the configured rate: the server measures the gap between *arrivals*,
# and transit times differ per request, so sending exactly at the rate trips a strict
# server-side bucket now and then (Jito answers that with 429).
DEFAULT_HEADROOM = 0.05


class TokenBucket:
    """``rate`` tokens per second, ``burst`` = max(1, rate) (like Jito's limiter)."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        headroom: float = DEFAULT_HEADROOM,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate * (1.0 - headroom)
        self.burst = max(1.0, rate) if burst is None else burst
        self._clock = clock
        self._tokens = self.burst
        self._last: float | None = None

    def _refill(self, now: float) -> None:
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    @property
    def tokens(self) -> float:
        self._refill(self._clock())
        return self._tokens

    def reserve(self, max_wait: float) -> float | None:
        """Book one token: seconds to wait before using it (0 = now), or ``None`` (nothing
        booked) when it would take longer than ``max_wait``."""
        self._refill(self._clock())
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        wait = (1.0 - self._tokens) / self.rate
        if wait > max_wait:
            return None
        self._tokens -= 1.0
        return wait

    def wait_s(self, tokens: int = 1) -> float:
        """Seconds until ``tokens`` tokens would be free (0 = now); books nothing."""
        self._refill(self._clock())
        return 0.0 if self._tokens >= tokens else (tokens - self._tokens) / self.rate

    def available_within(self, seconds: float) -> int:
        """How many reservations of ``reserve(seconds)`` would be granted, one after the other,
        from now (0 = none); books nothing. The admission check of :class:`Landers` adds these
        up over every source IP of an endpoint."""
        self._refill(self._clock())
        return max(0, math.floor(self._tokens + max(0.0, seconds) * self.rate))

    def try_take(self) -> bool:
        """Take a token only if one is free right now (background work, e.g. status polls)."""
        return self.reserve(0.0) == 0.0

    def refund(self) -> None:
        """Give back a booked token that was not used (its waiter was cancelled)."""
        self._refill(self._clock())
        self._tokens = min(self.burst, self._tokens + 1.0)

    def settle(self, in_flight_s: float) -> None:
        """A request that used a token took ``in_flight_s`` to answer. The server counted it
        at some moment in that window; charge it at the end (the refill accrued while it was
        in flight is taken back), so the gap the server measures is never shorter than ours.
        """
        self._refill(self._clock())
        self._tokens -= max(0.0, in_flight_s) * self.rate

    def drain(self, seconds: float) -> None:
        """The server said 429: the next token is ``seconds`` away at the earliest."""
        self._refill(self._clock())
        self._tokens = min(self._tokens, 1.0 - seconds * self.rate)

    async def claim(self, wait: float) -> None:
        """Wait out a reservation (``wait`` from :meth:`reserve`); a cancelled waiter gives its
        token back."""
        if wait > 0:
            try:
                await trio.sleep(wait)
            except BaseException:
                self.refund()
                raise

    async def acquire(self, max_wait: float) -> bool:
        """Wait for a token for at most ``max_wait`` seconds; ``False`` = dropped (stale)."""
        wait = self.reserve(max_wait)
        if wait is None:
            return False
        await self.claim(wait)
        return True
