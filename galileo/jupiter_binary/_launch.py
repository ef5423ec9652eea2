"""The jupiter-swap-api command line: flags from ``[jupiter.launch]``, the merged market
filter, and the executable for each ``jupiter.source``.

One builder serves all three sources (sim, release, path), so the simulated stand-in is
launched exactly like the real binary. List flags are passed comma-joined in one value
(``--filter-markets-with-mints A,B``), the form common launchers use with this binary.

Secrets never go on the command line, which every local user can read (``ps``,
``/proc/<pid>/cmdline``): the RPC URLs and the Yellowstone endpoint and x-token travel in the
environment variables the binary reads them from (``/proc/<pid>/environ`` is owner-only).
Whatever shows the command (``/status``, ``galileo jupiter args``, the runtime file,
``jupiter.log``) shows it redacted, ``jupiter.launch.env`` values included.
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio

from galileo._config import Config, LaunchConfig
from galileo._secret import env_secrets, expand_secrets, redact_text, redact_value
from galileo.jupiter_binary._errors import LaunchError, MintFilterError

_log = logging.getLogger("galileo.jupiter")

_B58 = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")

# Secret flags and the environment variables the binary reads them from (its --help: every
# flag has one; see docs/jupiter-launch-flags.md).
_SECRET_ENV = {
    "--rpc-url": "RPC_URL",
    "--secondary-rpc-urls": "SECONDARY_RPC_URLS",
    "--yellowstone-grpc-endpoint": "YELLOWSTONE_GRPC_ENDPOINT",
    "--yellowstone-grpc-x-token": "YELLOWSTONE_GRPC_X_TOKEN",
}


def looks_like_mint(text: str) -> bool:
    return 32 <= len(text) <= 44 and set(text) <= _B58


@attrs.frozen
class LaunchCommand:
    """What to exec: ``argv`` (executable first) and the extra environment. ``secrets`` are
    the revealed secret values in env (and ``extra_args``, should an operator put one there),
    kept only to redact them wherever the command or the child's output is shown."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    secrets: tuple[str, ...] = attrs.field(repr=False)
    _needles: tuple[str, ...] = attrs.field(init=False, repr=False)

    @_needles.default
    def _expand(self) -> tuple[str, ...]:
        return expand_secrets(self.secrets)

    def redacted_argv(self) -> list[str]:
        return [redact_text(arg, self._needles) for arg in self.argv]

    def redacted_env(self) -> dict[str, str]:
        return {
            k: redact_value(v) if v in self.secrets else redact_text(v, self._needles)
            for k, v in self.env.items()
        }

    def display(self) -> str:
        """A shell-pasteable, secret-free rendering: ``ENV=… exe --flag …``."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.redacted_env().items()))
        cmd = shlex.join(self.redacted_argv())
        return f"{env} {cmd}" if env else cmd


def build_launch_command(
    launch: LaunchConfig,
    *,
    executable: Sequence[str],
    filter_mints: Sequence[str] = (),
    default_rpc_url: str = "",
    secrets_in_env: bool = True,
    extra_env: Mapping[str, str] | None = None,
) -> LaunchCommand:
    """Build the command line from ``launch``.

    ``filter_mints``: the merged market filter (see ``resolve_filter_mints``); empty = no
    filter. ``default_rpc_url``: used when ``launch.rpc_url`` is empty (the simulated
    world's RPC). ``extra_env``: added to the child's environment before ``launch.env``
    (which wins), e.g. ``source_env``. The RPC URLs and the gRPC endpoint/token always travel
    in the environment (see the module docstring); ``secrets_in_env`` is ignored and only
    kept for callers that still pass ``jupiter.launch.secrets_in_env``.
    """
    del secrets_in_env  # deprecated: secrets are never put on the command line
    if (
        launch.total_thread_count
        and launch.webserver_thread_count
        and launch.webserver_thread_count > launch.total_thread_count
    ):
        raise LaunchError(
            "webserver_thread_count",
            f"{launch.webserver_thread_count} > total_thread_count {launch.total_thread_count}",
        )
    rpc_url = launch.rpc_url.reveal() or default_rpc_url
    if not rpc_url:
        raise LaunchError("rpc_url", "required (no simulated world to default to)")
    if not executable:
        raise LaunchError("", "no executable to launch")
    if launch.host in ("0.0.0.0", "::"):
        _log.warning(
            "jupiter listens on all interfaces",
            extra={
                "fields": {
                    "host": launch.host,
                    "hint": "use 127.0.0.1 unless it must be reachable from other machines",
                }
            },
        )

    args: list[str] = []
    env: dict[str, str] = {"RUST_LOG": "info"}
    secrets: list[str] = []

    def secret_flag(flag: str, value: str) -> None:
        secrets.append(value)
        env[_SECRET_ENV[flag]] = value

    def flag(name: str, on: bool) -> None:
        if on:
            args.append(name)

    def valued(name: str, value: str | int, *, when: bool = True) -> None:
        if when:
            args.extend((name, str(value)))

    if launch.rpc_url:
        secret_flag("--rpc-url", rpc_url)
    else:
        args.extend(("--rpc-url", rpc_url))  # the simulated world's loopback RPC: not secret
    secondary = [s.reveal() for s in launch.secondary_rpc_urls if s]
    if secondary:
        secrets.extend(secondary)
        secret_flag("--secondary-rpc-urls", ",".join(secondary))
    valued("--market-cache", launch.market_cache, when=bool(launch.market_cache))
    valued("--market-mode", launch.market_mode)
    if launch.yellowstone_grpc_endpoint:
        secret_flag("--yellowstone-grpc-endpoint", launch.yellowstone_grpc_endpoint.reveal())
        if launch.yellowstone_grpc_x_token:
            secret_flag("--yellowstone-grpc-x-token", launch.yellowstone_grpc_x_token.reveal())
        flag("--yellowstone-grpc-enable-ping", launch.yellowstone_grpc_enable_ping)
        valued(
            "--yellowstone-grpc-compression-encoding", launch.yellowstone_grpc_compression_encoding
        )
    valued(
        "--snapshot-poll-interval-ms",
        launch.snapshot_poll_interval_ms,
        when=launch.snapshot_poll_interval_ms > 0,
    )
    flag("--allow-circular-arbitrage", launch.allow_circular_arbitrage)
    valued("--dex-program-ids", ",".join(launch.dex_program_ids), when=bool(launch.dex_program_ids))
    valued(
        "--exclude-dex-program-ids",
        ",".join(launch.exclude_dex_program_ids),
        when=bool(launch.exclude_dex_program_ids),
    )
    valued("--filter-markets-with-mints", ",".join(filter_mints), when=bool(filter_mints))
    valued("--host", launch.host)
    valued("--port", launch.port)
    valued("--metrics-port", launch.metrics_port, when=launch.metrics_port > 0)
    flag("--expose-quote-and-simulate", launch.expose_quote_and_simulate)
    flag("--enable-new-dexes", launch.enable_new_dexes)
    flag("--enable-add-market", launch.enable_add_market)
    flag("--enable-tokens", launch.enable_tokens)
    valued("--total-thread-count", launch.total_thread_count, when=launch.total_thread_count > 0)
    valued(
        "--webserver-thread-count",
        launch.webserver_thread_count,
        when=launch.webserver_thread_count > 0,
    )
    valued("--update-thread-count", launch.update_thread_count, when=launch.update_thread_count > 0)
    args.extend(launch.extra_args)
    env.update(extra_env or {})
    env.update(launch.env)
    secrets.extend(s.reveal() for s in env_secrets(launch.env))
    return LaunchCommand(
        argv=(*executable, *args), env=env, secrets=tuple(dict.fromkeys(s for s in secrets if s))
    )


def base_url_of(launch: LaunchConfig) -> str:
    """Where galileo reaches the API: the launch host (a wildcard host means loopback)."""
    host = launch.host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{launch.port}"


def default_base_mints(config: Config) -> list[str]:
    return [b.mint for b in config.strategy.blind.base_mints]


def default_rpc_url(config: Config) -> str:
    """The simulated world's RPC face when the sim is on, else empty."""
    if config.sim.enabled and config.sim.rpc_port:
        return f"http://{config.sim.host}:{config.sim.rpc_port}"
    return ""


# --- market filter -----------------------------------------------------------------------


async def resolve_filter_mints(
    launch: LaunchConfig,
    *,
    base_mints: Sequence[str],
    client: httpx.AsyncClient | None = None,
    timeout_s: float = 10.0,
) -> list[str]:
    """Merge the market-filter suppliers: inline ``filter_markets_with_mints``, then each of
    ``filter_mints_files`` (one mint per line, ``#`` comments), then each of
    ``filter_mints_urls`` (a JSON array of mints, or of objects with ``address``/``mint``).

    Empty suppliers overall = no filter (``[]``). Otherwise the base mints come first (always
    kept, even beyond the cap — a filter without them would remove every round trip), then
    the supplied mints in order, deduplicated, up to ``max_filter_mints`` in total.
    Malformed inline mints are a configuration error; malformed lines from files/URLs are
    skipped with a warning; an unreadable file or URL raises ``MintFilterError``.
    """
    supplied: list[str] = []
    for i, mint in enumerate(launch.filter_markets_with_mints):
        if not looks_like_mint(mint.strip()):
            raise LaunchError(f"filter_markets_with_mints[{i}]", f"{mint!r} is not a mint")
        supplied.append(mint.strip())
    for path in launch.filter_mints_files:
        supplied.extend(_mints_from_file(path))
    if launch.filter_mints_urls:
        if client is None:
            async with httpx.AsyncClient(follow_redirects=True) as own:
                for url in launch.filter_mints_urls:
                    supplied.extend(await _mints_from_url(own, url, timeout_s))
        else:
            for url in launch.filter_mints_urls:
                supplied.extend(await _mints_from_url(client, url, timeout_s))
    if not supplied:
        return []
    merged = list(dict.fromkeys(base_mints))
    cap = max(launch.max_filter_mints, len(merged))
    seen = set(merged)
    dropped = 0
    for mint in supplied:
        if mint in seen:
            continue
        if len(merged) >= cap:
            dropped += 1
            continue
        seen.add(mint)
        merged.append(mint)
    if dropped:
        _log.warning(
            "market filter capped",
            extra={
                "fields": {
                    "kept": len(merged),
                    "dropped": dropped,
                    "max_filter_mints": launch.max_filter_mints,
                }
            },
        )
    return merged


def _valid(mints: list[str], source: str) -> list[str]:
    good = [m for m in mints if looks_like_mint(m)]
    if len(good) != len(mints):
        _log.warning(
            "skipped malformed filter mints",
            extra={"fields": {"source": source, "skipped": len(mints) - len(good)}},
        )
    return good


def _mints_from_file(name: str) -> list[str]:
    path = Path(name).expanduser()
    try:
        text = path.read_text()
    except OSError as exc:
        raise MintFilterError(f"mint filter file {path}: {exc.strerror or exc}") from exc
    mints = []
    for line in text.splitlines():
        item = line.split("#", 1)[0].strip().strip(",").strip('"')
        if item:
            mints.append(item)
    return _valid(mints, str(path))


async def _mints_from_url(client: httpx.AsyncClient, url: str, timeout_s: float) -> list[str]:
    shown = redact_value(url)
    try:
        with trio.fail_after(timeout_s):
            response = await client.get(url)
    except trio.TooSlowError:
        raise MintFilterError(f"mint filter URL {shown}: no answer within {timeout_s:g}s") from None
    except httpx.HTTPError as exc:
        raise MintFilterError(f"mint filter URL {shown}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise MintFilterError(f"mint filter URL {shown}: HTTP {response.status_code}")
    try:
        payload: Any = json.loads(response.content)
    except ValueError:
        raise MintFilterError(f"mint filter URL {shown}: body is not JSON") from None
    if isinstance(payload, dict) and isinstance(payload.get("mints"), list):
        payload = payload["mints"]
    if not isinstance(payload, list):
        raise MintFilterError(f"mint filter URL {shown}: expected a JSON array")
    mints = []
    for item in payload:
        if isinstance(item, str):
            mints.append(item.strip())
        elif isinstance(item, dict):
            value = item.get("address", item.get("mint"))
            if isinstance(value, str):
                mints.append(value.strip())
    return _valid(mints, shown)


# --- executable per source -----------------------------------------------------------------


def sim_executable() -> list[str]:
    return [sys.executable, "-m", "galileo.sim", "jupiter"]


def executable_for(config: Config) -> tuple[list[str], str]:
    """The executable argv prefix for ``jupiter.source`` and a version label for status."""
    jupiter = config.jupiter
    if jupiter.source == "sim":
        return sim_executable(), "sim"
    if jupiter.source == "path":
        if not jupiter.path:
            raise LaunchError("", "jupiter.path: required when jupiter.source = 'path'")
        return [str(Path(jupiter.path).expanduser())], "path"
    from galileo.jupiter_binary._install import JupiterInstaller

    path, tag = JupiterInstaller(jupiter).launch_executable()
    return [str(path)], tag


def source_env(config: Config) -> dict[str, str]:
    """Environment the source needs besides the flags: the simulated Jupiter face reads its
    seed, startup delay and faults from ``GALILEO_SIM_*`` (the real binary ignores them)."""
    if config.jupiter.source != "sim":
        return {}
    from galileo.sim import jupiter_child_env

    return jupiter_child_env(config.sim)
