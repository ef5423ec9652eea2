"""The per-endpoint token bucket: burst, queueing in order, and dropping stale work."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from galileo.landers import TokenBucket


def test_burst_is_max_one_and_rate_then_work_queues_behind_earlier_reservations() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, headroom=0.0, clock=lambda: now[0])
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(10.0) == pytest.approx(0.5)
    assert bucket.reserve(10.0) == pytest.approx(1.0)  # queued behind the previous one
    now[0] = 1.0
    assert bucket.reserve(10.0) == pytest.approx(0.5)


def test_a_reservation_that_would_wait_past_the_queue_timeout_is_refused_and_books_nothing() -> (
    None
):
    now = [0.0]
    bucket = TokenBucket(1.0, headroom=0.0, clock=lambda: now[0])
    assert bucket.reserve(0.5) == 0.0
    assert bucket.reserve(0.5) is None  # the next token is 1 s away
    assert bucket.reserve(0.5) is None
    now[0] = 0.6
    assert bucket.reserve(0.5) == pytest.approx(0.4)  # nothing was booked by the refusals


def test_headroom_runs_the_bucket_slightly_under_the_configured_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(1.0, clock=lambda: now[0])
    assert bucket.reserve(0.0) == 0.0
    wait = bucket.reserve(5.0)
    assert wait is not None and 1.0 < wait < 1.1


def test_a_429_drains_the_bucket_for_the_cooldown_and_refund_gives_a_token_back() -> None:
    now = [0.0]
    bucket = TokenBucket(10.0, headroom=0.0, clock=lambda: now[0])
    bucket.drain(2.0)
    assert bucket.reserve(1.0) is None
    assert bucket.reserve(3.0) == pytest.approx(2.0)
    bucket.refund()
    assert bucket.reserve(3.0) == pytest.approx(2.0)
    assert not bucket.try_take()


def test_available_within_counts_the_reservations_a_wait_budget_would_grant() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, headroom=0.0, clock=lambda: now[0])
    assert bucket.available_within(0.0) == 2  # the burst
    assert bucket.available_within(1.0) == 4  # and two more within a second
    for _ in range(bucket.available_within(1.0)):
        assert bucket.reserve(1.0) is not None
    assert bucket.reserve(1.0) is None  # exactly as many as it said
    assert bucket.available_within(1.0) == 0
    now[0] = 1.0
    assert bucket.available_within(0.0) == 0 and bucket.available_within(0.5) == 1


async def test_a_cancelled_claim_gives_its_token_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bucket = TokenBucket(1.0, headroom=0.0)
    assert bucket.try_take()
    wait = bucket.reserve(5.0)
    assert wait is not None and wait == pytest.approx(1.0)
    with trio.move_on_after(0.5):
        await bucket.claim(wait)
    assert bucket.reserve(0.6) == pytest.approx(0.5)  # the refunded token is the next one


async def test_acquire_waits_for_its_token_on_the_trio_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bucket = TokenBucket(1.0, headroom=0.0)
    start = trio.current_time()
    assert await bucket.acquire(5.0)
    assert await bucket.acquire(5.0)
    assert trio.current_time() - start == pytest.approx(1.0)
    assert not await bucket.acquire(0.5)  # dropped: stale work is not sent late


async def test_a_cancelled_waiter_returns_its_token(autojump_clock: trio.testing.MockClock) -> None:
    bucket = TokenBucket(1.0, headroom=0.0)
    assert bucket.try_take()
    with trio.move_on_after(0.2):
        await bucket.acquire(5.0)
    assert bucket.reserve(5.0) == pytest.approx(0.8)


def test_settle_charges_the_token_when_the_answer_came_back() -> None:
    now = [0.0]
    bucket = TokenBucket(1.0, headroom=0.0, clock=lambda: now[0])
    assert bucket.reserve(0.0) == 0.0
    now[0] = 0.3
    bucket.settle(0.3)  # the server may have counted it as late as t = 0.3
    assert bucket.reserve(5.0) == pytest.approx(1.0)  # next token at 1.3
