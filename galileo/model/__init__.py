"""The values every stage exchanges — a leaf package: attrs classes, enums and two protocols,
no I/O, importing nothing of galileo but the error root.

Flow: the strategy plans a :class:`QuoteBatch`; a :class:`LegProvider` quotes its legs
(:class:`LegQuote`) from an IP leased for a :class:`LeaseKind`; the engine evaluates them into
an :class:`Opportunity` or a :class:`BatchOutcome`; the builder turns an opportunity plus
:class:`SwapInstructions` into a :class:`BuiltTx` or a :class:`TxSkip`; landers answer with
:class:`LanderResult` values and the tracker with a :class:`LandingOutcome`; the ledger keeps
each attempt's :class:`AttemptStatus`.
"""

from galileo.model._errors import (
    BODY_PREVIEW,
    BadRequest,
    Malformed,
    MalformedBody,
    NoRoute,
    QuoteError,
    QuoteErrorKind,
    RateLimited,
    ServerError,
    Timeout,
    TransportFailed,
)
from galileo.model._landing import (
    AttemptStatus,
    LanderOutcome,
    LanderResult,
    LandingOutcome,
    LandingStatus,
)
from galileo.model._lease import LeaseKind, LeaseResult
from galileo.model._legs import AccountMeta, Instruction, LegQuote, Provider, SwapInstructions
from galileo.model._opportunity import BatchOutcome, Opportunity, QuoteBatch
from galileo.model._provider import LegProvider
from galileo.model._readiness import ReadinessGate
from galileo.model._tx import BuiltTx, RouteMode, TxSkip, TxSkipReason

__all__ = [
    "BODY_PREVIEW",
    "AccountMeta",
    "AttemptStatus",
    "BadRequest",
    "BatchOutcome",
    "BuiltTx",
    "Instruction",
    "LanderOutcome",
    "LanderResult",
    "LandingOutcome",
    "LandingStatus",
    "LeaseKind",
    "LeaseResult",
    "LegProvider",
    "LegQuote",
    "Malformed",
    "MalformedBody",
    "NoRoute",
    "Opportunity",
    "Provider",
    "QuoteBatch",
    "QuoteError",
    "QuoteErrorKind",
    "RateLimited",
    "ReadinessGate",
    "RouteMode",
    "ServerError",
    "SwapInstructions",
    "Timeout",
    "TransportFailed",
    "TxSkip",
    "TxSkipReason",
]
