"""The tip-floor poller: against the simulated world's Jito face (the value follows the
bundles that land), and against a tiny server for what goes wrong (malformed bodies, HTTP
errors, timeouts, refused connections: logged, counted, the last good value kept)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from galileo._httpserver import HttpServer, Request, Response
from galileo.landers import (
    JITO_TIP_FLOOR_URL,
    MalformedTipFloor,
    TipFloor,
    parse_tip_floor,
    sol_to_lamports,
    tip_floor_url,
)
from galileo.net import HttpxClients
from galileo.sim import World
from tests.landers.lander_helpers import tip_transfer
from tests.logs import fields_of
from tests.worlds import quiet_world


def floor_doc(**overrides: Any) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "time": "2024-09-01T12:58:00Z",
        "landed_tips_25th_percentile": 6.001000000000001e-06,
        "landed_tips_50th_percentile": 1e-05,
        "landed_tips_75th_percentile": 3.6196500000000005e-05,
        "landed_tips_95th_percentile": 0.0014479055000000002,
        "landed_tips_99th_percentile": 0.010007999,
        "ema_landed_tips_50th_percentile": 9.836078125000002e-06,
    }
    entry.update(overrides)
    return [entry]


def land(world: World, tip: int) -> None:
    built = tip_transfer(world, tip)
    world.jito.send_bundle([[built.base64], {"encoding": "base64"}])
    assert world.jito.landed_tips[-1][1] == tip


class Script:
    """A tip-floor server whose next answers the test sets."""

    def __init__(self) -> None:
        self.answer: Callable[[], Awaitable[Response]] = self.good
        self.requests = 0

    async def good(self) -> Response:
        return Response.json(floor_doc())

    async def handle(self, request: Request) -> Response:
        self.requests += 1
        return await self.answer()


@asynccontextmanager
async def scripted() -> AsyncIterator[tuple[Script, str]]:
    script = Script()
    server = HttpServer(script.handle, name="tipfloor")
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        yield script, server.url + "/api/v1/bundles/tip_floor"
        nursery.cancel_scope.cancel()


# --- conversion and parsing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sol", "lamports"),
    [
        (0, 0),
        (0.0, 0),
        (1e-06, 1000),
        (1e-05, 10_000),
        (5e-05, 50_000),
        (0.010007999, 10_007_999),
        (6.001000000000001e-06, 6002),  # not a whole lamport: rounded up
        (0.1 + 0.2, 300_000_001),  # 0.30000000000000004 SOL: exact decimal, then up
        (1.5e-09, 2),
        (12.345678901, 12_345_678_901),
        (3, 3_000_000_000),
    ],
)
def test_sol_to_lamports_is_exact_and_rounds_up(sol: float, lamports: int) -> None:
    assert sol_to_lamports(sol) == lamports


def test_each_percentile_reads_its_own_field() -> None:
    doc = floor_doc()
    assert parse_tip_floor(doc, 25) == 6002
    assert parse_tip_floor(doc, 50) == 10_000
    assert parse_tip_floor(doc, 75) == 36_197
    assert parse_tip_floor(doc, 95) == 1_447_906
    assert parse_tip_floor(doc, 99) == 10_007_999
    # Round-trips through JSON text exactly as it would off the wire.
    assert parse_tip_floor(json.loads(json.dumps(doc)), 99) == 10_007_999


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {},
        floor_doc()[0],
        ["x"],
        floor_doc(landed_tips_50th_percentile="0.00001"),
        floor_doc(landed_tips_50th_percentile=None),
        floor_doc(landed_tips_50th_percentile=True),
        floor_doc(landed_tips_99th_percentile=-1e-05),
        floor_doc(landed_tips_75th_percentile=float("nan")),
        floor_doc(landed_tips_95th_percentile=float("inf")),
        floor_doc(ema_landed_tips_50th_percentile="x"),
        floor_doc(time=12),
        [{k: v for k, v in floor_doc()[0].items() if k != "landed_tips_25th_percentile"}],
    ],
)
def test_malformed_documents_are_refused(doc: Any) -> None:
    with pytest.raises(MalformedTipFloor):
        parse_tip_floor(doc, 50)


def test_the_url_defaults_to_the_world_then_to_jito() -> None:
    assert tip_floor_url("http://x/tf", "http://127.0.0.1:1") == "http://x/tf"
    assert (
        tip_floor_url("", "http://127.0.0.1:18900/")
        == "http://127.0.0.1:18900/api/v1/bundles/tip_floor"
    )
    assert tip_floor_url("", None) == JITO_TIP_FLOOR_URL


async def test_bad_arguments_are_refused(clients: HttpxClients) -> None:
    with pytest.raises(ValueError, match="percentile"):
        TipFloor("http://127.0.0.1:1", clients=clients, percentile=60)
    with pytest.raises(ValueError, match="interval"):
        TipFloor("http://127.0.0.1:1", clients=clients, percentile=50, interval_s=0)


# --- against the simulated world -----------------------------------------------------------


async def test_the_floor_follows_the_bundles_landed_in_the_world(
    tmp_path: Path, clients: HttpxClients, autojump_clock: trio.testing.MockClock
) -> None:
    async with quiet_world(tmp_path) as world, trio.open_nursery() as nursery:
        floor = TipFloor(
            tip_floor_url("", world.jito_url), clients=clients, percentile=50, interval_s=10.0
        )
        assert floor.lamports() == 0
        start = trio.current_time()
        await nursery.start(floor.run)
        # The first fetch happened before started(): the world's default floor.
        assert (floor.fetches, floor.successes, floor.failures) == (1, 1, 0)
        assert floor.lamports() == 1000
        land(world, 50_000)
        await trio.sleep_until(start + 9.9)
        assert floor.fetches == 1 and floor.lamports() == 1000  # not polled again yet
        await trio.sleep_until(start + 10.1)
        assert floor.fetches == 2 and floor.lamports() == 50_000
        for tip in (10_000, 20_000, 30_000):
            land(world, tip)
        await trio.sleep_until(start + 20.1)
        assert floor.fetches == 3
        assert floor.lamports() == 20_000  # nearest-rank median of 10k, 20k, 30k, 50k
        assert floor.updated_at is not None and floor.updated_at >= start + 20
        nursery.cancel_scope.cancel()


async def test_the_high_percentiles_of_the_world(
    tmp_path: Path, clients: HttpxClients, autojump_clock: trio.testing.MockClock
) -> None:
    async with quiet_world(tmp_path) as world:
        for tip in range(1000, 101_000, 1000):  # 1k … 100k
            land(world, tip)
        url = tip_floor_url("", world.jito_url)
        values = {}
        for p in (25, 50, 75, 95, 99):
            floor = TipFloor(url, clients=clients, percentile=p)
            assert await floor.refresh()
            values[p] = floor.lamports()
        assert values == {25: 25_000, 50: 50_000, 75: 75_000, 95: 95_000, 99: 99_000}


# --- what goes wrong ----------------------------------------------------------------------


async def test_a_failed_first_fetch_still_starts_and_is_counted(
    clients: HttpxClients, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with scripted() as (script, url), trio.open_nursery() as nursery:

        async def malformed() -> Response:
            return Response.text("<html>bad gateway</html>", content_type="text/html")

        script.answer = malformed
        floor = TipFloor(url, clients=clients, percentile=50, interval_s=5.0)
        with caplog.at_level(logging.WARNING, logger="galileo.landers"):
            await nursery.start(floor.run)
        assert (floor.fetches, floor.failures, floor.lamports()) == (1, 1, 0)
        assert floor.last_error is not None and floor.last_error.startswith("malformed")
        (record,) = [r for r in caplog.records if r.getMessage() == "tip floor fetch failed"]
        fields = fields_of(record)
        assert fields["kind"] == "malformed" and fields["percentile"] == 50
        assert fields["url"] == url and fields["failures"] == 1
        # The next poll succeeds.
        script.answer = script.good
        await trio.sleep(5.1)
        assert (floor.fetches, floor.successes, floor.lamports()) == (2, 1, 10_000)
        assert floor.last_error is None
        nursery.cancel_scope.cancel()


async def test_failures_keep_the_last_good_value(
    clients: HttpxClients, autojump_clock: trio.testing.MockClock
) -> None:
    async with scripted() as (script, url):
        floor = TipFloor(url, clients=clients, percentile=99, timeout_s=2.0)
        assert await floor.refresh()
        assert floor.lamports() == 10_007_999

        async def wrong_shape() -> Response:
            return Response.json(floor_doc(landed_tips_99th_percentile="lots"))

        async def server_error() -> Response:
            return Response.json({"error": "Internal Server Error"}, status=500)

        async def not_json() -> Response:
            return Response(body=b"\xff\xfe not json")

        async def stalls() -> Response:
            await trio.sleep_forever()
            raise AssertionError  # pragma: no cover

        async def reset() -> Response:
            return Response(reset=True)

        expected = [
            (wrong_shape, "malformed"),
            (server_error, "status"),
            (not_json, "malformed"),
            (stalls, "timeout"),
            (reset, "transport"),
        ]
        for n, (answer, kind) in enumerate(expected, start=1):
            script.answer = answer
            before = trio.current_time()
            assert not await floor.refresh()
            assert floor.failures == n
            assert floor.last_error is not None and floor.last_error.startswith(kind), (
                floor.last_error
            )
            assert floor.lamports() == 10_007_999
            assert trio.current_time() - before <= 2.0 + 1e-9  # bounded by timeout_s
        assert floor.successes == 1 and floor.fetches == len(expected) + 1


async def test_an_unreachable_endpoint_is_not_fatal(
    clients: HttpxClients, autojump_clock: trio.testing.MockClock
) -> None:
    async with scripted() as (_script, url):
        pass  # the server is gone: its port now refuses connections
    floor = TipFloor(url, clients=clients, percentile=50, interval_s=1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(floor.run)
        await trio.sleep(3.5)
        assert floor.fetches == 4 and floor.failures == 4 and floor.lamports() == 0
        assert floor.last_error is not None and floor.last_error.startswith("transport")
        nursery.cancel_scope.cancel()
