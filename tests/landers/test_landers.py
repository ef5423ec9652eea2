"""Landers against the simulated world's Jito and RPC faces: fan-out, typed results, the
per-(endpoint, IP) token bucket, 429 handling and the endpoint → source IP mapping (the next
IP in the endpoint's rendezvous order when the first is busy or cooling down)."""

from __future__ import annotations

from pathlib import Path

import attrs
import trio
import trio.testing
from prometheus_client import CollectorRegistry, generate_latest

from galileo._config import LandersConfig, RpcLanderConfig, SimFaultsConfig
from galileo._secret import Secret
from galileo.landers import Landers, SendMethod, build_endpoints, jito_label
from galileo.model import LanderOutcome
from galileo.net import HttpxClients, IpHashRing
from galileo.sim._jito import bundle_id
from tests.landers.lander_helpers import TIP, landers_config, tip_transfer
from tests.ports import IPS
from tests.worlds import quiet_world

TOKEN = "TOPSECRETTOKEN123"


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_fan_out_sends_to_every_jito_region_and_rpc_endpoint_and_lands_once(
    mock_clock: trio.testing.MockClock, tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path) as world:
        config = attrs.evolve(
            landers_config(),
            rpc=RpcLanderConfig(
                enabled=True, endpoints=[Secret(f"{world.rpc_url}/?api-key={TOKEN}")]
            ),
        )
        registry = CollectorRegistry()
        ring = IpHashRing(IPS)
        landers = Landers(
            config,
            clients=clients,
            hashring=ring,
            registry=registry,
            jito_urls=[f"{world.jito_url}/ny", f"{world.jito_url}/tokyo"],
        )
        built = tip_transfer(world)
        before = world.balances()

        submission = await landers.submit(built)

        port = world.jito_url.rsplit(":", 1)[1]
        assert [(r.result.lander, r.result.endpoint) for r in submission.results] == [
            ("jito", f"127.0.0.1:{port}/ny"),
            ("jito", f"127.0.0.1:{port}/tokyo"),
            ("rpc", f"http://127.0.0.1:{world.rpc_url.rsplit(':', 1)[1]}/***"),
        ]
        assert all(r.result.outcome is LanderOutcome.ACCEPTED for r in submission.results)
        assert submission.accepted and submission.signature == built.signature
        assert submission.bundle_ids == (bundle_id([built.signature]),)
        for endpoint, result in zip(landers.endpoints, submission.results, strict=True):
            assert result.ip == ring.order(endpoint.key)[0]
        after = world.balances()
        assert after.lamports == before.lamports - TIP - 5000  # landed exactly once
        text = generate_latest(registry).decode()
        assert TOKEN not in text
        assert (
            _sample(
                registry,
                "galileo_lander_submissions_total",
                lander="jito",
                endpoint=f"127.0.0.1:{port}/ny",
                ip=ring.order(landers.endpoints[0].key)[0],
                result="accepted",
            )
            == 1
        )


async def test_a_429_is_rate_limited_and_moves_the_endpoint_to_the_next_ip_until_cooled(
    mock_clock: trio.testing.MockClock, tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, jito_rps_per_ip=1.0) as world:
        registry = CollectorRegistry()
        ring = IpHashRing(IPS)
        landers = Landers(
            landers_config(requests_per_second=100.0),  # our bucket lets it through
            clients=clients,
            hashring=ring,
            registry=registry,
            jito_urls=[world.jito_url],
        )
        (endpoint,) = landers.endpoints
        first_ip, other_ip = ring.order(endpoint.key)
        assert {landers.ip_for(endpoint) for _ in range(20)} == {first_ip}  # stable

        accepted = await landers.submit(tip_transfer(world, TIP))
        limited = await landers.submit(tip_transfer(world, TIP + 1))
        moved = await landers.submit(tip_transfer(world, TIP + 2))

        assert accepted.results[0].result.outcome is LanderOutcome.ACCEPTED
        (result,) = limited.results
        assert result.result.outcome is LanderOutcome.RATE_LIMITED
        assert result.ip == first_ip and result.result.reason == "HTTP 429"
        assert landers.cooling_down(endpoint, first_ip) > 0
        assert moved.results[0].ip == other_ip
        assert moved.results[0].result.outcome is LanderOutcome.ACCEPTED
        mock_clock.jump(landers.cooling_down(endpoint, first_ip) + 0.001)
        assert landers.ip_for(endpoint) == first_ip  # back once the cooldown is over
        assert (
            _sample(
                registry,
                "galileo_lander_submissions_total",
                lander="jito",
                endpoint=endpoint.label,
                ip=first_ip,
                result="rate_limited",
            )
            == 1
        )


async def test_every_ip_cooling_down_drops_the_send_as_no_ip_not_as_rate_limited(
    mock_clock: trio.testing.MockClock, tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, jito_rps_per_ip=1.0) as world:
        registry = CollectorRegistry()
        landers = Landers(
            landers_config(requests_per_second=100.0),
            clients=clients,
            hashring=IpHashRing(["127.0.0.2"]),
            registry=registry,
            jito_urls=[world.jito_url],
        )
        label = landers.endpoints[0].label
        await landers.submit(tip_transfer(world, TIP))
        await landers.submit(tip_transfer(world, TIP + 1))  # 429: the only IP cools down
        received = world.faults["jito"].stats.requests

        submission = await landers.submit(tip_transfer(world, TIP + 2))

        (result,) = submission.results
        assert result.result.outcome is LanderOutcome.TIMEOUT  # dropped before sending
        assert result.result.reason == "no_ip: every source IP is cooling down"
        assert result.ip is None and result.dropped and submission.dropped
        assert world.faults["jito"].stats.requests == received
        counts = {
            (ip, outcome): _sample(
                registry,
                "galileo_lander_submissions_total",
                lander="jito",
                endpoint=label,
                ip=ip,
                result=outcome,
            )
            for ip in ("127.0.0.2", "none")
            for outcome in ("accepted", "rate_limited", "no_ip")
        }
        assert counts == {
            ("127.0.0.2", "accepted"): 1,
            ("127.0.0.2", "rate_limited"): 1,  # the one real 429, and only that
            ("127.0.0.2", "no_ip"): 0,
            ("none", "accepted"): 0,
            ("none", "rate_limited"): 0,
            ("none", "no_ip"): 1,
        }


async def test_work_that_would_queue_past_the_queue_timeout_is_dropped_and_counted(
    mock_clock: trio.testing.MockClock, tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path) as world:
        registry = CollectorRegistry()
        landers = Landers(
            landers_config(requests_per_second=1.0, queue_timeout_ms=500),
            clients=clients,
            hashring=IpHashRing(["127.0.0.2"]),
            registry=registry,
            jito_urls=[world.jito_url],
        )
        first = await landers.submit(tip_transfer(world, TIP))
        stale = await landers.submit(tip_transfer(world, TIP + 1))

        assert first.results[0].result.outcome is LanderOutcome.ACCEPTED
        (result,) = stale.results
        assert result.result.outcome is LanderOutcome.TIMEOUT
        assert result.result.reason == "queue_timeout"
        assert result.dropped and stale.dropped and not stale.accepted
        assert landers.dropped == 1
        label = landers.endpoints[0].label
        assert (
            _sample(registry, "galileo_lander_queue_dropped_total", lander="jito", endpoint=label)
            == 1
        )
        busy = _sample(
            registry,
            "galileo_lander_submissions_total",
            lander="jito",
            endpoint=label,
            ip="none",
            result="busy",
        )
        assert busy == 1
        assert world.jito.bundles_received == 1  # the stale one never left


async def test_a_busy_first_ip_hands_the_send_to_the_next_ip_in_the_endpoints_order(
    mock_clock: trio.testing.MockClock, tmp_path: Path, clients: HttpxClients
) -> None:
    # Jito's limit, enforced by the world: 1 per second per source IP and region.
    ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    async with quiet_world(tmp_path, jito_rps_per_ip=1.0) as world:
        ring = IpHashRing(ips)
        landers = Landers(
            landers_config(requests_per_second=1.0, queue_timeout_ms=500),
            clients=clients,
            hashring=ring,
            jito_urls=[world.jito_url],
        )
        (endpoint,) = landers.endpoints
        order = ring.order(endpoint.key)

        sent = [await landers.submit(tip_transfer(world, TIP + i)) for i in range(4)]

        # One token per IP now: each send takes the next IP in the endpoint's order ...
        assert [s.results[0].ip for s in sent[:3]] == order
        assert all(s.accepted for s in sent[:3])
        # ... and with every IP busy for longer than the queue timeout, the fourth is dropped.
        assert sent[3].results[0].result.reason == "queue_timeout" and sent[3].dropped
        assert world.faults["jito"].stats.rate_limited == 0
        assert world.jito.bundles_received == 3

        mock_clock.jump(1.2)  # a token again on every IP: back to the favourite
        again = await landers.submit(tip_transfer(world, TIP + 9))
        assert again.results[0].ip == order[0] and again.accepted


async def test_the_token_bucket_keeps_under_the_block_engine_limit(
    tmp_path: Path, clients: HttpxClients
) -> None:
    # Real clock: the world's limiter and ours both run on it. 2 per second per IP.
    async with quiet_world(tmp_path, jito_rps_per_ip=2.0) as world:
        landers = Landers(
            attrs.evolve(
                landers_config(requests_per_second=2.0, queue_timeout_ms=3000),
                send_deadline_ms=10_000,
            ),
            clients=clients,
            hashring=IpHashRing(["127.0.0.2"]),
            jito_urls=[world.jito_url],
        )
        outcomes = []
        for i in range(5):
            submission = await landers.submit(tip_transfer(world, TIP + i))
            outcomes.append(submission.results[0].result.outcome)
        assert outcomes == [LanderOutcome.ACCEPTED] * 5
        assert world.faults["jito"].stats.rate_limited == 0


async def test_bundle_only_send_transaction_returns_the_bundle_id_header(
    mock_clock: trio.testing.MockClock, tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path) as world:
        landers = Landers(
            landers_config(bundle_only_send_transaction=True),
            clients=clients,
            hashring=IpHashRing(IPS),
            jito_urls=[world.jito_url],
        )
        built = tip_transfer(world)
        submission = await landers.submit(built)
        methods = [r.method for r in submission.results]
        assert methods == [SendMethod.BUNDLE, SendMethod.BUNDLE_ONLY]
        assert all(r.bundle_id == bundle_id([built.signature]) for r in submission.results)


async def test_a_refused_bundle_is_rejected_with_the_engines_reason(
    mock_clock: trio.testing.MockClock, tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path) as world:
        landers = Landers(
            landers_config(),
            clients=clients,
            hashring=IpHashRing(IPS),
            jito_urls=[world.jito_url],
        )
        submission = await landers.submit(tip_transfer(world, 500))  # below the 1000 minimum
        (result,) = submission.results
        assert result.result.outcome is LanderOutcome.REJECTED
        assert result.result.reason is not None and result.result.reason.startswith("-32602:")


async def test_an_endpoint_that_does_not_answer_times_out_at_the_send_deadline(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, jito_faults=SimFaultsConfig(stall_rate=1.0)) as world:
        landers = Landers(
            attrs.evolve(landers_config(), send_deadline_ms=1000),
            clients=clients,
            hashring=IpHashRing(IPS),
            jito_urls=[world.jito_url],
        )
        start = trio.current_time()
        submission = await landers.submit(tip_transfer(world))
        (result,) = submission.results
        assert result.result.outcome is LanderOutcome.TIMEOUT
        assert trio.current_time() - start <= 1.0 + 1e-9


def test_endpoint_labels_never_carry_tokens_and_stay_unique() -> None:
    config = attrs.evolve(
        LandersConfig(),
        jito=attrs.evolve(
            LandersConfig().jito,
            endpoints=[
                Secret("https://ny.mainnet.block-engine.jito.wtf/api/v1/bundles?uuid=abcdef123456"),
                Secret("https://tokyo.mainnet.block-engine.jito.wtf"),
            ],
        ),
        rpc=RpcLanderConfig(
            enabled=True,
            endpoints=[
                Secret(f"https://rpc.example.com/{TOKEN}"),
                Secret(f"https://rpc.example.com/?api-key={TOKEN}"),
            ],
        ),
        staked=RpcLanderConfig(enabled=True, endpoints=[Secret("https://staked.example.com")]),
    )
    endpoints = build_endpoints(config)
    labels = [e.label for e in endpoints]
    assert labels == [
        "ny.mainnet.block-engine.jito.wtf",
        "tokyo.mainnet.block-engine.jito.wtf",
        "https://rpc.example.com/***",
        "https://rpc.example.com/***#2",
        "https://staked.example.com/",
    ]
    assert endpoints[0].url.reveal() == "https://ny.mainnet.block-engine.jito.wtf/api/v1/bundles"
    assert jito_label("http://127.0.0.1:18900/ny/api/v1/bundles") == "127.0.0.1:18900/ny"
    assert all(TOKEN not in label for label in labels)
