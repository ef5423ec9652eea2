"""The Jupiter swap-API client of the quote path: ``quote`` and ``swap_instructions`` over a
:class:`galileo.net.QuoteTransport`, from an explicit source IP, with typed errors counted
per IP (``galileo_quote_errors_total{ip,kind}``).
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote as _urlquote

import attrs
import trio
from prometheus_client import CollectorRegistry, Counter, Histogram

from galileo._errors import GalileoError
from galileo.jupiter._models import MalformedBody, Quote, SwapInstructions
from galileo.net import HttpResponse, QuoteTransport, TransportError, TransportTimeout, ip_label
from galileo.obs import Recorder

_log = logging.getLogger("galileo.jupiter")

_NO_ROUTE_CODES = frozenset(
    {
        "NO_ROUTES_FOUND",
        "COULD_NOT_FIND_ANY_ROUTE",
        "ROUTE_PLAN_DOES_NOT_CONSUME_ALL_THE_AMOUNT",
        "MARKET_NOT_FOUND",
        "TOKEN_NOT_TRADABLE",
    }
)
_BODY_PREVIEW = 200


class QuoteErrorKind(enum.Enum):
    """Why a quote-path call failed. Values are the ``kind`` metric label."""

    NO_ROUTE = "no_route"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    TRANSPORT = "transport"
    BAD_REQUEST = "bad_request"


class QuoteError(GalileoError):
    """A /quote or /swap-instructions call failed; ``kind``, ``status`` (0 below HTTP),
    ``error_code`` (Jupiter's errorCode, if any), ``ip`` and a ``body`` preview say how."""

    kind: QuoteErrorKind = QuoteErrorKind.BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        ip: str = "",
        status: int = 0,
        body: bytes = b"",
        error_code: str = "",
    ) -> None:
        super().__init__(message)
        self.ip = ip
        self.status = status
        self.body = body[:_BODY_PREVIEW]
        self.error_code = error_code


class NoRoute(QuoteError):
    kind = QuoteErrorKind.NO_ROUTE


class RateLimited(QuoteError):
    kind = QuoteErrorKind.RATE_LIMITED


class ServerError(QuoteError):
    kind = QuoteErrorKind.SERVER_ERROR


class Timeout(QuoteError):
    kind = QuoteErrorKind.TIMEOUT


class Malformed(QuoteError):
    kind = QuoteErrorKind.MALFORMED


class TransportFailed(QuoteError):
    """Connect failure, reset, or a response that is not HTTP."""

    kind = QuoteErrorKind.TRANSPORT


class BadRequest(QuoteError):
    """Any other non-2xx answer (our request was refused)."""

    kind = QuoteErrorKind.BAD_REQUEST


class QuoteMetrics:
    """``galileo_quote_errors_total{ip,kind}``, and ``galileo_quote_latency_seconds{ip,leg}``
    when no Recorder provides it (``with_latency``)."""

    def __init__(self, registry: CollectorRegistry, *, with_latency: bool = True) -> None:
        self.errors = Counter(
            "galileo_quote_errors_total",
            "Failed Jupiter quote-path calls, by source IP and kind.",
            ["ip", "kind"],
            registry=registry,
        )
        self.latency: Histogram | None = None
        if with_latency:
            self.latency = Histogram(
                "galileo_quote_latency_seconds",
                "Jupiter /quote latency by source IP and leg.",
                ["ip", "leg"],
                registry=registry,
                buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2),
            )


@attrs.frozen
class QuoteOptions:
    """The per-leg /quote parameters that do not change between requests."""

    slippage_bps: int = 0
    max_accounts: int | None = None
    only_direct_routes: bool | None = None
    restrict_intermediate_tokens: bool | None = None
    dexes: tuple[str, ...] = ()
    exclude_dexes: tuple[str, ...] = ()
    swap_mode: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def query_suffix(self) -> str:
        parts = [f"slippageBps={self.slippage_bps}"]
        if self.swap_mode:
            parts.append(f"swapMode={self.swap_mode}")
        if self.max_accounts is not None:
            parts.append(f"maxAccounts={self.max_accounts}")
        if self.only_direct_routes is not None:
            parts.append(f"onlyDirectRoutes={str(self.only_direct_routes).lower()}")
        if self.restrict_intermediate_tokens is not None:
            value = str(self.restrict_intermediate_tokens).lower()
            parts.append(f"restrictIntermediateTokens={value}")
        if self.dexes:
            parts.append("dexes=" + _urlquote(",".join(self.dexes), safe=","))
        if self.exclude_dexes:
            parts.append("excludeDexes=" + _urlquote(",".join(self.exclude_dexes), safe=","))
        parts.extend(f"{_urlquote(k)}={_urlquote(v)}" for k, v in self.extra)
        return "&".join(parts)


class JupiterClient:
    """``quote`` / ``swap_instructions`` / ``tokens`` against one Jupiter API.

    Every call names the source IP (an :class:`~galileo.net.IpLease`'s ``ip``) and has a
    deadline (absolute, trio clock; default now + ``default_timeout`` seconds). Failures
    raise a :class:`QuoteError` subclass and are counted per IP; a malformed body is also
    logged with its context.
    """

    def __init__(
        self,
        transport: QuoteTransport,
        *,
        metrics: QuoteMetrics | None = None,
        recorder: Recorder | None = None,
        default_timeout: float = 2.0,
    ) -> None:
        self._transport = transport
        self._metrics = metrics
        self._recorder = recorder
        self._timeout = default_timeout
        self._suffixes: dict[QuoteOptions, str] = {}
        if recorder is not None:
            recorder.declare_stage(
                "quote", labels=("ip", "leg"), doc="Jupiter /quote latency by source IP and leg."
            )

    @property
    def transport(self) -> QuoteTransport:
        return self._transport

    async def quote(
        self,
        *,
        ip: str,
        input_mint: str,
        output_mint: str,
        amount: int,
        options: QuoteOptions = QuoteOptions(),
        leg: str = "quote",
        deadline: float | None = None,
    ) -> Quote:
        """GET /quote from ``ip``. ``leg`` labels the latency metric (buy / sell)."""
        suffix = self._suffixes.get(options)
        if suffix is None:
            suffix = self._suffixes[options] = options.query_suffix()
        target = (
            f"/quote?inputMint={input_mint}&outputMint={output_mint}&amount={int(amount)}&{suffix}"
        )
        started = trio.current_time()
        response = await self._call(ip, "GET", target, None, deadline, "quote")
        received = trio.current_time()
        self._observe_latency(ip, leg, received - started)
        try:
            return Quote.parse(response.body, received_at=received)
        except MalformedBody as exc:
            raise self._malformed(ip, "quote", response, exc) from exc

    async def swap_instructions(
        self,
        *,
        ip: str,
        user_public_key: str,
        quote_response: Quote | Mapping[str, Any] | bytes,
        options: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> SwapInstructions:
        """POST /swap-instructions from ``ip``. ``quote_response`` is sent unchanged: a
        :class:`Quote` as its raw bytes, a dict (e.g. a merged circular quote) as JSON.
        ``options`` are extra camelCase body fields (wrapAndUnwrapSol, …)."""
        if isinstance(quote_response, Quote):
            raw_quote = quote_response.raw
        elif isinstance(quote_response, bytes):
            raw_quote = quote_response
        else:
            raw_quote = json.dumps(quote_response, separators=(",", ":")).encode()
        head = {"userPublicKey": user_public_key, **(options or {})}
        encoded = json.dumps(head, separators=(",", ":")).encode()
        # Splice the raw quote in verbatim rather than re-encoding it.
        body = encoded[:-1] + b',"quoteResponse":' + raw_quote + b"}"
        started = trio.current_time()
        response = await self._call(
            ip, "POST", "/swap-instructions", body, deadline, "instructions"
        )
        if self._recorder is not None:
            self._recorder.observe("instructions", trio.current_time() - started)
        try:
            return SwapInstructions.parse(response.body)
        except MalformedBody as exc:
            raise self._malformed(ip, "swap-instructions", response, exc) from exc

    async def tokens(self, *, ip: str = "", deadline: float | None = None) -> list[str]:
        """GET /tokens: every mint the API can route (needs --enable-tokens)."""
        response = await self._call(ip, "GET", "/tokens", None, deadline, "tokens")
        try:
            data = json.loads(response.body)
        except ValueError as exc:
            raise self._malformed(ip, "tokens", response, MalformedBody("body", str(exc))) from exc
        if not isinstance(data, list) or not all(isinstance(m, str) for m in data):
            raise self._malformed(
                ip, "tokens", response, MalformedBody("body", "expected a list of mints")
            )
        return data

    # -- internals ---------------------------------------------------------------------------

    def _observe_latency(self, ip: str, leg: str, seconds: float) -> None:
        if self._recorder is not None:
            self._recorder.observe("quote", seconds, ip=ip_label(ip), leg=leg)
        elif self._metrics is not None and self._metrics.latency is not None:
            self._metrics.latency.labels(ip_label(ip), leg).observe(seconds)

    async def _call(
        self,
        ip: str,
        method: str,
        target: str,
        body: bytes | None,
        deadline: float | None,
        what: str,
    ) -> HttpResponse:
        if deadline is None:
            deadline = trio.current_time() + self._timeout
        try:
            response = await self._transport.request(
                ip, method, target, body=body, deadline=deadline
            )
        except TransportTimeout as exc:
            raise self._count(Timeout(f"{what} timed out: {exc}", ip=ip)) from exc
        except TransportError as exc:
            raise self._count(
                TransportFailed(f"{what} failed ({exc.kind.value}): {exc}", ip=ip)
            ) from exc
        status = response.status
        if 200 <= status < 300:
            return response
        error_code, message = _error_fields(response.body)
        kwargs: dict[str, Any] = {
            "ip": ip,
            "status": status,
            "body": response.body,
            "error_code": error_code,
        }
        text = f"{what}: HTTP {status} {error_code} {message}".rstrip()
        if status == 429:
            raise self._count(RateLimited(text, **kwargs))
        if status >= 500:
            raise self._count(ServerError(text, **kwargs))
        if error_code in _NO_ROUTE_CODES:
            raise self._count(NoRoute(text, **kwargs))
        raise self._count(BadRequest(text, **kwargs))

    def _count(self, error: QuoteError) -> QuoteError:
        if self._metrics is not None:
            self._metrics.errors.labels(ip_label(error.ip), error.kind.value).inc()
        return error

    def _malformed(
        self, ip: str, what: str, response: HttpResponse, exc: MalformedBody
    ) -> QuoteError:
        _log.warning(
            "malformed response",
            extra={
                "fields": {
                    "endpoint": what,
                    "ip": ip_label(ip),
                    "status": response.status,
                    "field": exc.field,
                    "reason": exc.reason,
                    "body": response.body[:_BODY_PREVIEW].decode("utf-8", "replace"),
                }
            },
        )
        return self._count(
            Malformed(f"{what}: {exc}", ip=ip, status=response.status, body=response.body)
        )


def _error_fields(body: bytes) -> tuple[str, str]:
    try:
        data = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    code = data.get("errorCode")
    message = data.get("error")
    return (code if isinstance(code, str) else "", message if isinstance(message, str) else "")


def no_route_codes() -> Sequence[str]:
    """errorCodes treated as "no route" (a normal skip, not an API failure)."""
    return sorted(_NO_ROUTE_CODES)
