"""``galileo run``: the bot, until Ctrl-C / SIGTERM or ``--duration`` seconds.

Before anything starts, the configuration is checked like ``config check`` does (the file and
this machine); one that cannot run exits 2 with a line per problem. A failure after that (the
run's summary is still written) becomes one line and its exit code in
:mod:`galileo.cli._failures`.
"""

from __future__ import annotations

import argparse
import sys

from galileo.cli._common import EXIT_OK, EXIT_USAGE, Subparsers, add_config_argument, load_or_report


def register(subparsers: Subparsers) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the bot (default target: the simulated world)",
        description="Run the bot until Ctrl-C / SIGTERM, or for --duration seconds, then print "
        "a summary. With no configuration it targets the embedded simulated world. While it "
        "runs, /metrics, /health and /status are served on metrics.host:metrics.port. Exit "
        "codes: 0 stopped as asked, 1 failed, 2 the configuration cannot run, 3 Jupiter could "
        "not be kept running (see docs/cli.md).",
    )
    add_config_argument(run)
    run.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="trade this many seconds, then drain and stop (a run still starting after this "
        "many seconds stops then)",
    )
    run.add_argument("--summary-json", metavar="PATH", help="also write the summary here")
    run.add_argument("--seed", type=int, help="seed of the simulated world (sim.seed)")
    run.add_argument(
        "--dry-run", action="store_true", help="build and sign but never send (risk.dry_run)"
    )
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.duration is not None and not 0 < args.duration < float("inf"):
        print("galileo run: --duration: must be a positive number of seconds", file=sys.stderr)
        return EXIT_USAGE
    if args.seed is not None and args.seed < 0:
        print("galileo run: --seed: must not be negative", file=sys.stderr)
        return EXIT_USAGE
    config = load_or_report(args.config, host_checks=True)
    if config is None:
        return EXIT_USAGE
    # Imported once the configuration is known to run: a refusal stays quick.
    import attrs
    import trio

    from galileo._app import App, RunOptions
    from galileo.tx import Wallet

    # The configured wallet is opened before anything starts: a keystore's passphrase is read
    # (or asked for) now, and a wrong one exits 2 at once.
    wallet = Wallet.load(config.wallet) if config.wallet.keypair_path else None
    if args.seed is not None:
        config = attrs.evolve(config, sim=attrs.evolve(config.sim, seed=args.seed))
    options = RunOptions(
        duration_s=args.duration, summary_json=args.summary_json, dry_run=args.dry_run
    )
    trio.run(App(config, options, wallet=wallet).run)
    return EXIT_OK
