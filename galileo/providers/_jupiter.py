"""The Jupiter swap-API client of the quote path: ``quote`` and ``swap_instructions`` over a
:class:`galileo.net.QuoteTransport`, from an explicit source IP, with typed errors counted
per IP (``galileo_quote_errors_total{ip,kind}``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote as _urlquote

import attrs
import trio
from prometheus_client import CollectorRegistry, Counter

from galileo._config import Config
from galileo.model import (
    LegQuote,
    MalformedBody,
    Provider,
    QuoteError,
    SwapInstructions,
)
from galileo.net import HttpResponse, QuoteTransport, ip_label
from galileo.obs import Recorder
from galileo.providers._jupiter_wire import (
    Quote,
    circular_quote,
    leg_quote_with_floor,
    parse_swap_instructions,
)
from galileo.providers._venue_http import json_error_fields, malformed, venue_request

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

SWAP_INSTRUCTIONS_OPTIONS: dict[str, Any] = {
    "wrapAndUnwrapSol": False,
    "useSharedAccounts": False,
    "skipUserAccountsRpcCalls": True,
    # The API estimates the route's compute units instead of answering the 1.4M ceiling;
    # the builder adds its margin on top and prices the fee from the result.
    "dynamicComputeUnitLimit": True,
}
"""Body fields of every /swap-instructions call the builder makes (the token accounts exist
already, see :class:`~galileo.tx.TokenAccounts`)."""


class QuoteMetrics:
    """``galileo_quote_errors_total{ip,kind}`` (latency is the recorder's ``quote`` stage:
    ``galileo_quote_latency_seconds{ip,leg}``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.errors = Counter(
            "galileo_quote_errors_total",
            "Failed Jupiter quote-path calls, by source IP and kind.",
            ["ip", "kind"],
            registry=registry,
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
    """``quote`` / ``swap_instructions`` / ``tokens`` against one Jupiter API, and the
    :class:`~galileo.model.LegProvider` of the self-hosted binary.

    Every call names the source IP (an :class:`~galileo.net.IpLease`'s ``ip``) and has a
    deadline (absolute, trio clock; default now + ``default_timeout`` seconds). Failures
    raise a :class:`~galileo.model.QuoteError` subclass and are counted per IP; a malformed
    body is also logged with its context. ``options`` are the /quote parameters of
    :meth:`quote_leg`. Without ``metrics``/``recorder`` the client counts into a registry of
    its own (nothing is exported).
    """

    def __init__(
        self,
        transport: QuoteTransport,
        *,
        metrics: QuoteMetrics | None = None,
        recorder: Recorder | None = None,
        options: QuoteOptions | None = None,
        default_timeout: float = 2.0,
    ) -> None:
        self._transport = transport
        self._metrics = metrics if metrics is not None else QuoteMetrics(CollectorRegistry())
        self._recorder = recorder if recorder is not None else Recorder()
        self._options = options if options is not None else QuoteOptions()
        self._timeout = default_timeout
        self._suffixes: dict[QuoteOptions, str] = {}
        self._recorder.declare_stage(
            "quote", labels=("ip", "leg"), doc="Jupiter /quote latency by source IP and leg."
        )

    @classmethod
    def for_config(
        cls,
        config: Config,
        transport: QuoteTransport,
        *,
        registry: CollectorRegistry,
        recorder: Recorder | None = None,
    ) -> JupiterClient:
        """The quote-path client ``config`` describes (the blind strategy's /quote
        parameters, the network's request timeout), metrics on ``registry``."""
        blind = config.strategy.blind
        return cls(
            transport,
            metrics=QuoteMetrics(registry),
            recorder=recorder,
            options=QuoteOptions(
                slippage_bps=blind.slippage_bps,
                max_accounts=blind.max_accounts,
                only_direct_routes=blind.only_direct_routes,
                restrict_intermediate_tokens=blind.restrict_intermediate_tokens,
                dexes=tuple(blind.dexes),
                exclude_dexes=tuple(blind.exclude_dexes),
            ),
            default_timeout=config.network.request_timeout_ms / 1000,
        )

    @property
    def provider(self) -> Provider:
        return Provider.JUPITER

    @property
    def transport(self) -> QuoteTransport:
        return self._transport

    # -- the LegProvider seam ----------------------------------------------------------------

    async def quote_leg(
        self,
        *,
        ip: str,
        input_mint: str,
        output_mint: str,
        amount: int,
        leg: str,
        deadline: float,
    ) -> Quote:
        return await self.quote(
            ip=ip,
            input_mint=input_mint,
            output_mint=output_mint,
            amount=amount,
            options=self._options,
            leg=leg,
            deadline=deadline,
        )

    async def leg_instructions(
        self, *, ip: str, quote: LegQuote, min_out: int, user_public_key: str, deadline: float
    ) -> SwapInstructions:
        return await self.swap_instructions(
            ip=ip,
            user_public_key=user_public_key,
            quote_response=leg_quote_with_floor(_own(quote), min_out),
            options=SWAP_INSTRUCTIONS_OPTIONS,
            deadline=deadline,
        )

    async def round_trip_instructions(
        self,
        *,
        ip: str,
        buy: LegQuote,
        sell: LegQuote,
        min_out: int,
        user_public_key: str,
        deadline: float,
    ) -> SwapInstructions:
        return await self.swap_instructions(
            ip=ip,
            user_public_key=user_public_key,
            quote_response=circular_quote(_own(buy), _own(sell), min_out),
            options=SWAP_INSTRUCTIONS_OPTIONS,
            deadline=deadline,
        )

    # -- the API -----------------------------------------------------------------------------

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
        self._recorder.observe("instructions", trio.current_time() - started)
        try:
            return parse_swap_instructions(response.body)
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
        self._recorder.observe("quote", seconds, ip=ip_label(ip), leg=leg)

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
            return await venue_request(
                self._transport,
                ip,
                method,
                target,
                body=body,
                deadline=deadline,
                what=what,
                no_route_codes=_NO_ROUTE_CODES,
                error_fields=_error_fields,
            )
        except QuoteError as exc:
            raise self._count(exc) from exc.__cause__

    def _count(self, error: QuoteError) -> QuoteError:
        self._metrics.errors.labels(ip_label(error.ip), error.kind.value).inc()
        return error

    def _malformed(
        self, ip: str, what: str, response: HttpResponse, exc: MalformedBody
    ) -> QuoteError:
        return self._count(malformed(_log, ip, what, response, exc))


_error_fields = json_error_fields("errorCode", "error")
"""Jupiter's error bodies: ``{"error": message, "errorCode": code}``."""


def no_route_codes() -> Sequence[str]:
    """errorCodes treated as "no route" (a normal skip, not an API failure)."""
    return sorted(_NO_ROUTE_CODES)


def _own(quote: LegQuote) -> Quote:
    """A leg this provider quoted (only its own quotes carry the raw body it sends back)."""
    if not isinstance(quote, Quote):
        raise TypeError(f"a {quote.provider} leg cannot be sent to Jupiter's /swap-instructions")
    return quote
