"""The DFlow swap-API client: a :class:`~galileo.model.LegProvider` for one leg of a
cross-venue trade (``GET /quote`` and ``POST /swap-instructions`` over a
:class:`galileo.net.QuoteTransport`, from an explicit source IP).

DFlow does not route circular trades, so it only ever quotes one leg of a pair; the other leg
comes from another venue and the two swaps share one transaction (two-swap mode).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote as _urlquote

import attrs
import trio
from prometheus_client import CollectorRegistry

from galileo._config import NetworkConfig
from galileo._secret import Secret
from galileo.model import (
    BadRequest,
    LegQuote,
    Malformed,
    MalformedBody,
    Provider,
    QuoteError,
    SwapInstructions,
)
from galileo.net import (
    HttpResponse,
    QuoteTransport,
    ip_label,
    make_transport,
)
from galileo.obs import Recorder
from galileo.providers._dflow_wire import (
    DflowQuote,
    parse_dflow_swap_instructions,
    quote_with_floor,
)
from galileo.providers._leg_metrics import LEG_QUOTE_STAGE, LegMetrics
from galileo.providers._venue_http import json_error_fields, malformed, venue_request

_log = logging.getLogger("galileo.dflow")

DFLOW_URL = "https://quote-api.dflow.net"
"""DFlow's hosted swap API."""

API_KEY_HEADER = "x-api-key"

NO_ROUTE_CODES = frozenset({"route_not_found", "price_impact_too_high", "zero_out_amount"})
"""DFlow error codes that mean "no usable route" (a normal skip, not an API failure)."""

SWAP_INSTRUCTIONS_OPTIONS: dict[str, Any] = {
    # The wallet's token accounts exist already (see galileo.tx.TokenAccounts).
    "wrapAndUnwrapSol": False,
    # An estimate instead of the 1.4M ceiling; the builder adds its margin on top.
    "dynamicComputeUnitLimit": True,
    # The builder sets the compute-unit price itself; DFlow's default would be "auto".
    "prioritizationFeeLamports": "disabled",
}
"""Body fields of every /swap-instructions call besides quoteResponse and userPublicKey."""


@attrs.frozen
class DflowQuoteOptions:
    """The /quote parameters that do not change between requests."""

    slippage_bps: int = 0
    dexes: tuple[str, ...] = ()
    exclude_dexes: tuple[str, ...] = ()
    only_direct_routes: bool | None = None
    max_route_length: int | None = None

    def query_suffix(self) -> str:
        parts = [f"slippageBps={self.slippage_bps}"]
        if self.dexes:
            parts.append("dexes=" + _urlquote(",".join(self.dexes), safe=","))
        if self.exclude_dexes:
            parts.append("excludeDexes=" + _urlquote(",".join(self.exclude_dexes), safe=","))
        if self.only_direct_routes is not None:
            parts.append(f"onlyDirectRoutes={str(self.only_direct_routes).lower()}")
        if self.max_route_length is not None:
            parts.append(f"maxRouteLength={self.max_route_length}")
        return "&".join(parts)


class DflowClient:
    """The :class:`~galileo.model.LegProvider` of DFlow's swap API.

    Every call names the source IP and has a deadline (absolute, trio clock; default now +
    ``default_timeout``). Failures raise a :class:`~galileo.model.QuoteError` subclass; a
    malformed body is also logged with its context. ``api_key`` (optional) goes out as the
    ``x-api-key`` header and nowhere else. Quotes count into ``galileo_leg_quotes_total``
    and their latency into the recorder's ``leg_quote`` stage
    (``galileo_leg_quote_latency_seconds{provider,ip}``).
    """

    def __init__(
        self,
        transport: QuoteTransport,
        *,
        api_key: Secret | None = None,
        metrics: LegMetrics | None = None,
        recorder: Recorder | None = None,
        options: DflowQuoteOptions | None = None,
        default_timeout: float = 2.0,
    ) -> None:
        self._transport = transport
        self._api_key = api_key if api_key else None
        self._metrics = metrics if metrics is not None else LegMetrics(CollectorRegistry())
        self._recorder = recorder if recorder is not None else Recorder()
        self._suffix = (options or DflowQuoteOptions()).query_suffix()
        self._timeout = default_timeout
        self._recorder.declare_stage(
            LEG_QUOTE_STAGE,
            labels=("provider", "ip"),
            doc="Leg quote latency by provider and source IP.",
        )

    @classmethod
    def for_url(
        cls,
        url: str = DFLOW_URL,
        *,
        network_config: NetworkConfig,
        registry: CollectorRegistry,
        recorder: Recorder | None = None,
        api_key: Secret | None = None,
        options: DflowQuoteOptions | None = None,
    ) -> DflowClient:
        """A client of the API at ``url`` over the transport ``network_config`` names (httpx
        for an https URL: the fast transport speaks plain http only), with ``network``'s
        timeouts, metrics on ``registry`` (and the latency on ``recorder``, else on a recorder
        of ``registry``). The client owns the transport: :meth:`aclose` closes it."""
        kind = "httpx" if url.startswith("https://") else network_config.transport
        transport = make_transport(
            kind,
            url,
            connect_timeout=network_config.connect_timeout_ms / 1000,
            max_connections_per_ip=network_config.max_inflight_per_ip,
        )
        return cls(
            transport,
            api_key=api_key,
            metrics=LegMetrics.on(registry),
            recorder=recorder if recorder is not None else Recorder(registry),
            options=options,
            default_timeout=network_config.request_timeout_ms / 1000,
        )

    @property
    def provider(self) -> Provider:
        return Provider.DFLOW

    @property
    def transport(self) -> QuoteTransport:
        return self._transport

    async def aclose(self) -> None:
        await self._transport.aclose()

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
    ) -> DflowQuote:
        """GET /quote from ``ip`` (``leg`` is not a label of DFlow's metrics)."""
        target = (
            f"/quote?inputMint={input_mint}&outputMint={output_mint}"
            f"&amount={int(amount)}&{self._suffix}"
        )
        try:
            started = trio.current_time()
            response = await self._call(ip, "GET", target, None, deadline, "quote")
            received = trio.current_time()
            self._recorder.observe(
                LEG_QUOTE_STAGE, received - started, provider=Provider.DFLOW.value, ip=ip_label(ip)
            )
            try:
                quote = DflowQuote.parse(response.body, received_at=received)
            except MalformedBody as exc:
                raise self._malformed(ip, "quote", response, exc) from exc
        except QuoteError as exc:
            self._metrics.quotes.labels(Provider.DFLOW.value, exc.kind.value).inc()
            raise
        self._metrics.quotes.labels(Provider.DFLOW.value, "ok").inc()
        return quote

    async def leg_instructions(
        self, *, ip: str, quote: LegQuote, min_out: int, user_public_key: str, deadline: float
    ) -> SwapInstructions:
        """POST /swap-instructions for ``quote`` with its floor raised to ``min_out``."""
        head = {"userPublicKey": user_public_key, **SWAP_INSTRUCTIONS_OPTIONS}
        body = {**head, "quoteResponse": quote_with_floor(_own(quote), min_out)}
        try:
            started = trio.current_time()
            response = await self._call(
                ip,
                "POST",
                "/swap-instructions",
                json.dumps(body, separators=(",", ":")).encode(),
                deadline,
                "swap-instructions",
            )
            self._recorder.observe("instructions", trio.current_time() - started)
            try:
                answer = parse_dflow_swap_instructions(response.body)
            except MalformedBody as exc:
                raise self._malformed(ip, "swap-instructions", response, exc) from exc
        except QuoteError as exc:
            self._metrics.instructions.labels(Provider.DFLOW.value, exc.kind.value).inc()
            raise
        self._metrics.instructions.labels(Provider.DFLOW.value, "ok").inc()
        return answer

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
        """Refused: DFlow quotes no same-mint (circular) routes, so it cannot merge two legs
        into one; use two-swap mode (:meth:`leg_instructions` per leg)."""
        raise BadRequest("DFlow does not route circular trades: use two-swap mode", ip=ip)

    # -- internals ---------------------------------------------------------------------------

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
        # Revealed here only, for the header: the key is kept (and shown) as a Secret.
        headers = ((API_KEY_HEADER, self._api_key.reveal()),) if self._api_key else ()
        return await venue_request(
            self._transport,
            ip,
            method,
            target,
            body=body,
            headers=headers,
            deadline=deadline,
            what=f"dflow {what}",
            no_route_codes=NO_ROUTE_CODES,
            error_fields=_error_fields,
        )

    def _malformed(
        self, ip: str, what: str, response: HttpResponse, exc: MalformedBody
    ) -> QuoteError:
        error = malformed(_log, ip, what, response, exc, provider=Provider.DFLOW.value)
        return Malformed(f"dflow {error}", ip=ip, status=response.status, body=response.body)


_error_fields = json_error_fields("code", "msg", "error")
"""DFlow's error bodies are ``{msg, code}``; ``error`` is read too (Jupiter-style gateways
and the simulated world send it)."""


def _own(quote: LegQuote) -> DflowQuote:
    """A leg DFlow quoted (only its own quotes carry the raw body it sends back)."""
    if not isinstance(quote, DflowQuote):
        raise TypeError(f"a {quote.provider} leg cannot be sent to DFlow's /swap-instructions")
    return quote
