"""``galileo jupiter {install,versions,rollback,args,start,status,stop}``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from typing import Any

from galileo.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    Subparsers,
    add_config_argument,
    load_or_report,
)


def register(subparsers: Subparsers) -> None:
    jupiter = subparsers.add_parser(
        "jupiter",
        help="install, pin, roll back, launch and supervise jupiter-swap-api",
        description="Manage the jupiter-swap-api binary (see docs/jupiter.md).",
    )
    actions = jupiter.add_subparsers(dest="jupiter_command", metavar="ACTION", required=True)

    install = actions.add_parser(
        "install", help="download, verify and activate a release (default: jupiter.version)"
    )
    install.add_argument("--version", metavar="TAG", help="release tag, e.g. v6.0.48")
    install.set_defaults(handler=_install)

    versions = actions.add_parser("versions", help="list installed versions (* = current)")
    versions.add_argument(
        "--remote", action="store_true", help="also list the releases the API offers"
    )
    versions.set_defaults(handler=_versions)

    rollback = actions.add_parser("rollback", help="activate the previously installed version")
    rollback.add_argument("--to", metavar="TAG", help="activate this installed tag instead")
    rollback.set_defaults(handler=_rollback)

    args = actions.add_parser("args", help="print the effective command line (secrets redacted)")
    args.add_argument("--json", action="store_true", help="argv and env as JSON")
    args.set_defaults(handler=_args)

    start = actions.add_parser(
        "start", help="launch and supervise in the foreground until Ctrl-C / SIGTERM"
    )
    start.set_defaults(handler=_start)

    status = actions.add_parser("status", help="state of the running supervisor")
    status.add_argument("--json", action="store_true", help="the raw runtime record")
    status.set_defaults(handler=_status)

    stop = actions.add_parser("stop", help="stop the running supervisor and its child")
    stop.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds to wait (default: jupiter.process.stop_grace_s + 10)",
    )
    stop.set_defaults(handler=_stop)

    for sub in (install, versions, rollback, args, start, status, stop):
        add_config_argument(sub)


def _error(message: object) -> int:
    print(f"galileo jupiter: {message}", file=sys.stderr)
    return EXIT_FAILURE


def _setup_logging(config: Any) -> None:
    from galileo.obs import configure_logging

    configure_logging(config.logging, secrets=config.secrets())


def _install(args: argparse.Namespace) -> int:
    import trio

    from galileo.jupiter_binary import JupiterError, JupiterInstaller, TextProgress

    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    _setup_logging(config)
    installer = JupiterInstaller(config.jupiter, progress=TextProgress())
    try:
        version = trio.run(installer.install, args.version)
    except JupiterError as exc:
        return _error(exc)
    print(f"{version.tag} active: {version.executable}")
    print(f"sha256 {version.sha256}  {version.asset}")
    if not config.jupiter.sha256:
        print(f"pin it: [jupiter] version = {version.tag!r}, sha256 = {version.sha256!r}")
    if config.jupiter.version and config.jupiter.version != version.tag:
        print(
            f"note: jupiter.version pins {config.jupiter.version}, which launches instead",
            file=sys.stderr,
        )
    return EXIT_OK


def _versions(args: argparse.Namespace) -> int:
    import trio

    from galileo.jupiter_binary import JupiterError, JupiterInstaller

    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    installer = JupiterInstaller(config.jupiter)
    try:
        installed = installer.installed()
    except JupiterError as exc:
        return _error(exc)
    if not installed:
        print(f"nothing installed in {installer.install_dir}")
    for v in installed:
        mark = "*" if v.current else " "
        print(f"{mark} {v.tag:<14} installed {v.installed_at}  sha256 {v.sha256[:16]}…")
    if args.remote:
        try:
            releases = trio.run(installer.releases)
        except JupiterError as exc:
            return _error(exc)
        print("available:")
        have = {v.tag for v in installed}
        for release in releases:
            notes = []
            if release.prerelease:
                notes.append("prerelease")
            if release.tag in have:
                notes.append("installed")
            extra = f" ({', '.join(notes)})" if notes else ""
            print(f"  {release.tag:<14} {release.published_at}{extra}")
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    from galileo.jupiter_binary import JupiterError, JupiterInstaller

    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    installer = JupiterInstaller(config.jupiter)
    try:
        version = installer.rollback(args.to)
    except JupiterError as exc:
        return _error(exc)
    print(f"{version.tag} active: {version.executable}")
    if config.jupiter.version and config.jupiter.version != version.tag:
        print(
            f"note: jupiter.version pins {config.jupiter.version}, which launches instead; "
            "clear or change it to run the rolled-back version",
            file=sys.stderr,
        )
    return EXIT_OK


def _args(args: argparse.Namespace) -> int:
    import trio

    from galileo.jupiter_binary import (
        InstallError,
        JupiterError,
        build_launch_command,
        default_base_mints,
        default_rpc_url,
        executable_for,
        resolve_filter_mints,
        source_env,
    )

    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    try:
        executable, _ = executable_for(config)
    except InstallError:
        executable = ["<jupiter-swap-api: not installed>"]
    except JupiterError as exc:
        return _error(exc)
    launch = config.jupiter.launch
    try:
        mints = trio.run(
            lambda: resolve_filter_mints(launch, base_mints=default_base_mints(config))
        )
        command = build_launch_command(
            launch,
            executable=executable,
            filter_mints=mints,
            default_rpc_url=default_rpc_url(config),
            extra_env=source_env(config),
        )
    except JupiterError as exc:
        return _error(exc)
    if args.json:
        print(
            json.dumps({"argv": command.redacted_argv(), "env": command.redacted_env()}, indent=2)
        )
    else:
        print(command.display())
    return EXIT_OK


def _start(args: argparse.Namespace) -> int:
    import trio

    from galileo.jupiter_binary import JupiterSupervisor

    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    _setup_logging(config)
    supervisor = JupiterSupervisor(config)

    async def main() -> None:
        async with trio.open_nursery() as nursery:

            async def on_signals() -> None:
                # Ctrl-C, SIGTERM (`galileo jupiter stop`, systemd) and SIGHUP all stop it cleanly
                # (SIGINT too: a shell may start us with it ignored).
                with trio.open_signal_receiver(
                    signal.SIGINT, signal.SIGTERM, signal.SIGHUP
                ) as signals:
                    async for _ in signals:
                        nursery.cancel_scope.cancel()
                        return

            nursery.start_soon(on_signals)
            url = await nursery.start(supervisor.run)
            print(f"jupiter ready at {url} (Ctrl-C to stop)", file=sys.stderr)

    with contextlib.suppress(KeyboardInterrupt):
        trio.run(main)
    # Any other failure (the restart budget spent: SupervisorFailed, exit 3) becomes one line
    # in galileo.cli._failures.
    return EXIT_OK


def _read_status(config: Any) -> tuple[dict[str, Any] | None, bool]:
    from galileo.jupiter_binary import pid_alive, read_runtime, runtime_path

    record = read_runtime(runtime_path(config.state_dir))
    if record is None:
        return None, False
    return record, pid_alive(record.get("supervisor_pid"))


def _status(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    record, alive = _read_status(config)
    if record is None:
        print("not running (no runtime record)")
        return EXIT_FAILURE
    if not alive:
        record = {**record, "state": "stopped", "stale": True}
    if args.json:
        print(json.dumps(record, indent=2, sort_keys=True))
        return EXIT_OK if alive else EXIT_FAILURE
    health = record.get("last_health_check") or {}
    rows = [
        ("state", record.get("state")),
        ("pid", record.get("pid")),
        ("process group", record.get("group_pid")),
        ("supervisor pid", record.get("supervisor_pid")),
        ("version", record.get("version")),
        ("base url", record.get("base_url")),
        ("started at", record.get("started_at")),
        ("uptime", _uptime(record) if alive else None),
        ("restarts", _restarts(record)),
        ("last health check", _health(health)),
        ("last error", record.get("last_error") or None),
        ("log", record.get("log_file")),
    ]
    for name, value in rows:
        print(f"{name:<18} {value if value is not None else '-'}")
    if not alive:
        print("(the supervisor is not running; this is its last record)")
    return EXIT_OK if alive else EXIT_FAILURE


def _uptime(record: dict[str, Any]) -> str | None:
    uptime = record.get("uptime_s")
    if uptime is None or record.get("state") not in ("ready", "unhealthy"):
        return None
    # The record is written at each health check: add the time since it was written.
    updated = record.get("updated_at")
    try:
        import datetime as dt

        since = time.time() - dt.datetime.fromisoformat(str(updated)).timestamp()
    except (TypeError, ValueError):
        since = 0.0
    total = int(float(uptime) + max(0.0, since))
    return f"{total // 3600}h{total // 60 % 60:02d}m{total % 60:02d}s"


def _restarts(record: dict[str, Any]) -> str:
    reasons = {k: v for k, v in (record.get("restart_reasons") or {}).items() if v}
    detail = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    return f"{record.get('restarts', 0)}" + (f" ({detail})" if detail else "")


def _health(health: dict[str, Any]) -> str | None:
    if not health:
        return None
    result = "ok" if health.get("ok") else f"FAILED ({health.get('error')})"
    return f"{health.get('at')} {result} in {health.get('seconds')}s"


def _stop(args: argparse.Namespace) -> int:
    from galileo.jupiter_binary import pid_alive

    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    record, alive = _read_status(config)
    if record is None:
        print("not running (no runtime record)")
        return EXIT_OK
    timeout = args.timeout if args.timeout is not None else config.jupiter.process.stop_grace_s + 10
    supervisor, child = record.get("supervisor_pid"), record.get("group_pid")
    if alive and isinstance(supervisor, int):
        # The supervisor stops its child itself (SIGTERM, grace, SIGKILL) and then exits.
        os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(supervisor):
            time.sleep(0.1)
        if pid_alive(supervisor):
            return _error(f"supervisor {supervisor} still running after {timeout:g}s")
        print(f"stopped (supervisor {supervisor})")
    if isinstance(child, int) and pid_alive(child) and _is_our_child(child, record):
        # Orphan from a supervisor that died without cleaning up: stop its process group.
        for signum in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(child, signum)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + config.jupiter.process.stop_grace_s
            while time.monotonic() < deadline and pid_alive(child):
                time.sleep(0.1)
        print(f"stopped orphaned jupiter process group {child}")
    elif not alive:
        print("not running")
    return EXIT_OK


def _is_our_child(pid: int, record: dict[str, Any]) -> bool:
    """Guard against pid reuse: the recorded group leader must still lead its group."""
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False
