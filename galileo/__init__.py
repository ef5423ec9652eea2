"""galileo — a self-hosted Solana arbitrage bot around the Jupiter swap API.

The public surface is small on purpose; everything else lives in private modules. One hop
from each stage of the data flow to its module (docs/architecture.md has the same map):

====================  ===========================================================
configuration         ``galileo._config`` (schema), ``galileo._config_load``
process lifecycle     ``galileo._app.App``
composition root      ``galileo.pipeline`` (``Pipeline.build``, ``Pipeline.run``)
status and summary    ``galileo._run_report`` (``RunStatus``, ``RunSummary``)
values between stages ``galileo.model`` (leaf: ``QuoteBatch``, ``LegQuote``,
                      ``Opportunity``, ``BuiltTx``/``TxSkip``, ``LandingOutcome`` …)
source IPs, leases    ``galileo.net`` (``IpInventory``, ``IpAllocator``)
what to quote         ``galileo.strategy`` (``BlindStrategy`` → ``QuoteBatch``)
quote a leg           ``galileo.providers`` (``JupiterClient``, a ``LegProvider``)
evaluate (profit)     ``galileo.engine`` (``Dispatcher``, ``Evaluator``) over ``galileo._fast``
risk                  ``galileo.risk`` (``RiskGate``, pause/resume/stop)
build and sign        ``galileo.tx`` (``TxBuilder`` → ``BuiltTx`` | ``TxSkip``)
send and land         ``galileo.landers`` (``Landers``, ``LandingTracker``)
one attempt           ``galileo.execution`` (``Executor``)
PnL ledger            ``galileo.ledger``
observability         ``galileo.obs`` (``Observability``, ``Recorder``, ``EventTrace``)
the Jupiter binary    ``galileo.jupiter_binary`` (install, launch, ``JupiterSupervisor``)
the simulated world   ``galileo.sim`` (``World``)
command line          ``galileo.cli``
====================  ===========================================================
"""

from __future__ import annotations

from galileo._errors import ConfigError, ConfigErrors, GalileoError
from galileo._fast import backend as fast_backend

__version__ = "0.1.0"

__all__ = ["ConfigError", "ConfigErrors", "GalileoError", "__version__", "fast_backend"]
