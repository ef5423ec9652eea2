"""Everything that would block a run, checked up front (what ``galileo doctor`` prints)."""

from __future__ import annotations

import platform
import socket
import sys
from typing import Any, Literal

import attrs

from galileo._config import Config
from galileo._config_load import find_config_path, load_config
from galileo._errors import ConfigErrors
from galileo._keyfile import KeyfileStatus, check_keypair_file

Level = Literal["ok", "warn", "fail"]


@attrs.frozen
class Check:
    name: str
    level: Level
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "level": self.level, "detail": self.detail}


def run_checks(config_path: str | None) -> list[Check]:
    checks = [_python(), _fast_backend(), _solders()]
    try:
        config = load_config(config_path)
    except ConfigErrors as exc:
        source = find_config_path(config_path) or "configuration"
        checks.extend(Check("config", "fail", f"{source}: {e}") for e in exc.errors)
        return checks
    source = find_config_path(config_path) or "built-in defaults (simulated world)"
    checks.append(Check("config", "ok", str(source)))
    checks.extend(_ports(config))
    checks.append(_keypair(config))
    return checks


def _python() -> Check:
    # requires-python (≥ 3.11) already refuses older interpreters at install time.
    version = platform.python_version()
    return Check("python", "ok", f"{version} ({sys.executable})")


def _fast_backend() -> Check:
    from galileo import _fast

    level: Level = "ok" if _fast.backend() == "cython" else "warn"
    return Check("fast backend", level, _fast.backend_detail())


def _solders() -> Check:
    try:
        import solders
        from solders.litesvm import LiteSVM  # noqa: F401  (the sim's VM must import)
    except ImportError as exc:
        return Check("solders", "fail", f"not importable: {exc}")
    return Check("solders", "ok", f"{getattr(solders, '__version__', '?')} with LiteSVM")


def _ports(config: Config) -> list[Check]:
    wanted: list[tuple[str, str, int]] = []
    if config.metrics.enabled:
        wanted.append(("metrics.port", config.metrics.host, config.metrics.port))
    if not config.jupiter.url:
        launch = config.jupiter.launch
        wanted.append(("jupiter.launch.port", launch.host, launch.port))
    if config.sim.enabled:
        wanted.append(("sim.rpc_port", config.sim.host, config.sim.rpc_port))
        wanted.append(("sim.jito_port", config.sim.host, config.sim.jito_port))
    checks = []
    for key, host, port in wanted:
        if port_is_free(host, port):
            checks.append(Check(f"port {key}", "ok", f"{host}:{port} is free"))
        else:
            checks.append(
                Check(f"port {key}", "fail", f"{host}:{port} is in use (another galileo?)")
            )
    return checks


def _keypair(config: Config) -> Check:
    path = config.wallet.keypair_path
    if not path:
        if config.sim.enabled:
            return Check("keypair", "ok", "created by the simulated world at start")
        return Check("keypair", "fail", "wallet.keypair_path is not set")
    result = check_keypair_file(path, allow_insecure=config.wallet.allow_insecure_permissions)
    if result.status is KeyfileStatus.OK:
        return Check("keypair", "ok", result.message)
    if result.status is KeyfileStatus.INSECURE_ALLOWED:
        return Check("keypair", "warn", result.message)
    return Check("keypair", "fail", result.message)


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound right now (port 0 is always free)."""
    if port == 0:
        return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the servers themselves (trio sets SO_REUSEADDR): a port whose old connections
        # sit in TIME_WAIT is free; one somebody listens on is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
