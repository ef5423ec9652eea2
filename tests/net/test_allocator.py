"""IpAllocator: caps, cooldowns, FIFO waiters, states — on trio's MockClock."""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from galileo._config import NetworkConfig
from galileo.model import LeaseKind, LeaseResult
from galileo.net import (
    CooldownPolicy,
    IpAllocator,
    IpState,
    NetMetrics,
    NoIpAvailable,
    PacingPolicy,
)

IPS = ["10.0.0.1", "10.0.0.2"]
EXACT = CooldownPolicy(jitter=0.0)  # no random stretch: durations can be compared exactly


async def test_leases_spread_over_ips_and_respect_the_per_ip_cap() -> None:
    allocator = IpAllocator(IPS, max_inflight_per_ip=2)
    leases = [await allocator.lease() for _ in range(4)]
    assert sorted(lease.ip for lease in leases) == sorted(IPS * 2)
    assert all(allocator.state(ip) is IpState.BUSY for ip in IPS)
    with pytest.raises(NoIpAvailable):
        await allocator.lease(deadline=trio.current_time())
    for lease in leases:
        lease.release()
    assert all(allocator.state(ip) is IpState.IDLE for ip in IPS)


async def test_async_with_releases_the_lease_even_on_error() -> None:
    allocator = IpAllocator(IPS[:1], max_inflight_per_ip=1)
    with pytest.raises(RuntimeError):
        async with allocator.acquire(LeaseKind.QUOTE) as lease:
            assert allocator.state(lease.ip) is IpState.BUSY
            raise RuntimeError("boom")
    assert allocator.state(IPS[0]) is IpState.IDLE


async def test_rate_limit_cooldown_doubles_to_the_cap_and_success_resets(
    autojump_clock: trio.testing.MockClock,
) -> None:
    policy = CooldownPolicy(rate_limited_initial=0.5, rate_limited_max=2.0, jitter=0.0)
    allocator = IpAllocator(IPS[:1], cooldown=policy)
    ip = IPS[0]
    seen = []
    for _ in range(4):
        allocator.mark_result(ip, LeaseResult.RATE_LIMITED)
        seen.append(allocator.cooldown_remaining(ip))
    # cooldown_until only grows: the remaining time reflects the longest one asked for
    assert seen == [0.5, 1.0, 2.0, 2.0]
    assert allocator.state(ip) is IpState.COOLING_DOWN
    allocator.mark_result(ip, LeaseResult.SUCCESS)
    assert policy.duration(LeaseResult.RATE_LIMITED, 1) == 0.5


async def test_timeout_cooldown_starts_at_250ms(autojump_clock: trio.testing.MockClock) -> None:
    allocator = IpAllocator(IPS[:1], cooldown=EXACT)
    start = trio.current_time()
    allocator.mark_result(IPS[0], LeaseResult.TIMEOUT)
    assert allocator.cooldown_remaining(IPS[0]) == pytest.approx(0.25)
    async with allocator.acquire() as lease:
        assert trio.current_time() - start == pytest.approx(0.25)
        assert lease.ip == IPS[0]


async def test_success_resets_the_doubling(autojump_clock: trio.testing.MockClock) -> None:
    allocator = IpAllocator(IPS[:1], cooldown=EXACT)
    ip = IPS[0]
    allocator.mark_result(ip, LeaseResult.RATE_LIMITED)
    allocator.mark_result(ip, LeaseResult.RATE_LIMITED)
    await trio.sleep(5)
    allocator.mark_result(ip, LeaseResult.SUCCESS)
    allocator.mark_result(ip, LeaseResult.RATE_LIMITED)
    assert allocator.cooldown_remaining(ip) == pytest.approx(0.5)


async def test_a_cooling_ip_is_skipped_while_another_is_free() -> None:
    allocator = IpAllocator(IPS)
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED)
    for _ in range(3):
        async with allocator.acquire() as lease:
            assert lease.ip == IPS[1]
    assert allocator.healthy() == [IPS[1]]


async def test_waiters_are_served_first_come_first_served(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS[:1], max_inflight_per_ip=1)
    holder = await allocator.lease()
    order: list[int] = []

    async def wait_for_lease(index: int) -> None:
        async with allocator.acquire():
            order.append(index)
            await trio.sleep(0.01)

    async with trio.open_nursery() as nursery:
        for index in range(5):
            nursery.start_soon(wait_for_lease, index)
            await trio.testing.wait_all_tasks_blocked()
        assert allocator.waiting == 5
        holder.release()
    assert order == [0, 1, 2, 3, 4]


async def test_waiting_for_a_cooldown_wakes_at_its_end(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS[:1], cooldown=EXACT)
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED)
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED)  # 1.0 s
    start = trio.current_time()
    async with allocator.acquire(deadline=start + 5):
        assert trio.current_time() - start == pytest.approx(1.0)


async def test_deadline_expires_while_cooling(autojump_clock: trio.testing.MockClock) -> None:
    allocator = IpAllocator(IPS[:1])
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED)
    with pytest.raises(NoIpAvailable):
        async with allocator.acquire(deadline=trio.current_time() + 0.1):
            pass
    assert allocator.waiting == 0


async def test_a_pinned_waiter_does_not_block_others(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS, max_inflight_per_ip=1)
    first = await allocator.lease(ip=IPS[0])
    got: list[str] = []

    async def pinned() -> None:
        async with allocator.acquire(ip=IPS[0]) as lease:
            got.append(lease.ip)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pinned)
        await trio.testing.wait_all_tasks_blocked()
        async with allocator.acquire(deadline=trio.current_time() + 1) as other:
            assert other.ip == IPS[1]
        first.release()
    assert got == [IPS[0]]


async def test_cancelled_waiter_leaves_the_queue() -> None:
    allocator = IpAllocator(IPS[:1], max_inflight_per_ip=1)
    holder = await allocator.lease()
    with trio.move_on_after(0.01):
        await allocator.lease()
    assert allocator.waiting == 0
    holder.release()
    assert allocator.state(IPS[0]) is IpState.IDLE


async def test_long_lived_leases_share_the_ip() -> None:
    allocator = IpAllocator(IPS[:1], max_inflight_per_ip=1)
    stream = await allocator.lease(LeaseKind.LONG_LIVED)
    assert allocator.state(IPS[0]) is IpState.SHARED_LONG_LIVED
    async with allocator.acquire(LeaseKind.QUOTE, deadline=trio.current_time()) as lease:
        assert lease.ip == IPS[0]
    stream.release()
    assert allocator.state(IPS[0]) is IpState.IDLE


async def test_metrics_count_requests_inflight_and_cooldowns() -> None:
    registry = CollectorRegistry()
    allocator = IpAllocator(IPS[:1], metrics=NetMetrics(registry))
    async with allocator.acquire() as lease:
        assert registry.get_sample_value("galileo_ip_inflight", {"ip": IPS[0]}) == 1
        lease.mark(LeaseResult.SUCCESS)
        lease.mark(LeaseResult.RATE_LIMITED)
    labels = {"task": "quote", "ip": IPS[0], "result": "success"}
    assert registry.get_sample_value("galileo_ip_requests_total", labels) == 1
    assert (
        registry.get_sample_value(
            "galileo_ip_cooldown_total", {"ip": IPS[0], "reason": "rate_limited"}
        )
        == 1
    )
    assert registry.get_sample_value("galileo_ip_inflight", {"ip": IPS[0]}) == 0


def test_cooldown_policy_reads_the_network_config() -> None:
    policy = CooldownPolicy.from_config(
        NetworkConfig(cooldown_429_initial_ms=100, cooldown_429_max_ms=400)
    )
    assert [policy.duration(LeaseResult.RATE_LIMITED, n) for n in (1, 2, 3, 4)] == [
        0.1,
        0.2,
        0.4,
        0.4,
    ]
    assert policy.duration(LeaseResult.TIMEOUT, 1) == 0.25


@given(
    st.lists(st.tuples(st.sampled_from(["acquire", "release"]), st.integers(0, 7)), max_size=60),
    st.integers(min_value=1, max_value=3),
)
def test_inflight_never_exceeds_the_cap(ops: list[tuple[str, int]], cap: int) -> None:
    async def scenario() -> None:
        allocator = IpAllocator(["a", "b", "c"], max_inflight_per_ip=cap)
        held = []
        for op, index in ops:
            if op == "acquire":
                try:
                    held.append(await allocator.lease(deadline=trio.current_time()))
                except NoIpAvailable:
                    assert len(held) == 3 * cap
            elif held:
                held.pop(index % len(held)).release()
            for snap in allocator.snapshot():
                assert 0 <= snap.inflight <= cap
            assert sum(s.inflight for s in allocator.snapshot()) == len(held)

    trio.run(scenario)


# -- every failure class, episodes, Retry-After, pacing ---------------------------------------


def test_each_failure_class_has_its_own_start_and_cap() -> None:
    policy = CooldownPolicy.from_config(
        NetworkConfig(
            cooldown_connect_error_initial_ms=100,
            cooldown_connect_error_max_ms=300,
            cooldown_5xx_initial_ms=200,
            cooldown_5xx_max_ms=1000,
        )
    )
    connect = [policy.duration(LeaseResult.CONNECT_ERROR, n) for n in (1, 2, 3)]
    assert connect == [0.1, 0.2, 0.3]
    assert [policy.duration(LeaseResult.SERVER_ERROR, n) for n in (1, 3, 9)] == [0.2, 0.8, 1.0]
    assert policy.duration(LeaseResult.ERROR, 1) == 0.0


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (LeaseResult.CONNECT_ERROR, "connect_error"),
        (LeaseResult.SERVER_ERROR, "server_error"),
        (LeaseResult.TIMEOUT, "timeout"),
        (LeaseResult.RATE_LIMITED, "rate_limited"),
    ],
)
async def test_every_failure_class_cools_the_ip_down_and_is_counted(
    autojump_clock: trio.testing.MockClock, result: LeaseResult, reason: str
) -> None:
    registry = CollectorRegistry()
    allocator = IpAllocator(IPS[:1], cooldown=EXACT, metrics=NetMetrics(registry))
    allocator.mark_result(IPS[0], result)
    assert allocator.state(IPS[0]) is IpState.COOLING_DOWN
    labels = {"ip": IPS[0], "reason": reason}
    assert registry.get_sample_value("galileo_ip_cooldown_total", labels) == 1
    seconds = registry.get_sample_value("galileo_ip_cooldown_seconds_total", labels)
    assert seconds == pytest.approx(allocator.cooldown_remaining(IPS[0]))


async def test_answers_already_on_the_wire_share_one_episode(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = CollectorRegistry()
    allocator = IpAllocator(IPS[:1], cooldown=EXACT, metrics=NetMetrics(registry))
    ip = IPS[0]
    sent = trio.current_time()
    await trio.sleep(0.01)
    for _ in range(8):  # eight requests were in flight when the limit hit
        allocator.mark_result(ip, LeaseResult.RATE_LIMITED, sent_at=sent)
    assert allocator.cooldown_remaining(ip) == pytest.approx(0.5)
    labels = {"ip": ip, "reason": "rate_limited"}
    assert registry.get_sample_value("galileo_ip_cooldown_total", labels) == 1
    # a request sent after the cooldown began and refused again: the next strike doubles
    await trio.sleep(0.5)
    allocator.mark_result(ip, LeaseResult.RATE_LIMITED, sent_at=trio.current_time())
    assert allocator.cooldown_remaining(ip) == pytest.approx(1.0)
    assert allocator.snapshot()[0].rate_limited == 9


async def test_only_a_clean_answer_sent_after_the_episode_resets_the_doubling(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS[:1], cooldown=EXACT)
    ip = IPS[0]
    early = trio.current_time()
    await trio.sleep(0.01)
    allocator.mark_result(ip, LeaseResult.CONNECT_ERROR)
    allocator.mark_result(ip, LeaseResult.SUCCESS, sent_at=early)  # was on the wire: no reset
    await trio.sleep(1)
    allocator.mark_result(ip, LeaseResult.CONNECT_ERROR)
    assert allocator.cooldown_remaining(ip) == pytest.approx(0.5)  # second strike
    await trio.sleep(1)
    allocator.mark_result(ip, LeaseResult.SUCCESS)
    allocator.mark_result(ip, LeaseResult.CONNECT_ERROR)
    assert allocator.cooldown_remaining(ip) == pytest.approx(0.25)


async def test_retry_after_is_the_base_of_the_429_cooldown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS[:1], cooldown=EXACT)
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED, retry_after=0.02)
    assert allocator.cooldown_remaining(IPS[0]) == pytest.approx(0.02)
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED, retry_after=3.0)
    assert allocator.cooldown_remaining(IPS[0]) == pytest.approx(6.0)  # doubled: 2nd strike


async def test_cooldowns_are_jittered_up_to_a_fifth(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen = set()
    for seed in range(20):
        allocator = IpAllocator(IPS[:1], rng=random.Random(seed))
        allocator.mark_result(IPS[0], LeaseResult.SERVER_ERROR)
        seen.add(round(allocator.cooldown_remaining(IPS[0]), 6))
    assert all(0.25 <= d <= 0.25 * 1.2 for d in seen)
    assert len(seen) > 10


async def test_a_cooldown_of_one_upstream_leaves_the_others_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS[:1])
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED, upstream="jupiter")
    async with allocator.acquire(deadline=trio.current_time(), upstream="other") as lease:
        assert lease.upstream == "other"
    with pytest.raises(NoIpAvailable):
        await allocator.lease(deadline=trio.current_time(), upstream="jupiter")


async def test_pacing_spaces_requests_at_the_learned_rate_and_is_visible(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = CollectorRegistry()
    allocator = IpAllocator(
        IPS[:1], pacing=PacingPolicy(initial_rps=10.0, max_rps=10.0), metrics=NetMetrics(registry)
    )
    departures: list[float] = []

    async def worker() -> None:
        async with allocator.acquire() as lease:
            for _ in range(5):
                await lease.pace()
                lease.sending()
                departures.append(trio.current_time())
                lease.mark(LeaseResult.SUCCESS)

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(worker)
    # 20 requests at 10/s with a burst of 2: the last leaves 1.8 s in
    assert max(departures) - start == pytest.approx(1.8)
    assert allocator.learned_rps(IPS[0]) == 10.0
    assert allocator.snapshot()[0].learned_rps == {"jupiter": 10.0}
    labels = {"ip": IPS[0], "upstream": "jupiter"}
    assert registry.get_sample_value("galileo_ip_learned_rps", labels) == 10.0


async def test_a_pacing_waiter_waits_out_a_cooldown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS[:1], cooldown=EXACT)
    async with allocator.acquire() as lease:
        allocator.mark_result(IPS[0], LeaseResult.TIMEOUT)
        start = trio.current_time()
        await lease.pace()
        assert trio.current_time() - start == pytest.approx(0.25)


def test_a_cooldown_start_above_its_cap_is_a_configuration_problem() -> None:
    network = NetworkConfig(
        cooldown_connect_error_initial_ms=3_000,
        cooldown_connect_error_max_ms=2_000,
        cooldown_5xx_initial_ms=10,
        cooldown_5xx_max_ms=1,
    )
    assert [key for key, _ in network.problems()] == [
        "cooldown_connect_error_initial_ms",
        "cooldown_5xx_initial_ms",
    ]
