"""``galileo run``: the bot, until Ctrl-C / SIGTERM or ``--duration`` seconds."""

from __future__ import annotations

import argparse

from galileo.cli._common import EXIT_OK, EXIT_USAGE, Subparsers, add_config_argument, load_or_report


def register(subparsers: Subparsers) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the bot (default target: the simulated world)",
        description="Run the bot until Ctrl-C / SIGTERM, or for --duration seconds, then print "
        "a summary. With no configuration it targets the embedded simulated world. While it "
        "runs, /metrics, /health and /status are served on metrics.host:metrics.port.",
    )
    add_config_argument(run)
    run.add_argument(
        "--duration", type=float, metavar="SECONDS", help="stop after this many seconds"
    )
    run.add_argument("--summary-json", metavar="PATH", help="also write the summary here")
    run.add_argument("--seed", type=int, help="seed of the simulated world (sim.seed)")
    run.add_argument(
        "--dry-run", action="store_true", help="build and sign but never send (risk.dry_run)"
    )
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import attrs
    import trio

    from galileo._app import App, RunOptions

    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    if args.duration is not None and args.duration <= 0:
        print("--duration: must be a positive number of seconds")
        return EXIT_USAGE
    if args.seed is not None:
        config = attrs.evolve(config, sim=attrs.evolve(config.sim, seed=args.seed))
    options = RunOptions(
        duration_s=args.duration, summary_json=args.summary_json, dry_run=args.dry_run
    )
    trio.run(App(config, options).run)
    return EXIT_OK
