"""One HTTP call to a venue's API, its answer turned into the ``QuoteError`` family — the
same rules for every venue (the self-hosted Jupiter binary, DFlow, …):

* no answer in time → ``Timeout``; a connection refused, reset or not HTTP →
  ``TransportFailed``;
* 429 → ``RateLimited`` with the server's ``Retry-After`` (``retry-after-ms`` preferred);
* 5xx → ``ServerError``; a 4xx whose error code means "no route" → ``NoRoute``; any other
  → ``BadRequest``;
* a 2xx whose body is not the documented shape → ``Malformed`` (see :func:`malformed`,
  logged with its context).

Each venue says where its error code and message live in an error body (``error_fields``)
and which codes mean "no route".
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from galileo.model import (
    BODY_PREVIEW,
    BadRequest,
    LeaseKind,
    Malformed,
    MalformedBody,
    NoRoute,
    RateLimited,
    ServerError,
    Timeout,
    TransportFailed,
)
from galileo.net import (
    HttpResponse,
    QuoteTransport,
    TransportError,
    TransportTimeout,
    ip_label,
)

ErrorFields = Callable[[bytes], tuple[str, str]]
"""``body → (error code, message)`` of a venue's error answers (``""`` when absent)."""


async def venue_request(
    transport: QuoteTransport,
    ip: str,
    method: str,
    target: str,
    *,
    body: bytes | None,
    headers: Sequence[tuple[str, str]] = (),
    deadline: float,
    what: str,
    no_route_codes: Collection[str],
    error_fields: ErrorFields,
) -> HttpResponse:
    """Send the request from ``ip``; the 2xx response, or the ``QuoteError`` it amounts to.
    ``what`` names the call in error texts (``"dflow quote"``)."""
    try:
        response = await transport.request(
            ip, method, target, body=body, headers=headers, deadline=deadline
        )
    except TransportTimeout as exc:
        raise Timeout(f"{what} timed out: {exc}", ip=ip) from exc
    except TransportError as exc:
        raise TransportFailed(f"{what} failed ({exc.kind.value}): {exc}", ip=ip) from exc
    status = response.status
    if 200 <= status < 300:
        return response
    code, message = error_fields(response.body)
    kwargs: dict[str, Any] = {"ip": ip, "status": status, "body": response.body, "error_code": code}
    text = f"{what}: HTTP {status} {code} {message}".rstrip()
    if status == 429:
        raise RateLimited(text, retry_after=retry_after(response), **kwargs)
    if status >= 500:
        raise ServerError(text, **kwargs)
    if code in no_route_codes:
        raise NoRoute(text, **kwargs)
    raise BadRequest(text, **kwargs)


def retry_after(response: HttpResponse) -> float | None:
    """Seconds a 429 asks us to wait: ``retry-after-ms`` (milliseconds, sent by the simulated
    world and some APIs) when present, else ``Retry-After`` in seconds; ``None`` when neither
    is a number (an HTTP-date is not honoured: the doubling cooldown applies)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = response.header(name)
        if value is None:
            continue
        try:
            seconds = float(value.strip()) / scale
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def json_error_fields(code_key: str, *message_keys: str) -> ErrorFields:
    """An :data:`ErrorFields` reading ``code_key`` and the first of ``message_keys`` present
    from a JSON object body."""

    def fields(body: bytes) -> tuple[str, str]:
        try:
            data = json.loads(body)
        except ValueError:
            return "", ""
        if not isinstance(data, Mapping):
            return "", ""
        code = data.get(code_key)
        message = next((data[k] for k in message_keys if k in data), None)
        return (code if isinstance(code, str) else "", message if isinstance(message, str) else "")

    return fields


def malformed(
    log: logging.Logger,
    ip: str,
    what: str,
    response: HttpResponse,
    exc: MalformedBody,
    **context: str,
) -> Malformed:
    """Log a 2xx answer that is not the documented shape, with its context (a preview of
    the body, the field and why), and return the ``Malformed`` error to raise."""
    log.warning(
        "malformed response",
        extra={
            "fields": {
                **context,
                "endpoint": what,
                "ip": ip_label(ip),
                "local_ip": ip_label(ip),
                "ip_task_kind": (LeaseKind.QUOTE if what == "quote" else LeaseKind.SWAP).value,
                "status": response.status,
                "field": exc.field,
                "reason": exc.reason,
                "body": response.body[:BODY_PREVIEW].decode("utf-8", "replace"),
            }
        },
    )
    return Malformed(f"{what}: {exc}", ip=ip, status=response.status, body=response.body)
