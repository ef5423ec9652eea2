"""The one JSON-RPC client: calls and batches, error envelopes, HTTP and transport failures,
deadlines, and URLs with tokens kept out of labels and error texts."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from galileo._secret import Secret
from galileo.net import HttpxClients, JsonRpcClient, RpcError, RpcTimeout

TOKEN = "SECRET-TOKEN-123456"
URL = f"https://rpc.example.com/?api-key={TOKEN}"

Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


def rpc(handler: Handler, **kwargs: Any) -> JsonRpcClient:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return JsonRpcClient(Secret(URL), client=client, **kwargs)


async def echo(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if isinstance(body, dict):
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": body})
    answers = [{"jsonrpc": "2.0", "id": c["id"], "result": c["method"]} for c in body]
    return httpx.Response(200, json=list(reversed(answers)))  # any order: matched by id


async def test_a_call_sends_one_request_and_returns_its_result() -> None:
    result = await rpc(echo).call("getBlockHeight", [{"commitment": "confirmed"}])
    assert result["method"] == "getBlockHeight"
    assert result["params"] == [{"commitment": "confirmed"}]
    assert result["jsonrpc"] == "2.0"


async def test_a_batch_returns_the_results_in_order() -> None:
    got = await rpc(echo).batch([("a", []), ("b", [1]), ("c", [])])
    assert got == ["a", "b", "c"]


async def test_an_error_envelope_is_an_rpc_error_with_code_and_data() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        error = {"code": -32002, "message": f"bad {URL}", "data": {"logs": ["x"]}}
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": None, "error": error})

    with pytest.raises(RpcError) as caught:
        await rpc(handler).call("sendTransaction", ["AA=="])
    err = caught.value
    assert err.method == "sendTransaction" and err.code == -32002 and err.status == 200
    assert err.data == {"logs": ["x"]}
    assert TOKEN not in str(err) and TOKEN not in err.message


async def test_an_http_error_status_is_an_rpc_error_with_the_status() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="busy")

    with pytest.raises(RpcError) as caught:
        await rpc(handler).call("getHealth")
    assert caught.value.status == 503 and caught.value.code is None
    assert caught.value.message == "HTTP 503"


async def test_a_malformed_answer_is_an_rpc_error() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>")

    with pytest.raises(RpcError, match="not JSON"):
        await rpc(handler).call("getHealth")


async def test_a_transport_failure_is_scrubbed_of_the_token() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url} ({TOKEN})")

    with pytest.raises(RpcError) as caught:
        await rpc(handler).call("getHealth")
    assert not isinstance(caught.value, RpcTimeout)
    assert "ConnectError" in caught.value.message and TOKEN not in str(caught.value)


async def test_every_call_has_a_deadline(autojump_clock: trio.testing.MockClock) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await trio.sleep_forever()
        raise AssertionError

    slow = rpc(handler, timeout_s=3.0)
    start = trio.current_time()
    with pytest.raises(RpcTimeout):
        await slow.call("getHealth")
    assert trio.current_time() - start == pytest.approx(3.0)
    with pytest.raises(RpcTimeout) as caught:
        await slow.call("getHealth", timeout_s=0.5)
    assert isinstance(caught.value, RpcError) and caught.value.method == "getHealth"


async def test_on_ip_sends_on_the_shared_client_for_that_ip() -> None:
    async with HttpxClients() as clients:
        client = JsonRpcClient.on_ip(URL, clients=clients, ip="")
        assert client._client is clients.get("")
        await client.aclose()  # not its client: still usable
        assert not clients.get("").is_closed


def test_the_label_is_the_redacted_url() -> None:
    client = JsonRpcClient(Secret(URL))
    assert client.label == "https://rpc.example.com/***"
    assert TOKEN not in repr(client.label)


async def test_headers_are_sent_with_every_request_and_scrubbed_from_errors() -> None:
    auth = "AUTH-UUID-0123456789"
    seen: list[str | None] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-jito-auth"))
        error = {"code": -32097, "message": f"rate limited for {auth}"}
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "error": error})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    jito = JsonRpcClient(URL, client=client, headers={"x-jito-auth": auth})
    with pytest.raises(RpcError) as caught:
        await jito.call("getInflightBundleStatuses", [["b"]])
    assert seen == [auth] and caught.value.code == -32097
    assert auth not in str(caught.value)
