"""Everything that would block a run, checked up front: what ``galileo doctor`` prints, and
the host checks ``config check`` and ``galileo run`` refuse a configuration on.

The configuration file alone is checked by :func:`galileo._config_load.load_config`; the
checks here need this machine: files that must exist (the keypair, mint lists, a ``path``
executable), the keypair's permissions and format, ports that must be free, source IPs that
must accept a bind, paths that must be writable. Each failure names its key, so a
configuration that cannot run is refused with the same one-line ``key: reason`` as a typo.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import attrs

from galileo._config import Config
from galileo._config_load import find_config_path, load_config
from galileo._config_rules import looks_like_pubkey
from galileo._errors import ConfigError, ConfigErrors
from galileo._keyfile import (
    KeyfileStatus,
    check_keypair_file,
    is_keystore_file,
    keypair_format_problem,
)
from galileo._keystore import passphrase_file_problem

Level = Literal["ok", "warn", "fail"]

_MINT_FILE_MAX_BYTES = 16 * 1024 * 1024
"""A mint list is a few KiB to a few MiB; a larger file is not a mint list."""


@attrs.frozen
class Check:
    """One line of ``galileo doctor``; ``key`` is the configuration key a failure is about."""

    name: str
    level: Level
    detail: str
    key: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "level": self.level, "detail": self.detail}


def run_checks(config_path: str | None) -> list[Check]:
    """What ``galileo doctor`` prints: the interpreter, the native core, the configuration
    and every host check."""
    checks = [_python(), _fast_backend(), _solders()]
    try:
        config = load_config(config_path)
    except ConfigErrors as exc:
        source = find_config_path(config_path) or "configuration"
        checks.extend(Check("config", "fail", f"{source}: {e}") for e in exc.errors)
        return checks
    source = find_config_path(config_path) or "built-in defaults (simulated world)"
    checks.append(Check("config", "ok", str(source)))
    checks.extend(host_checks(config))
    return checks


def host_checks(config: Config) -> list[Check]:
    """The checks of ``config`` against this machine (ok lines included)."""
    return [
        *_ports(config),
        _keypair(config),
        *_files(config),
        *_source_ips(config),
        *_writable_paths(config),
    ]


def host_problems(config: Config) -> list[ConfigError]:
    """The failed host checks as configuration errors (``config check``, ``galileo run``)."""
    return [ConfigError(c.key, c.detail) for c in host_checks(config) if c.level == "fail"]


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


def _launches_jupiter(config: Config) -> bool:
    return not config.jupiter.url


# --- ports ----------------------------------------------------------------------------------


def _ports(config: Config) -> list[Check]:
    wanted: list[tuple[str, str, int]] = []
    if config.metrics.enabled:
        wanted.append(("metrics.port", config.metrics.host, config.metrics.port))
    if _launches_jupiter(config):
        launch = config.jupiter.launch
        wanted.append(("jupiter.launch.port", launch.host, launch.port))
    if config.sim.enabled:
        wanted.append(("sim.rpc_port", config.sim.host, config.sim.rpc_port))
        wanted.append(("sim.jito_port", config.sim.host, config.sim.jito_port))
    checks = []
    for key, host, port in wanted:
        if port_is_free(host, port):
            checks.append(Check(f"port {key}", "ok", f"{host}:{port} is free", key))
        else:
            checks.append(
                Check(f"port {key}", "fail", f"{host}:{port} is in use (another galileo?)", key)
            )
    return checks


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound right now (port 0 is always free)."""
    if port == 0:
        return True
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Like the servers themselves (trio sets SO_REUSEADDR): a port whose old connections
        # sit in TIME_WAIT is free; one somebody listens on is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# --- the keypair ----------------------------------------------------------------------------


def _keypair(config: Config) -> Check:
    key = "wallet.keypair_path"
    path = config.wallet.keypair_path
    if not path:
        if config.sim.enabled:
            return Check("keypair", "ok", "created by the simulated world at start")
        return Check("keypair", "fail", "required when sim.enabled = false", key)
    result = check_keypair_file(path, allow_insecure=config.wallet.allow_insecure_permissions)
    if result.status in (KeyfileStatus.MISSING, KeyfileStatus.INSECURE):
        return Check("keypair", "fail", result.message, key)
    problem = keypair_format_problem(path)
    if problem is not None:
        return Check("keypair", "fail", problem, key)
    passphrase_file = config.wallet.passphrase_file
    if passphrase_file and is_keystore_file(path):
        problem = passphrase_file_problem(
            passphrase_file, allow_insecure=config.wallet.allow_insecure_permissions
        )
        if problem is not None:
            return Check("keypair", "fail", problem, "wallet.passphrase_file")
    if result.status is KeyfileStatus.INSECURE_ALLOWED:
        return Check("keypair", "warn", result.message, key)
    return Check("keypair", "ok", result.message, key)


# --- files that must exist ------------------------------------------------------------------


def _files(config: Config) -> Iterator[Check]:
    for i, base in enumerate(config.strategy.blind.base_mints):
        if base.intermediate_mints_file:
            key = f"strategy.blind.base_mints[{i}].intermediate_mints_file"
            yield _mint_file(key, base.intermediate_mints_file)
    if _launches_jupiter(config):
        for i, name in enumerate(config.jupiter.launch.filter_mints_files):
            yield _mint_file(f"jupiter.launch.filter_mints_files[{i}]", name)
        if config.jupiter.source == "path" and config.jupiter.path:
            yield _executable("jupiter.path", config.jupiter.path)


def _mint_file(key: str, name: str) -> Check:
    """A file of mints, one per line (``#`` comments, blank lines; the market filter also
    takes ``"…",`` as in a JSON array): it exists, is UTF-8, holds a mint and only mints."""
    path = Path(name).expanduser()
    try:
        with path.open("rb") as handle:
            data = handle.read(_MINT_FILE_MAX_BYTES + 1)
    except OSError as exc:
        return Check("file", "fail", f"{path}: {exc.strerror or exc}", key)
    if len(data) > _MINT_FILE_MAX_BYTES:
        return Check("file", "fail", f"{path}: larger than a mint list", key)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Check("file", "fail", f"{path}: not UTF-8 text (byte {exc.start})", key)
    mints = []
    for number, line in enumerate(text.splitlines(), start=1):
        item = line.split("#", 1)[0].strip().strip(",").strip('"')
        if not item:
            continue
        if not looks_like_pubkey(item):
            return Check(
                "file",
                "fail",
                f"{path} line {number}: {item[:60]!r} is not a base58 public key",
                key,
            )
        mints.append(item)
    if not mints:
        return Check("file", "fail", f"{path} holds no mint (empty file?)", key)
    return Check("file", "ok", f"{path}: {len(mints)} mints", key)


def _executable(key: str, program: str) -> Check:
    path = Path(program).expanduser()
    if shutil.which(program) or (path.is_file() and os.access(path, os.X_OK)):
        return Check("file", "ok", f"{program} is executable", key)
    why = "does not exist" if not path.exists() else "is not an executable file"
    return Check("file", "fail", f"{program} {why}", key)


# --- source IPs -----------------------------------------------------------------------------


def _source_ips(config: Config) -> Iterator[Check]:
    network = config.network
    if network.manual_ips:
        key, ips = "network.manual_ips", network.manual_ips
        if not network.enable_multiple_ip:
            ips = ips[:1]
    elif config.sim.enabled:
        key, ips = "sim.source_ips", config.sim.source_ips
    else:
        return  # auto-detected: unusable addresses are dropped with a warning
    from galileo.net import can_bind

    for i, ip in enumerate(ips):
        error = can_bind(ip)
        if error is not None:
            yield Check("source ip", "fail", f"cannot bind {ip}: {error}", f"{key}[{i}]")


# --- paths galileo writes -------------------------------------------------------------------


def _writable_paths(config: Config) -> Iterator[Check]:
    directories = {"state_dir": config.state_dir, "jupiter.process.log_dir": ""}
    if _launches_jupiter(config):
        directories["jupiter.process.log_dir"] = config.jupiter.process.log_dir
    for key, name in directories.items():
        if name and (reason := _not_writable(Path(name).expanduser(), directory=True)):
            yield Check("path", "fail", reason, key)
    files = {
        "logging.file": config.logging.file,
        "logging.trace_file": config.logging.trace_file,
        "metrics.summary_json": config.metrics.summary_json,
    }
    for key, name in files.items():
        if name and (reason := _not_writable(Path(name).expanduser(), directory=False)):
            yield Check("path", "fail", reason, key)


def _not_writable(path: Path, *, directory: bool) -> str | None:
    """Why galileo could not create or write ``path`` (a directory or a file), or None."""
    if path.exists():
        if directory and not path.is_dir():
            return f"{path} exists and is not a directory"
        if not directory and path.is_dir():
            return f"{path} is a directory"
        if not os.access(path, os.W_OK):
            return f"{path} is not writable"
        return None
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is None or not parent.is_dir():
        return f"{path}: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be created: {parent} is not writable"
    return None
