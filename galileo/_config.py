"""The configuration schema: one frozen attrs tree, every key documented where it is declared.

Loading (TOML + ``GALILEO_*`` environment overrides), type checking with key paths, the
"did you mean" hints and rendering (``config show`` / ``config init`` / the docs page) live in
``galileo._config_load``. This module only says what the keys are, their defaults, their
units, and which values are acceptable.

Conventions: amounts are integer lamports / atomic units; durations carry their unit in the
name (``_ms``, ``_s``); ratios of money are basis points (``_bps``). Secrets are ``Secret``.
Cross-field rules live in each section's ``problems()``, which yields ``(key, reason)`` pairs
relative to the section, so every error names the full key path.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any, Literal

import attrs

from galileo._config_rules import (
    KERNEL_AMOUNT_MAX,
    duplicates,
    env_name_problem,
    ip_problem,
    looks_like_pubkey,
    url_problem,
)
from galileo._keystore import PASSPHRASE_ENV_DEFAULT
from galileo._secret import PUBLIC_ENV_NAMES, Secret, env_secrets
from galileo._solana import WSOL_MINT

Problem = tuple[str, str]

MAX_THREADS = 1024
"""Ceiling of the Jupiter binary's thread-count flags (far above any machine's cores)."""
MAX_TASKS_PER_IP = 1024
"""Ceiling of the concurrent requests and quote workers per source IP (each one a task and,
at most, a connection)."""
MAX_LANES = 1024
"""Ceiling of trade-size lanes per base mint (each lane is quoted in turn)."""
MAX_COMPUTE_UNITS = 1_400_000
"""Solana's compute-unit limit of one transaction."""
SIM_BALANCE_MAX = 10**18
"""Ceiling of a simulated balance: every balance of the world, pools included, must still add
up to less than 2^64 lamports (a billion SOL leaves room for all of them)."""


def setting(
    default: Any = attrs.NOTHING, doc: str = "", *, factory: Any = None, **meta: Any
) -> Any:
    """An attrs field carrying its documentation and the rules its value obeys, checked by
    ``galileo._config_load.check`` for the field (each item, for a list):

    ``ge``/``gt``/``le``/``lt`` bounds (an integer without ``le`` is at most 2^64-1);
    ``url``: an http(s) URL with a host; ``ip``: an IP address; ``loopback``: a loopback
    address; ``pubkey``: a base58 public key; ``unique``: a list without duplicates.
    An empty string is "not set" for a single value and passes the format rules.
    """
    metadata = {"doc": doc, **meta}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


def _secret(doc: str, **meta: Any) -> Any:
    return setting(factory=lambda: Secret(""), doc=doc, secret=True, **meta)


# --- jupiter ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LaunchConfig:
    """Flags of the ``jupiter-swap-api`` process (see docs/jupiter-launch-flags.md)."""

    rpc_url: Secret = _secret(
        "--rpc-url. Empty: the simulated world's RPC when sim.enabled, else required.",
        url=True,
    )
    secondary_rpc_urls: list[Secret] = setting(
        factory=list, doc="--secondary-rpc-urls.", secret=True, url=True, unique=True
    )
    market_cache: str = setting("", "--market-cache: URL or file path; empty = the mode's default.")
    market_mode: Literal["europa", "remote", "file"] = setting("remote", "--market-mode.")
    yellowstone_grpc_endpoint: Secret = _secret(
        "--yellowstone-grpc-endpoint; empty = poll mode.", url=True
    )
    yellowstone_grpc_x_token: Secret = _secret("--yellowstone-grpc-x-token.")
    yellowstone_grpc_enable_ping: bool = setting(False, "--yellowstone-grpc-enable-ping.")
    yellowstone_grpc_compression_encoding: Literal["none", "gzip", "zstd"] = setting(
        "gzip", "--yellowstone-grpc-compression-encoding."
    )
    snapshot_poll_interval_ms: int = setting(
        0, "--snapshot-poll-interval-ms; 0 = the binary's default.", ge=0
    )
    allow_circular_arbitrage: bool = setting(
        True, "--allow-circular-arbitrage (required for merged SOL→X→SOL routes)."
    )
    dex_program_ids: list[str] = setting(
        factory=list, doc="--dex-program-ids include-list.", pubkey=True, unique=True
    )
    exclude_dex_program_ids: list[str] = setting(
        factory=list, doc="--exclude-dex-program-ids exclude-list.", pubkey=True, unique=True
    )
    filter_markets_with_mints: list[str] = setting(
        factory=list,
        doc="Inline mints for --filter-markets-with-mints (merged with the files and URLs "
        "below and the base mints; empty overall = no filter).",
        pubkey=True,
        unique=True,
    )
    filter_mints_files: list[str] = setting(
        factory=list,
        doc="Files with one mint per line added to the market filter (each must exist and "
        "hold at least one mint).",
        unique=True,
    )
    filter_mints_urls: list[str] = setting(
        factory=list,
        doc="URLs returning a JSON array of mints added to the market filter.",
        url=True,
        unique=True,
    )
    max_filter_mints: int = setting(500, "Cap on the merged market-filter mint list.", ge=1)
    host: str = setting(
        "127.0.0.1",
        "--host (an IP address). Loopback by default, never 0.0.0.0 unless asked.",
        ip=True,
    )
    port: int = setting(18080, "--port the API listens on.", ge=1, le=65535)
    metrics_port: int = setting(0, "--metrics-port; 0 = metrics off.", ge=0, le=65535)
    expose_quote_and_simulate: bool = setting(False, "--expose-quote-and-simulate.")
    enable_new_dexes: bool = setting(True, "--enable-new-dexes.")
    enable_add_market: bool = setting(False, "--enable-add-market.")
    enable_tokens: bool = setting(True, "--enable-tokens (galileo reads /tokens at startup).")
    total_thread_count: int = setting(
        0, "--total-thread-count; 0 = the binary's default.", ge=0, le=MAX_THREADS
    )
    webserver_thread_count: int = setting(
        0,
        "--webserver-thread-count; 0 = default; must be ≤ total_thread_count.",
        ge=0,
        le=MAX_THREADS,
    )
    update_thread_count: int = setting(
        0, "--update-thread-count; 0 = the binary's default.", ge=0, le=MAX_THREADS
    )
    secrets_in_env: bool = setting(
        True,
        "Ignored (kept so older files load): rpc_url, secondary_rpc_urls and the Yellowstone "
        "endpoint / x-token always reach the binary through its environment, never argv.",
    )
    extra_args: list[str] = setting(factory=list, doc="Appended verbatim to the command line.")
    env: dict[str, str] = setting(
        factory=dict,
        doc="Extra environment for the child (RUST_LOG=info is always set). Values are "
        "treated as secrets (redacted everywhere) except RUST_LOG and RUST_BACKTRACE.",
        secret_values=PUBLIC_ENV_NAMES,
    )

    def problems(self) -> Iterator[Problem]:
        if "://" in self.market_cache and (reason := url_problem(self.market_cache)):
            yield ("market_cache", reason)
        for name in self.env:
            if reason := env_name_problem(name):
                yield (f"env.{name}", reason)
            elif "\0" in self.env[name]:
                yield (f"env.{name}", "contains a NUL character")
        for i, arg in enumerate(self.extra_args):
            if "\0" in arg:
                yield (f"extra_args[{i}]", "contains a NUL character")
        if (
            self.total_thread_count
            and self.webserver_thread_count
            and self.webserver_thread_count > self.total_thread_count
        ):
            yield (
                "webserver_thread_count",
                f"{self.webserver_thread_count} > total_thread_count {self.total_thread_count}",
            )


@attrs.frozen(kw_only=True)
class TrialQuoteConfig:
    """The quote that proves the API is really ready (after /program-id-to-label answers)."""

    input_mint: str = setting(WSOL_MINT, "Input mint of the trial quote.", pubkey=True)
    output_mint: str = setting(
        "",
        "Output mint; empty = the first mint of the market filter or the intermediate mints, "
        "else of /tokens. Jupiter is not ready until a trial quote succeeds.",
        pubkey=True,
    )
    amount: int = setting(10_000_000, "Input amount (atomic units).", ge=1)

    def problems(self) -> Iterator[Problem]:
        if not self.input_mint:
            yield ("input_mint", "required")
        elif self.output_mint == self.input_mint:
            yield ("output_mint", "is the input mint: a trial quote needs two mints")


@attrs.frozen(kw_only=True)
class ProcessConfig:
    """Supervision of the Jupiter process."""

    startup_timeout_s: float = setting(300.0, "Deadline for Starting → Ready.", ge=1)
    health_interval_s: float = setting(10.0, "Seconds between health checks once Ready.", gt=0)
    health_timeout_s: float = setting(5.0, "Deadline of one health check.", gt=0)
    unhealthy_restart_after: int = setting(3, "Consecutive failed checks before a restart.", ge=1)
    restart_backoff_initial_s: float = setting(1.0, "First crash-restart delay.", gt=0)
    restart_backoff_max_s: float = setting(60.0, "Cap of the doubling restart delay.", gt=0)
    max_restarts: int = setting(5, "Restarts allowed per restart_window_s before Failed.", ge=1)
    restart_window_s: float = setting(600.0, "Window for max_restarts.", gt=0)
    scheduled_restart_minutes: int = setting(0, "Restart every N minutes; 0 = never.", ge=0)
    stop_grace_s: float = setting(10.0, "SIGTERM → SIGKILL grace period.", ge=0)
    log_dir: str = setting("", "Child stdout/stderr log directory; empty = <state_dir>/logs.")
    log_max_bytes: int = setting(10 * 1024 * 1024, "Rotate the child log at this size.", ge=1024)
    log_backups: int = setting(3, "Rotated child logs kept.", ge=0)
    trial_quote: TrialQuoteConfig = setting(factory=TrialQuoteConfig, doc="Readiness trial quote.")

    def problems(self) -> Iterator[Problem]:
        if self.restart_backoff_initial_s > self.restart_backoff_max_s:
            yield (
                "restart_backoff_initial_s",
                f"{self.restart_backoff_initial_s} > restart_backoff_max_s "
                f"{self.restart_backoff_max_s}",
            )


@attrs.frozen(kw_only=True)
class JupiterConfig:
    """Where the jupiter-swap-api binary comes from, and how it is launched and supervised."""

    source: Literal["sim", "release", "path"] = setting(
        "sim",
        "sim: launch the simulated world's Jupiter face like the real binary; release: the "
        "managed, pinned install below; path: the executable at `path`.",
    )
    path: str = setting("", "Executable used when source = 'path' (must exist and be executable).")
    url: str = setting(
        "",
        "Base URL of an already running Jupiter API; set it to skip launching one.",
        url=True,
    )
    version: str = setting("", "Release tag to pin (e.g. v6.0.48); empty = the newest release.")
    releases_api_url: str = setting(
        "https://api.github.com/repos/jup-ag/jupiter-swap-api/releases",
        "GitHub-releases-compatible JSON API listing the releases.",
        url=True,
    )
    asset_name: str = setting(
        "jupiter-swap-api-x86_64-unknown-linux-gnu.zip", "Release asset for this platform."
    )
    sha256: str = setting("", "Expected sha256 of the asset; empty = trust on first use.")
    install_dir: str = setting("", "Versioned install cache; empty = ~/.cache/galileo/jupiter.")
    keep_versions: int = setting(3, "Installed versions kept for rollback.", ge=1)
    download_timeout_s: float = setting(600.0, "Deadline of one download.", gt=0)
    launch: LaunchConfig = setting(factory=LaunchConfig, doc="Launch flags.")
    process: ProcessConfig = setting(factory=ProcessConfig, doc="Supervision.")

    def problems(self) -> Iterator[Problem]:
        if self.source == "path" and not self.path:
            yield ("path", "required when source = 'path'")
        if self.sha256 and (len(self.sha256) != 64 or not _is_hex(self.sha256)):
            yield ("sha256", "must be 64 hex digits")


# --- network ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class NetworkConfig:
    """Source IPs and transport for every outbound request."""

    enable_multiple_ip: bool = setting(
        False, "Spread requests over several local source IPs (leases, per-IP cooldowns)."
    )
    manual_ips: list[str] = setting(
        factory=list,
        doc="Source IPs to use, as given (no family/blacklist/loopback filter); each must "
        "accept a bind at startup. Empty = auto-detect from the interfaces.",
        ip=True,
        unique=True,
    )
    allow_loopback: bool = setting(
        False, "Keep loopback addresses in auto-detection (true automatically with the sim)."
    )
    ip_family: Literal["ipv4", "ipv6", "any"] = setting(
        "ipv4", "Address family auto-detection keeps (and of the default-route fallback)."
    )
    ip_blacklist: list[str] = setting(
        factory=list,
        doc="Addresses or CIDRs auto-detection never uses (e.g. 10.0.0.5, 172.17.0.0/16).",
        unique=True,
    )
    inventory_refresh_s: float = setting(
        60.0, "Re-read the interfaces every N seconds while running; 0 = never.", ge=0
    )
    transport: Literal["fast", "httpx"] = setting(
        "fast", "Quote-path HTTP client: galileo's own HTTP/1.1 on trio, or httpx."
    )
    connect_timeout_ms: int = setting(1000, "TCP connect deadline.", ge=1)
    request_timeout_ms: int = setting(2000, "Whole-request deadline on the quote path.", ge=1)
    max_inflight_per_ip: int = setting(
        8, "Concurrent requests per source IP.", ge=1, le=MAX_TASKS_PER_IP
    )
    workers_per_ip: int = setting(
        0,
        "Quote workers per source IP; 0 = max_inflight_per_ip less the slot kept for swap "
        "instructions and lander sends.",
        ge=0,
        le=MAX_TASKS_PER_IP,
    )
    quote_rps_per_ip_max: float = setting(
        0.0,
        "Ceiling of the quote rate per source IP (requests/s); 0 = learn it from the answers "
        "(adaptive pacing, see docs/networking/multi-ip.md).",
        ge=0,
    )
    cooldown_429_initial_ms: int = setting(
        500,
        "First cooldown after HTTP 429; the answer's Retry-After replaces it when present. "
        "Doubles per 429 episode, reset by a clean answer.",
        ge=0,
    )
    cooldown_429_max_ms: int = setting(30_000, "Cap of the 429 cooldown.", ge=0)
    cooldown_timeout_initial_ms: int = setting(250, "First cooldown after a timeout.", ge=0)
    cooldown_timeout_max_ms: int = setting(10_000, "Cap of the timeout cooldown.", ge=0)
    cooldown_connect_error_initial_ms: int = setting(
        250, "First cooldown after a refused, reset or broken connection.", ge=0
    )
    cooldown_connect_error_max_ms: int = setting(
        2_000, "Cap of the connection-error cooldown.", ge=0
    )
    cooldown_5xx_initial_ms: int = setting(250, "First cooldown after an HTTP 5xx answer.", ge=0)
    cooldown_5xx_max_ms: int = setting(5_000, "Cap of the 5xx cooldown.", ge=0)

    def problems(self) -> Iterator[Problem]:
        blacklist: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for i, entry in enumerate(self.ip_blacklist):
            try:
                blacklist.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                yield (f"ip_blacklist[{i}]", f"{entry!r} is not an IP address or CIDR")
        for i, ip in enumerate(self.manual_ips):
            if _is_ip(ip):
                address = ipaddress.ip_address(ip)
                for network in blacklist:
                    if address.version == network.version and address in network:
                        yield (f"manual_ips[{i}]", f"{ip} is in ip_blacklist ({network})")
        if self.cooldown_429_initial_ms > self.cooldown_429_max_ms:
            yield ("cooldown_429_initial_ms", "greater than cooldown_429_max_ms")
        if self.cooldown_timeout_initial_ms > self.cooldown_timeout_max_ms:
            yield ("cooldown_timeout_initial_ms", "greater than cooldown_timeout_max_ms")
        if self.cooldown_connect_error_initial_ms > self.cooldown_connect_error_max_ms:
            yield (
                "cooldown_connect_error_initial_ms",
                "greater than cooldown_connect_error_max_ms",
            )
        if self.cooldown_5xx_initial_ms > self.cooldown_5xx_max_ms:
            yield ("cooldown_5xx_initial_ms", "greater than cooldown_5xx_max_ms")


# --- strategy -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TradeSizeRange:
    """Trade sizes (atomic units of the base mint) quoted for one base mint."""

    min: int = setting(100_000_000, "Smallest size.", ge=1, le=KERNEL_AMOUNT_MAX)
    max: int = setting(1_000_000_000, "Largest size.", ge=1, le=KERNEL_AMOUNT_MAX)
    lanes: int = setting(4, "Number of sizes between min and max (inclusive).", ge=1, le=MAX_LANES)
    spacing: Literal["linear", "geometric"] = setting("geometric", "How lanes are spaced.")
    explicit: list[int] = setting(
        factory=list,
        doc="Exact sizes; when set, min/max/lanes/spacing are ignored.",
        ge=1,
        le=KERNEL_AMOUNT_MAX,
        unique=True,
    )
    jitter_bps: int = setting(0, "Random ± jitter per quote, in bps of the size.", ge=0, le=5000)

    def problems(self) -> Iterator[Problem]:
        if self.min > self.max:
            yield ("", f"min {self.min} > max {self.max}")


@attrs.frozen(kw_only=True)
class BaseMintConfig:
    """A mint the bot starts and ends every round trip in."""

    mint: str = setting(WSOL_MINT, "Base mint (wrapped SOL by default).")
    trade_size_range: TradeSizeRange = setting(factory=TradeSizeRange, doc="Sizes to quote.")
    intermediate_mints: list[str] = setting(
        factory=list,
        doc="Mints X of base→X→base; empty = every token the API lists.",
        pubkey=True,
        unique=True,
    )
    intermediate_mints_file: str = setting(
        "",
        "File with more intermediate mints, one per line (`#` comments); must exist and hold "
        "at least one mint.",
    )
    min_profit_lamports: int = setting(
        0,
        "Per-mint minimum net profit; 0 = risk.min_profit_lamports.",
        ge=0,
        le=KERNEL_AMOUNT_MAX,
    )

    def problems(self) -> Iterator[Problem]:
        if not looks_like_pubkey(self.mint):
            yield ("mint", f"{self.mint!r} is not a base58 public key")


@attrs.frozen(kw_only=True)
class BlindConfig:
    """Blind strategy: quote base→X and X→base for every mint and size, keep what pays."""

    enabled: bool = setting(True, "Run the blind strategy.")
    base_mints: list[BaseMintConfig] = setting(
        factory=lambda: [BaseMintConfig()], doc="Base mints with their sizes and targets."
    )
    slippage_bps: int = setting(0, "slippageBps sent with each leg's quote.", ge=0, le=10_000)
    max_accounts: int = setting(32, "maxAccounts per leg (the merged tx must fit).", ge=8, le=64)
    only_direct_routes: bool = setting(False, "onlyDirectRoutes on each leg.")
    restrict_intermediate_tokens: bool = setting(True, "restrictIntermediateTokens per leg.")
    dexes: list[str] = setting(
        factory=list, doc="Only these DEX labels (empty = all).", unique=True
    )
    exclude_dexes: list[str] = setting(factory=list, doc="Never these DEX labels.", unique=True)

    def problems(self) -> Iterator[Problem]:
        if self.enabled and not self.base_mints:
            yield ("base_mints", "at least one base mint is needed when the strategy is enabled")
        for later, first in duplicates([base.mint for base in self.base_mints]):
            yield (f"base_mints[{later}].mint", f"duplicates base_mints[{first}].mint")


VenueName = Literal["jupiter", "dflow", "ultra", "titan"]
AVAILABLE_VENUES = ("jupiter", "dflow")
"""Venues galileo can quote and execute today (Ultra and Titan are planned)."""


@attrs.frozen(kw_only=True)
class LegPairConfig:
    """One venue pair: the buy leg (base → intermediate) on one, the sell leg back on the
    other, both legs in one atomic transaction."""

    buy: VenueName = setting("jupiter", "Venue of the buy leg (base → intermediate mint).")
    sell: VenueName = setting("jupiter", "Venue of the sell leg (intermediate → base mint).")

    @property
    def label(self) -> str:
        return f"{self.buy}>{self.sell}"


@attrs.frozen(kw_only=True)
class MultiLegConfig:
    """Venue pairs quoted over the blind strategy's base × intermediate × size lanes."""

    pairs: list[LegPairConfig] = setting(
        factory=list,
        doc='Venue pairs, e.g. [{buy = "dflow", sell = "jupiter"}]; the lanes take the '
        "pairs in turn. Empty = Jupiter for both legs (its circular route).",
    )

    def problems(self) -> Iterator[Problem]:
        for i, pair in enumerate(self.pairs):
            for side in ("buy", "sell"):
                venue = getattr(pair, side)
                if venue not in AVAILABLE_VENUES:
                    yield (
                        f"pairs[{i}].{side}",
                        f"{venue!r} is not available yet (available: "
                        f"{', '.join(AVAILABLE_VENUES)})",
                    )
        for later, first in duplicates([pair.label for pair in self.pairs]):
            yield (f"pairs[{later}]", f"duplicates pairs[{first}]")


@attrs.frozen(kw_only=True)
class StrategyConfig:
    """What to quote and how fresh a quote must be."""

    max_quote_age_ms: int = setting(400, "Drop buy/sell pairs older than this.", ge=1)
    batch_deadline_ms: int = setting(1500, "Deadline of one buy+sell batch.", ge=1)
    blind: BlindConfig = setting(factory=BlindConfig, doc="The blind strategy.")
    multi_leg: MultiLegConfig = setting(
        factory=MultiLegConfig, doc="Buy on one venue, sell on another (docs/multi-leg.md)."
    )


@attrs.frozen(kw_only=True)
class VenueConfig:
    """A hosted venue's API."""

    url: str = setting(
        "", "Base URL; empty = the simulated world's face (required without the sim).", url=True
    )
    api_key: Secret = _secret("Sent as the x-api-key header.")


@attrs.frozen(kw_only=True)
class VenuesConfig:
    """Hosted venues the multi-leg pairs can use (Jupiter is the [jupiter] section)."""

    dflow: VenueConfig = setting(
        factory=VenueConfig, doc="DFlow (production: https://quote-api.dflow.net)."
    )


# --- execution and landers ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TipConfig:
    """The Jito tip added to every transaction."""

    policy: Literal["static", "percent", "floor"] = setting(
        "percent", "static lamports, a percent of gross profit, or a tip-floor percentile."
    )
    static_lamports: int = setting(10_000, "Tip when policy = static.", ge=0, le=KERNEL_AMOUNT_MAX)
    percent_bps: int = setting(
        5000, "Share of gross profit when policy = percent.", ge=0, le=10_000
    )
    min_lamports: int = setting(
        1000, "Lower clamp (Jito refuses tips below 1000).", ge=0, le=KERNEL_AMOUNT_MAX
    )
    max_lamports: int = setting(10_000_000, "Upper clamp.", ge=0, le=KERNEL_AMOUNT_MAX)
    floor_percentile: Literal[25, 50, 75, 95, 99] = setting(
        50, "Tip-floor percentile when policy = floor."
    )
    floor_url: Secret = _secret(
        "Jito tip-floor endpoint (GET, JSON; a secret: it may carry a token); empty = the "
        "simulated world's Jito face when sim.enabled, else "
        "https://bundles.jito.wtf/api/v1/bundles/tip_floor.",
        url=True,
    )
    floor_refresh_s: float = setting(10.0, "How often the tip floor is polled.", gt=0)

    def problems(self) -> Iterator[Problem]:
        if self.min_lamports > self.max_lamports:
            yield ("min_lamports", f"{self.min_lamports} > max_lamports {self.max_lamports}")


@attrs.frozen(kw_only=True)
class ExecutionConfig:
    """Turning an opportunity into a signed transaction."""

    rpc_url: Secret = _secret(
        "RPC for blockhashes, ALTs, balances; empty = the sim's RPC.", url=True
    )
    rpc_urls: list[Secret] = setting(
        factory=list,
        doc="Primary and fallback RPCs in order (after rpc_url when both are set): a call "
        "that times out, fails in transport or answers 429/5xx moves on to the next; RPC "
        "landers send through every one of them.",
        secret=True,
        url=True,
        unique=True,
    )
    compute_unit_price_micro_lamports: int = setting(1000, "Priority fee price per CU.", ge=0)
    compute_unit_limit_margin_bps: int = setting(
        1000, "Margin added to the API's computeUnitLimit (bps).", ge=0
    )
    lamports_per_signature: int = setting(
        5000, "Base fee per signature.", ge=0, le=KERNEL_AMOUNT_MAX
    )
    compute_unit_limit_estimate: int = setting(
        400_000,
        "CU limit assumed when pricing a quote pair, before /swap-instructions reports the "
        "real one.",
        ge=1,
        le=MAX_COMPUTE_UNITS,
    )
    blockhash_refresh_ms: int = setting(400, "How often the shared blockhash is refreshed.", ge=50)
    blockhash_max_age_ms: int = setting(
        20_000, "Never sign with a blockhash fetched longer ago than this.", ge=100
    )
    blockhash_min_remaining_blocks: int = setting(
        20, "Never sign with a blockhash this close to its lastValidBlockHeight.", ge=0
    )
    route_mode: Literal["merged", "two_swap"] = setting(
        "merged",
        "merged: one circular quote, one swap instruction (needs --allow-circular-arbitrage); "
        "two_swap: one swap instruction per leg, for providers that cannot merge routes.",
    )
    create_token_accounts: bool = setting(
        True,
        "At startup, create the wallet's missing associated token accounts for the base, "
        "intermediate and wallet.extra_mints mints (CreateIdempotent, paid by the wallet); "
        "false = only report them.",
    )
    tip: TipConfig = setting(factory=TipConfig, doc="Tip policy.")

    def problems(self) -> Iterator[Problem]:
        # The profit kernel (galileo._fast.FeeModel) prices fees + the largest tip exactly in
        # int64 only up to 2^62; beyond that no opportunity could be evaluated.
        priority_fee = -(
            -self.compute_unit_limit_estimate * self.compute_unit_price_micro_lamports // 1_000_000
        )
        fees = self.lamports_per_signature + priority_fee
        if fees + self.tip.max_lamports > KERNEL_AMOUNT_MAX:
            yield (
                "compute_unit_price_micro_lamports",
                f"fees ({fees}) + tip.max_lamports ({self.tip.max_lamports}) exceed 2^62, "
                "the most the profit kernel prices exactly",
            )


@attrs.frozen(kw_only=True)
class JitoConfig:
    """Jito block-engine lander."""

    enabled: bool = setting(True, "Send bundles to Jito.")
    endpoints: list[Secret] = setting(
        factory=list,
        doc="Block-engine base URLs (secrets: they may carry a UUID); empty = the sim's Jito "
        "face (required when sim.enabled = false).",
        secret=True,
        url=True,
        unique=True,
    )
    auth_uuid: Secret = _secret("x-jito-auth UUID for raised limits (optional).")
    requests_per_second: float = setting(1.0, "Per endpoint and source IP.", gt=0)
    queue_timeout_ms: int = setting(500, "Drop a send that waited longer for its token.", ge=0)
    bundle_only_send_transaction: bool = setting(
        False, "Also sendTransaction?bundleOnly=true (revert-protected single-tx bundle)."
    )


@attrs.frozen(kw_only=True)
class RpcLanderConfig:
    """An RPC lander (sendTransaction, skipPreflight, maxRetries=0)."""

    enabled: bool = setting(False, "Send through these RPC endpoints.")
    endpoints: list[Secret] = setting(
        factory=list,
        doc="RPC URLs (secrets: they carry tokens).",
        secret=True,
        url=True,
        unique=True,
    )
    requests_per_second: float = setting(10.0, "Per endpoint.", gt=0)


@attrs.frozen(kw_only=True)
class LandersConfig:
    """Where signed transactions go."""

    jito: JitoConfig = setting(factory=JitoConfig, doc="Jito bundles.")
    rpc: RpcLanderConfig = setting(factory=RpcLanderConfig, doc="Plain RPC.")
    staked: RpcLanderConfig = setting(factory=RpcLanderConfig, doc="Staked-connection RPC.")
    send_deadline_ms: int = setting(1000, "Deadline of one fan-out to all landers.", ge=1)
    landing_timeout_s: float = setting(60.0, "Give up tracking a submission after this.", gt=0)

    def problems(self) -> Iterator[Problem]:
        for name in ("rpc", "staked"):
            lander: RpcLanderConfig = getattr(self, name)
            if lander.enabled and not lander.endpoints:
                yield (f"{name}.endpoints", "required when the lander is enabled")


# --- risk, wallet, observability ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RiskConfig:
    """Guards between an opportunity and a send."""

    min_profit_lamports: int = setting(
        20_000, "Skip opportunities netting less.", ge=0, le=KERNEL_AMOUNT_MAX
    )
    max_trade_size_lamports: int = setting(5_000_000_000, "Skip larger trades.", ge=1)
    max_loss_lamports: int = setting(
        100_000_000, "Pause when realised loss in loss_window_s exceeds this.", ge=0
    )
    loss_window_s: float = setting(3600.0, "Window of max_loss_lamports.", gt=0)
    failure_streak_pause: int = setting(10, "Pause after this many failed sends in a row.", ge=1)
    pause_s: float = setting(60.0, "How long a guard pause lasts.", ge=0)
    max_inflight: int = setting(4, "Submissions awaiting their outcome at once.", ge=1)
    max_inflight_lamports: int = setting(
        0,
        "Capital guard: the trade sizes of the submissions awaiting their outcome may add up "
        "to at most this; 0 = no cap.",
        ge=0,
    )
    daily_loss_limit_lamports: int = setting(
        0,
        "Capital guard: pause until the next UTC midnight once the realised loss of the UTC "
        "day exceeds this; 0 = no cap.",
        ge=0,
    )
    min_sol_balance_lamports: int = setting(
        0,
        "Capital guard: pause (and alert: galileo_risk_paused, the log) while the wallet's SOL "
        "balance, read every balance_check_s, is below this; 0 = no floor.",
        ge=0,
    )
    balance_check_s: float = setting(
        10.0, "Seconds between SOL balance reads for min_sol_balance_lamports.", gt=0
    )
    kill_switch_file: str = setting(
        "",
        "While this file exists, sending is paused; empty = <state_dir>/PAUSE, the file "
        "`galileo pause` / `galileo resume` create and remove. A relative path is relative to "
        "the configuration file's directory.",
    )
    dry_run: bool = setting(False, "Build and sign but never send.")


@attrs.frozen(kw_only=True)
class WalletConfig:
    """The signing keypair, and what it must hold before galileo trades (docs/wallet.md)."""

    keypair_path: str = setting(
        "",
        "A Solana CLI JSON keypair (64 numbers) or an encrypted keystore (`galileo wallet "
        "new | import | encrypt`); must exist and be readable by its owner only. Empty = the "
        "wallet the simulated world creates.",
    )
    allow_insecure_permissions: bool = setting(
        False,
        "Accept a keypair, keystore or passphrase file readable by group/others (otherwise "
        "refused).",
    )
    passphrase_file: str = setting(
        "",
        "File whose first line is the keystore's passphrase (readable by its owner only); "
        "empty = the environment variable below, else a prompt on a terminal.",
    )
    passphrase_env: str = setting(
        PASSPHRASE_ENV_DEFAULT,
        "Environment variable holding the keystore's passphrase (removed from the "
        "environment once read, so no child process inherits it).",
    )
    wrap_sol: bool = setting(
        True,
        "At startup, wrap SOL into the wallet's wSOL account up to wrap_sol_target_lamports "
        "(the routes run with wrapAndUnwrapSol=false: a wrapped-SOL base trades from it).",
    )
    wrap_sol_target_lamports: int = setting(
        0,
        "wSOL the wallet holds once prepared (topped up, never reduced); 0 = the largest "
        "trade size of the wrapped-SOL base mint, jitter included.",
        ge=0,
        le=KERNEL_AMOUNT_MAX,
    )
    sol_floor_lamports: int = setting(
        100_000_000,
        "SOL never wrapped: kept for fees, tips and rent. A wallet that cannot reach the wSOL "
        "target above it wraps what it can and says so.",
        ge=0,
        le=KERNEL_AMOUNT_MAX,
    )
    unwrap_on_exit: bool = setting(
        False,
        "When a run ends (after its closing wallet read), close the wSOL account: every "
        "wrapped lamport and its rent return to SOL.",
    )
    extra_mints: list[str] = setting(
        factory=list,
        doc="More mints to hold token accounts for: those multi-hop routes pass through "
        "(besides the base and intermediate mints), e.g. USDC.",
        pubkey=True,
        unique=True,
    )
    max_new_token_accounts: int = setting(
        64,
        "Refuse to start when more token accounts than this are missing (each locks about "
        "0.002 SOL of rent; an empty intermediate list means every token the API lists); "
        "0 = no limit.",
        ge=0,
    )

    def problems(self) -> Iterator[Problem]:
        if self.passphrase_env and (reason := env_name_problem(self.passphrase_env)):
            yield ("passphrase_env", reason)


@attrs.frozen(kw_only=True)
class MetricsConfig:
    """The /metrics, /health and /status endpoint."""

    enabled: bool = setting(True, "Serve the endpoint.")
    host: str = setting(
        "127.0.0.1", "Listen address, an IP address (loopback by default).", ip=True
    )
    port: int = setting(18090, "Listen port; 0 = any free port.", ge=0, le=65535)
    summary_json: str = setting("", "Write the run summary (JSON) here on exit; empty = don't.")


@attrs.frozen(kw_only=True)
class LoggingConfig:
    """Logs and the per-opportunity event trace."""

    level: Literal["debug", "info", "warning", "error"] = setting("info", "Minimum level.")
    format: Literal["auto", "json", "console", "journald"] = setting(
        "auto",
        "auto = readable on a TTY, JSON lines otherwise; journald = one line per event with "
        "a <priority> prefix and no timestamp (journald adds its own).",
    )
    file: str = setting("", "Also append JSON lines here.")
    file_max_bytes: int = setting(
        100 * 2**20, "Rotate the log file at this size; 0 = never.", ge=0, le=2**40
    )
    file_backups: int = setting(5, "Rotated log files kept (file.1 … file.N).", ge=0, le=1000)
    trace_file: str = setting("", "Per-opportunity event trace (JSONL); empty = off.")
    trace_max_bytes: int = setting(
        100 * 2**20, "Rotate the event trace at this size; 0 = never.", ge=0, le=2**40
    )
    trace_backups: int = setting(3, "Rotated trace files kept.", ge=0, le=1000)


@attrs.frozen(kw_only=True)
class SimFaultsConfig:
    """Faults the simulated world injects (rates are probabilities per request)."""

    latency_ms: float = setting(0.0, "Mean added latency per request.", ge=0)
    latency_jitter_ms: float = setting(0.0, "Uniform ± jitter on the added latency.", ge=0)
    quote_rps_per_ip: float = setting(0.0, "/quote limit per source IP; 0 = none (429 over).", ge=0)
    error_5xx_rate: float = setting(0.0, "Share of requests answered 500.", ge=0, le=1)
    malformed_rate: float = setting(0.0, "Share of bodies that are not valid JSON.", ge=0, le=1)
    truncated_rate: float = setting(0.0, "Share of bodies cut short.", ge=0, le=1)
    reset_rate: float = setting(0.0, "Share of connections reset without an answer.", ge=0, le=1)
    stall_rate: float = setting(0.0, "Share of requests that never answer.", ge=0, le=1)
    drop_bundle_rate: float = setting(0.0, "Share of accepted bundles that never land.", ge=0, le=1)
    crash_after_requests: int = setting(
        0, "The face stops serving after N requests (a process exits 1); 0 = never.", ge=0
    )
    latency_distribution: Literal["uniform", "exponential"] = setting(
        "uniform",
        "Added latency: uniform = latency_ms ± latency_jitter_ms; exponential = mean latency_ms.",
    )
    stall_ms: int = setting(
        30_000, "How long a stalled request hangs before its connection is reset.", ge=0
    )


@attrs.frozen(kw_only=True)
class SimConfig:
    """The simulated world (the default target on a fresh machine)."""

    enabled: bool = setting(True, "Run against the simulated world (no real network).")
    seed: int = setting(7, "World seed: same seed + same requests + same clock = same world.", ge=0)
    host: str = setting(
        "127.0.0.1", "Where the faces listen (a loopback address only).", loopback=True
    )
    rpc_port: int = setting(18899, "Solana RPC face; 0 = any free port.", ge=0, le=65535)
    jito_port: int = setting(18900, "Jito face; 0 = any free port.", ge=0, le=65535)
    token_count: int = setting(6, "Tokens besides wrapped SOL.", ge=1, le=64)
    dexes: list[str] = setting(
        factory=lambda: ["Raydium", "Orca Whirlpool", "Meteora DLMM"],
        doc="DEX labels.",
        unique=True,
    )
    pool_fee_bps: int = setting(25, "Fee of every pool.", ge=0, le=10_000)
    drift_bps_per_s: int = setting(5, "Random price drift per pool per second (bps).", ge=0)
    dislocation_rate_per_s: float = setting(0.5, "Dislocations between pools per second.", ge=0)
    dislocation_bps: int = setting(150, "Typical size of a dislocation (bps).", ge=0)
    startup_delay_s: float = setting(
        0.0, "Jupiter face startup delay (the real one takes minutes).", ge=0
    )
    jito_rps_per_ip: float = setting(1.0, "Jito limit per source IP per region; 0 = none.", ge=0)
    slot_ms: int = setting(400, "Slot duration.", ge=1)
    source_ips: list[str] = setting(
        factory=lambda: ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"],
        doc="Loopback source IPs the bot spreads its requests over in the simulated world "
        "(used when network.manual_ips is empty).",
        loopback=True,
        unique=True,
    )
    wallet_lamports: int = setting(
        100_000_000_000, "SOL the wallet is funded with.", ge=0, le=SIM_BALANCE_MAX
    )
    faults: SimFaultsConfig = setting(
        factory=SimFaultsConfig, doc="Fault injection on every face (see the per-face keys)."
    )
    jupiter_faults: SimFaultsConfig = setting(
        factory=SimFaultsConfig,
        doc="Faults of the Jupiter face only; a key set here overrides sim.faults for it.",
    )
    rpc_faults: SimFaultsConfig = setting(
        factory=SimFaultsConfig,
        doc="Faults of the RPC face only; a key set here overrides sim.faults for it.",
    )
    jito_faults: SimFaultsConfig = setting(
        factory=SimFaultsConfig,
        doc="Faults of the Jito face only; a key set here overrides sim.faults for it.",
    )
    wallet_wsol_lamports: int = setting(
        0,
        "Wrapped SOL in the wallet's wSOL token account at start; 0 = no wSOL account (a "
        "fresh wallet: galileo creates and funds it at startup).",
        ge=0,
        le=SIM_BALANCE_MAX,
    )
    wallet_token_accounts: bool = setting(
        False,
        "Start the wallet with an empty token account for every token and wrapped SOL (a "
        "wallet prepared already); false = SOL only.",
    )
    wallet_path: str = setting(
        "", "Where the world writes its wallet keypair; empty = <state_dir>/sim-wallet.json."
    )
    dislocation_half_life_s: float = setting(
        5.0, "Half-life of a dislocation (other traders close it).", gt=0
    )
    snapshot_poll_interval_ms: int = setting(
        200, "How often a separate Jupiter-face process re-reads pool reserves.", ge=1
    )
    dflow_port: int = setting(
        0, "DFlow face; 0 = any free port (`galileo sim` prints its URL).", ge=0, le=65535
    )
    dflow_dexes: list[str] = setting(
        factory=list,
        doc="DEX labels the DFlow face routes over (each one of sim.dexes); empty = every DEX "
        "of sim.dexes but the first, so the two aggregators' prices differ.",
        unique=True,
    )
    dflow_quote_rps_per_ip: float = setting(
        20.0, "DFlow /quote limit per source IP, like the hosted API (429 over); 0 = none.", ge=0
    )
    dflow_faults: SimFaultsConfig = setting(
        factory=SimFaultsConfig,
        doc="Faults of the DFlow face only; a key set here overrides sim.faults for it "
        "(its /quote limit is sim.dflow_quote_rps_per_ip, not quote_rps_per_ip).",
    )

    def dflow_venues(self) -> tuple[str, ...]:
        """The DEX labels the DFlow face routes over (``dflow_dexes`` or its default)."""
        return tuple(self.dflow_dexes) if self.dflow_dexes else tuple(self.dexes[1:])

    def problems(self) -> Iterator[Problem]:
        unknown = [dex for dex in self.dflow_dexes if dex not in self.dexes]
        if unknown:
            yield ("dflow_dexes", f"not in sim.dexes: {', '.join(unknown)}")


# --- root ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Config:
    """The whole configuration. Sections appear in the TOML file as [tables]."""

    state_dir: str = setting(
        ".galileo",
        "Ledger, logs, wallet of the sim, runtime and control files. A relative path is "
        "relative to the configuration file's directory (the working directory without one).",
    )
    jupiter: JupiterConfig = setting(factory=JupiterConfig, doc="The Jupiter binary.")
    network: NetworkConfig = setting(factory=NetworkConfig, doc="Source IPs and transports.")
    strategy: StrategyConfig = setting(factory=StrategyConfig, doc="What to quote.")
    venues: VenuesConfig = setting(factory=VenuesConfig, doc="Hosted venues (multi-leg).")
    execution: ExecutionConfig = setting(factory=ExecutionConfig, doc="Transaction building.")
    landers: LandersConfig = setting(factory=LandersConfig, doc="Where transactions go.")
    risk: RiskConfig = setting(factory=RiskConfig, doc="Guards and the kill switch.")
    wallet: WalletConfig = setting(factory=WalletConfig, doc="The signing keypair.")
    metrics: MetricsConfig = setting(factory=MetricsConfig, doc="Metrics endpoint.")
    logging: LoggingConfig = setting(factory=LoggingConfig, doc="Logs and traces.")
    sim: SimConfig = setting(factory=SimConfig, doc="The simulated world.")

    def problems(self) -> Iterator[Problem]:
        if not self.sim.enabled:
            if self.jupiter.source == "sim":
                yield ("jupiter.source", "'sim' needs sim.enabled = true")
            if not self.jupiter.url and not self.jupiter.launch.rpc_url:
                yield ("jupiter.launch.rpc_url", "required when sim.enabled = false")
            venues = {v for pair in self.strategy.multi_leg.pairs for v in (pair.buy, pair.sell)}
            if "dflow" in venues and not self.venues.dflow.url:
                yield ("venues.dflow.url", "required for a dflow pair when sim.enabled = false")
            if not self.execution.rpc_url and not self.execution.rpc_urls:
                yield ("execution.rpc_url", "required when sim.enabled = false (or rpc_urls)")
            if not self.wallet.keypair_path:
                yield ("wallet.keypair_path", "required when sim.enabled = false")
            if self.landers.jito.enabled and not self.landers.jito.endpoints:
                yield (
                    "landers.jito.endpoints",
                    "required when sim.enabled = false and landers.jito.enabled",
                )
        ports = {
            "metrics.port": self.metrics.port if self.metrics.enabled else 0,
            "jupiter.launch.port": self.jupiter.launch.port,
            "sim.rpc_port": self.sim.rpc_port if self.sim.enabled else 0,
            "sim.jito_port": self.sim.jito_port if self.sim.enabled else 0,
        }
        seen: dict[int, str] = {}
        for key, port in ports.items():
            if port and port in seen:
                yield (key, f"port {port} is also used by {seen[port]}")
            seen.setdefault(port, key)

    def secrets(self) -> list[Secret]:
        """Every non-empty secret in the tree (for log redaction)."""
        found: list[Secret] = []
        _collect_secrets(self, found)
        found.extend(env_secrets(self.jupiter.launch.env))
        return found


def _collect_secrets(node: Any, found: list[Secret]) -> None:
    if isinstance(node, Secret):
        if node:
            found.append(node)
    elif attrs.has(type(node)):
        for field in attrs.fields(type(node)):
            _collect_secrets(getattr(node, field.name), found)
    elif isinstance(node, list):
        for item in node:
            _collect_secrets(item, found)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def _is_ip(text: str) -> bool:
    return ip_problem(text) is None
