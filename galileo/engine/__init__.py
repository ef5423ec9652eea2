"""The quote engine: per-IP workers quoting buy+sell batches, the profit evaluation, and
the hand-off of each profitable pair to the execution stage (docs/quote-engine.md)."""

from galileo.engine._dispatcher import Dispatcher, LegPair
from galileo.engine._engine import QuoteEngine
from galileo.engine._evaluate import DEFAULT_COMPUTE_UNIT_LIMIT, Evaluator
from galileo.engine._metrics import EngineMetrics
from galileo.engine._models import EngineStats, IpStats

__all__ = [
    "DEFAULT_COMPUTE_UNIT_LIMIT",
    "Dispatcher",
    "EngineMetrics",
    "EngineStats",
    "Evaluator",
    "IpStats",
    "LegPair",
    "QuoteEngine",
]
