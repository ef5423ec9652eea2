"""Provider-neutral counters of the leg providers, labelled by ``provider``, so every venue
on one registry shares the same metric families (latency is the recorder's ``leg_quote``
stage: ``galileo_leg_quote_latency_seconds{provider,ip}``)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter

LEG_QUOTE_STAGE = "leg_quote"
"""The recorder stage of a leg quote's latency (labels ``provider``, ``ip``)."""

_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, LegMetrics] = weakref.WeakKeyDictionary()


class LegMetrics:
    """``galileo_leg_quotes_total{provider,result}`` and
    ``galileo_leg_instructions_total{provider,result}``; ``result`` is ``ok`` or the
    :class:`~galileo.model.QuoteErrorKind` value of the failure.

    Use :meth:`on` to get the one instance of a registry (a metric name registers once per
    registry, and several providers count into it)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.quotes = Counter(
            "galileo_leg_quotes_total",
            "Leg quotes by provider and result (ok or the error kind).",
            ["provider", "result"],
            registry=registry,
        )
        self.instructions = Counter(
            "galileo_leg_instructions_total",
            "Leg /swap-instructions calls by provider and result (ok or the error kind).",
            ["provider", "result"],
            registry=registry,
        )

    @classmethod
    def on(cls, registry: CollectorRegistry) -> LegMetrics:
        """The metrics of ``registry``, created on first use."""
        metrics = _BY_REGISTRY.get(registry)
        if metrics is None:
            metrics = _BY_REGISTRY[registry] = cls(registry)
        return metrics
