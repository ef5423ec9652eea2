"""The adaptive pacer: slow start, learning a limit it is not told, holding just under it —
on trio's MockClock against a token-bucket limiter like the simulated world's."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.testing

from galileo.net import Pacer, PacingPolicy


@attrs.define
class Limiter:
    """A token bucket of ``rate`` per second holding ``rate`` tokens (the sim's /quote
    limit per source IP): a deep burst that hides the rate until it is spent."""

    rate: float
    tokens: float = -1.0
    at: float = 0.0

    def allow(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.at = self.rate, now
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def retry_after(self) -> float:
        return max(0.001, (1.0 - self.tokens) / self.rate)


async def take(pacer: Pacer) -> None:
    """Sleep until ``pacer`` lets one request leave (as the allocator's ``pace`` does)."""
    while True:
        wait = pacer.delay(trio.current_time())
        if wait <= 0:
            return
        await trio.sleep(wait)


@attrs.define
class Figures:
    accepted: int = 0
    limited: int = 0
    late_requests: int = 0
    late_limited: int = 0


async def drive(pacer: Pacer, limiter: Limiter, *, seconds: float, workers: int = 8) -> Figures:
    """``workers`` tasks sending through ``pacer`` with a 2 ms round trip; a 429 blocks the
    pacer for the limiter's retry-after (as the allocator's cooldown would)."""
    figures = Figures()
    start = trio.current_time()

    async def worker() -> None:
        while True:
            await take(pacer)
            sent = trio.current_time()
            await trio.sleep(0.001)
            allowed = limiter.allow(trio.current_time())
            await trio.sleep(0.001)
            now = trio.current_time()
            late = now - start >= 3.0
            figures.late_requests += late
            if allowed:
                figures.accepted += 1
                pacer.on_accepted(now)
            else:
                figures.limited += 1
                figures.late_limited += late
                if pacer.on_rate_limited(now, sent):
                    pacer.block(now, now + limiter.retry_after())

    async with trio.open_nursery() as nursery:
        for _ in range(workers):
            nursery.start_soon(worker)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()
    return figures


@pytest.mark.parametrize("limit", [10.0, 40.0, 200.0])
async def test_it_settles_just_under_a_limit_it_is_not_told(
    autojump_clock: trio.testing.MockClock, limit: float
) -> None:
    pacer = Pacer(PacingPolicy(), now=trio.current_time())
    figures = await drive(pacer, Limiter(limit), seconds=20.0)

    assert figures.accepted / 20.0 >= 0.9 * limit
    assert figures.late_limited <= 0.05 * figures.late_requests
    assert pacer.ceiling is not None
    assert 0.85 * limit <= pacer.rate <= limit
    assert not pacer.slow_start


async def test_slow_start_doubles_only_while_the_allowance_is_used(
    autojump_clock: trio.testing.MockClock,
) -> None:
    policy = PacingPolicy(initial_rps=20.0)
    busy = Pacer(policy, now=trio.current_time())
    idle = Pacer(policy, now=trio.current_time())
    end = trio.current_time() + 1.0
    while trio.current_time() < end:
        await take(busy)
        busy.on_accepted(trio.current_time())
    assert idle.delay(trio.current_time()) == 0  # one request in a second: no demand
    # a doubling every 0.25 s of full use; an unused allowance does not grow
    assert busy.rate == pytest.approx(20.0 * 2**3, rel=0.3)
    assert idle.rate == 20.0


def test_a_429_already_on_the_wire_is_not_news() -> None:
    pacer = Pacer(PacingPolicy(interval_answers=1, measure_answers=1), now=0.0)
    pacer.slow_start = False
    for at in (0.1, 0.2, 0.3, 0.4):
        pacer.on_accepted(at)
    assert pacer.on_rate_limited(0.45, sent_at=0.44)
    pacer.on_accepted(0.5)
    pacer.on_accepted(0.8)  # the interval ends: a cut
    assert pacer.ceiling is not None
    assert not pacer.on_rate_limited(0.81, sent_at=0.7)  # left before the cut
    assert pacer.on_rate_limited(0.82, sent_at=0.81)


def test_an_explicit_ceiling_caps_the_rate() -> None:
    pacer = Pacer(PacingPolicy(max_rps=25.0), now=0.0)
    now = 0.0
    for _ in range(2000):
        now += 0.001
        if pacer.delay(now) == 0:
            pacer.on_accepted(now)
    assert pacer.rate == 25.0


def test_a_cooldown_stops_the_bucket_until_it_ends() -> None:
    pacer = Pacer(PacingPolicy(initial_rps=100.0), now=0.0)
    assert pacer.delay(0.0, 2) == 0  # the bucket starts full: empty it
    pacer.block(0.0, 0.5)
    assert pacer.delay(0.1) == pytest.approx(0.4)
    assert pacer.delay(0.5) > 0  # no tokens accrued while blocked ...
    assert pacer.delay(0.52) == 0  # ... they start again when it ends


def test_requests_paced_together_and_given_back() -> None:
    pacer = Pacer(PacingPolicy(initial_rps=10.0, burst=2.0), now=0.0)
    assert pacer.delay(0.0, 2) == 0  # a full bucket lets a batch of two leave at once
    assert pacer.delay(0.0, 2) == pytest.approx(0.2)
    pacer.refund(1)  # the second leg was not sent
    assert pacer.delay(0.1, 2) == 0


def test_a_trickle_of_429s_at_the_hold_point_eases_the_ceiling_down() -> None:
    policy = PacingPolicy()
    pacer = Pacer(policy, now=0.0)
    pacer.slow_start = False
    pacer.ceiling = 210.0  # measured a little above the real limit
    pacer.rate = policy.hold * 210.0
    now = 0.0
    for i in range(400):  # one 429 in every 100 answers: 1 %, below limited_share
        now += 0.005
        if i % 100 == 50:
            pacer.on_rate_limited(now, sent_at=now)
        else:
            pacer.on_accepted(now)
    assert pacer.ceiling is not None
    assert 210.0 * (1 - policy.ease_step) ** 4 <= pacer.ceiling < 210.0
    assert pacer.rate == pytest.approx(policy.hold * pacer.ceiling)
