"""Errors of a venue call (quote, instructions), the same for every provider.

``kind`` is the ``kind`` metric label; the engine maps each class to a batch outcome;
``lease_result`` is what the failure says about the source IP it was sent from (its
cooldown class).
"""

from __future__ import annotations

import enum
from typing import ClassVar

from galileo._errors import GalileoError
from galileo.model._lease import LeaseResult

BODY_PREVIEW = 200
"""Bytes of a failed answer kept on the error (and logged)."""


class MalformedBody(GalileoError, ValueError):
    """A response body does not have the documented shape. ``field`` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


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
    """A quote or instructions call failed; ``kind``, ``status`` (0 below HTTP),
    ``error_code`` (the venue's errorCode, if any), ``ip`` and a ``body`` preview say how.
    ``retry_after``: seconds the venue asked us to wait (a 429's Retry-After), if it did."""

    kind: QuoteErrorKind = QuoteErrorKind.BAD_REQUEST
    lease_result: ClassVar[LeaseResult] = LeaseResult.ERROR
    """A refused request or a malformed body is not the IP's fault: no cooldown."""

    def __init__(
        self,
        message: str,
        *,
        ip: str = "",
        status: int = 0,
        body: bytes = b"",
        error_code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.ip = ip
        self.status = status
        self.body = body[:BODY_PREVIEW]
        self.error_code = error_code
        self.retry_after = retry_after


class NoRoute(QuoteError):
    kind = QuoteErrorKind.NO_ROUTE
    lease_result = LeaseResult.SUCCESS  # the venue answered; the IP is healthy


class RateLimited(QuoteError):
    kind = QuoteErrorKind.RATE_LIMITED
    lease_result = LeaseResult.RATE_LIMITED


class ServerError(QuoteError):
    kind = QuoteErrorKind.SERVER_ERROR
    lease_result = LeaseResult.SERVER_ERROR


class Timeout(QuoteError):
    kind = QuoteErrorKind.TIMEOUT
    lease_result = LeaseResult.TIMEOUT


class Malformed(QuoteError):
    kind = QuoteErrorKind.MALFORMED


class TransportFailed(QuoteError):
    """Connect failure, reset, or a response that is not HTTP."""

    kind = QuoteErrorKind.TRANSPORT
    lease_result = LeaseResult.CONNECT_ERROR  # no answer


class BadRequest(QuoteError):
    """Any other non-2xx answer (our request was refused)."""

    kind = QuoteErrorKind.BAD_REQUEST
