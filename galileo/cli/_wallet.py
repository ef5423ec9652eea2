"""``galileo wallet``: the wallet's file (``new``, ``import``, ``encrypt``, ``pubkey``) and its
state on chain (``status``, ``prepare``, ``unwrap``). See docs/wallet.md.

The chain commands talk to ``execution.rpc_url``; against the simulated world (no RPC
configured) to the world at ``sim.host:sim.rpc_port`` — a ``galileo sim`` or a running
``galileo run`` — with its wallet file. A new or imported key is written as an encrypted
keystore (0600, never over an existing file); its passphrase comes from
``wallet.passphrase_file``, ``$GALILEO_WALLET_PASSPHRASE`` (``wallet.passphrase_env``) or the
terminal, asked twice.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from galileo._secret import Secret, redact_value
from galileo.cli._common import (
    EXIT_OK,
    EXIT_USAGE,
    Subparsers,
    add_config_argument,
    load_or_report,
)

if TYPE_CHECKING:
    from solders.keypair import Keypair

    from galileo._config import Config
    from galileo.net import JsonRpcClient
    from galileo.tx import Wallet, WalletPrep, WalletStatus

T = TypeVar("T")

_LAMPORTS_PER_SOL = 1_000_000_000


def register(subparsers: Subparsers) -> None:
    wallet = subparsers.add_parser(
        "wallet",
        help="the wallet: its key file, its balances and token accounts",
        description="Create, import and encrypt the wallet's key file, and read or prepare "
        "the wallet on chain (token accounts, wrapped SOL). See docs/wallet.md.",
    )
    actions = wallet.add_subparsers(dest="wallet_command", metavar="ACTION", required=True)

    status = actions.add_parser(
        "status",
        help="SOL, wSOL and which token accounts exist",
        description="Read the wallet from the chain: SOL, wrapped SOL against its target, and "
        "the token account of every mint the routes need (exists or missing, with its "
        "balance). Needs no passphrase.",
    )
    prepare = actions.add_parser(
        "prepare",
        help="create the missing token accounts and wrap SOL up to the target",
        description="What `galileo run` does at startup, on its own: create the missing token "
        "accounts (CreateIdempotent) and wrap SOL up to wallet.wrap_sol_target_lamports, "
        "keeping wallet.sol_floor_lamports. Running it again does nothing.",
    )
    unwrap = actions.add_parser(
        "unwrap",
        help="close the wSOL account: every wrapped lamport returns to SOL",
        description="Close the wallet's wrapped-SOL account; its wSOL and rent return to SOL.",
    )
    for command in (status, prepare, unwrap):
        add_config_argument(command)
        command.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)
    prepare.set_defaults(handler=_prepare)
    unwrap.set_defaults(handler=_unwrap)

    new = actions.add_parser(
        "new",
        help="generate a keypair into a new encrypted keystore",
        description="Generate a keypair and write it to PATH as an encrypted keystore (or, "
        "with --plaintext, a Solana CLI keypair file), mode 0600. Prints the public key.",
    )
    new.add_argument("path", metavar="PATH", help="the file to create (never overwritten)")
    new.add_argument(
        "--plaintext", action="store_true", help="write a Solana CLI keypair, not encrypted"
    )
    new.set_defaults(handler=_new)
    imported = actions.add_parser(
        "import",
        help="seal a secret key read from stdin into a new encrypted keystore",
        description="Read a secret key from stdin (a JSON array of 64 numbers, as the Solana "
        "CLI writes, or a base58 keypair, as wallets export; asked for without echo on a "
        "terminal) and write it to PATH as an encrypted keystore. Prints the public key.",
    )
    imported.add_argument("path", metavar="PATH", help="the keystore to create")
    imported.set_defaults(handler=_import)
    encrypt = actions.add_parser(
        "encrypt",
        help="seal a plaintext keypair file into a new encrypted keystore",
        description="Write the keypair of KEYFILE (a Solana CLI keypair) to PATH as an "
        "encrypted keystore. KEYFILE is left as it is: point wallet.keypair_path at PATH, "
        "then delete it.",
    )
    encrypt.add_argument("keyfile", metavar="KEYFILE", help="the plaintext keypair file")
    encrypt.add_argument("path", metavar="PATH", help="the keystore to create")
    encrypt.set_defaults(handler=_encrypt)
    pubkey = actions.add_parser(
        "pubkey",
        help="print the wallet's public key",
        description="Print the public key of PATH (default: wallet.keypair_path, else the "
        "simulated world's wallet); a keystore's without its passphrase.",
    )
    pubkey.add_argument("path", metavar="PATH", nargs="?", help="keypair or keystore file")
    pubkey.set_defaults(handler=_pubkey)
    for command in (new, imported, encrypt, pubkey):
        add_config_argument(command)


# --- where the wallet is ------------------------------------------------------------------


def _wallet_path(config: Config) -> str:
    """``wallet.keypair_path``, else the file the simulated world writes its wallet to."""
    if config.wallet.keypair_path or not config.sim.enabled:
        return config.wallet.keypair_path
    return config.sim.wallet_path or str(Path(config.state_dir) / "sim-wallet.json")


def _rpc_url(config: Config) -> str:
    execution = config.execution
    configured = [execution.rpc_url, *execution.rpc_urls]
    url = next((u.reveal() for u in configured if u), "")
    return url or f"http://{config.sim.host}:{config.sim.rpc_port}"


def _jupiter_url(config: Config) -> str:
    launch = config.jupiter.launch
    return config.jupiter.url or f"http://{launch.host}:{launch.port}"


def _load_wallet(config: Config) -> Wallet:
    import attrs

    from galileo.tx import Wallet

    return Wallet.load(attrs.evolve(config.wallet, keypair_path=_wallet_path(config)))


def _owner(config: Config) -> str:
    """The wallet's public key, read without a passphrase."""
    return _file_pubkey(_wallet_path(config), config)


def _file_pubkey(path: str, config: Config) -> str:
    from galileo._keyfile import is_keystore_file, read_wallet_file
    from galileo._keystore import keystore_pubkey
    from galileo.tx import Wallet

    if path and is_keystore_file(path):
        from galileo._keyfile import KeyfileStatus, check_keypair_file
        from galileo.tx import WalletError, WalletErrorKind

        check = check_keypair_file(path, allow_insecure=config.wallet.allow_insecure_permissions)
        if check.status is KeyfileStatus.INSECURE:
            raise WalletError(WalletErrorKind.INSECURE, path, check.message)
        return keystore_pubkey(read_wallet_file(path))
    allow = config.wallet.allow_insecure_permissions
    return Wallet.load(path, allow_insecure=allow).pubkey_str


def _on_chain(config: Config, work: Callable[[JsonRpcClient], Awaitable[T]]) -> T:
    """Run ``work`` with the configured RPC (checked to answer first), closed afterwards."""
    import trio

    from galileo.net import JsonRpcClient

    async def run() -> T:
        rpc = JsonRpcClient(Secret(_rpc_url(config)))
        try:
            await _reachable(rpc)
            return await work(rpc)
        finally:
            await rpc.aclose()

    return trio.run(run)


async def _reachable(rpc: JsonRpcClient) -> None:
    """One call, not retried: an RPC that is not there fails at once (one line, exit 1)."""
    from galileo._errors import StartupError
    from galileo.net import RpcError

    try:
        await rpc.call("getSlot", [], timeout_s=10.0)
    except RpcError as exc:
        raise StartupError(
            f"the RPC at {rpc.label} does not answer ({exc.message}): set execution.rpc_url, "
            "or start the simulated world (galileo sim, or galileo run)"
        ) from None


class _ApiTokens:
    """The API's token list over plain HTTP (``TokenLister`` for the wallet plan)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    async def tokens(self, *, ip: str = "", deadline: float | None = None) -> list[str]:
        import httpx

        from galileo._errors import GalileoError

        try:
            async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
                response = await client.get(f"{self.url}/tokens")
                response.raise_for_status()
                mints = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GalileoError(f"{self.url}/tokens: {type(exc).__name__}") from None
        if not isinstance(mints, list) or not all(isinstance(m, str) for m in mints):
            raise GalileoError(f"{self.url}/tokens: not a list of mints")
        return mints


# --- on chain --------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    owner = _owner(config)
    from galileo._wallet_setup import api_mints, wallet_plan
    from galileo.tx import wallet_status

    async def read(rpc: JsonRpcClient) -> WalletStatus:
        tokens = await api_mints(config, _ApiTokens(_jupiter_url(config)))
        return await wallet_status(rpc, owner, wallet_plan(config, tokens).mints)

    status = _on_chain(config, read)
    target = _target(config)
    if args.json:
        print(
            json.dumps(
                {
                    **status.as_dict(),
                    "wrap_target_lamports": target,
                    "ready": _ready(status, target),
                }
            )
        )
        return EXIT_OK
    floor = config.wallet.sol_floor_lamports
    print(f"wallet   {owner}  ({_wallet_path(config)})")
    print(f"rpc      {redact_value(_rpc_url(config))}")
    print(f"SOL      {_sol(status.sol_lamports)}  (floor {_sol(floor)})")
    print(f"wSOL     {_sol(status.wsol_lamports)}  (target {_sol(target)})")
    exists = sum(1 for a in status.accounts if a.exists)
    print(f"token accounts: {exists} of {len(status.accounts)} exist")
    for account in status.accounts:
        state = "exists " if account.exists else "missing"
        amount = "" if account.amount is None else f"  {account.amount}"
        print(f"  {state}  {account.mint}  {account.address}{amount}")
    for mint in status.unknown_mints:
        print(f"  unknown  {mint}  (no token mint at this address)")
    print(f"ready: {_ready_text(status, target)}")
    return EXIT_OK


def _prepare(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    wallet = _load_wallet(config)
    from galileo._wallet_setup import prepare_for_run

    async def prepare(rpc: JsonRpcClient) -> WalletPrep:
        return await prepare_for_run(config, rpc, wallet, tokens=_ApiTokens(_jupiter_url(config)))

    prep = _on_chain(config, prepare)
    if args.json:
        print(json.dumps(prep.as_dict()))
        return EXIT_OK
    if prep.created:
        print(f"created {len(prep.created)} token account(s): {', '.join(prep.created)}")
    if prep.wrapped_lamports:
        print(f"wrapped {_sol(prep.wrapped_lamports)} SOL")
    if not prep.changed:
        print("nothing to do: every token account exists and wSOL is at its target")
    for mint in prep.accounts.unknown_mints:
        print(f"unknown mint {mint} (no token mint at this address): skipped")
    target = prep.wrap_target_lamports
    print(
        f"wSOL {_sol(prep.status.wsol_lamports)} (target {_sol(target)}), "
        f"SOL {_sol(prep.status.sol_lamports)}"
    )
    if prep.shortfall_lamports:
        print(
            f"wSOL is {_sol(prep.shortfall_lamports)} below its target: the SOL above "
            f"wallet.sol_floor_lamports ({_sol(config.wallet.sol_floor_lamports)}) is not enough"
        )
    return EXIT_OK


def _unwrap(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    wallet = _load_wallet(config)
    from galileo.tx import unwrap_sol

    async def unwrap(rpc: JsonRpcClient) -> int | None:
        return await unwrap_sol(
            rpc, wallet, cu_price=config.execution.compute_unit_price_micro_lamports
        )

    unwrapped = _on_chain(config, unwrap)
    if args.json:
        print(json.dumps({"unwrapped_lamports": unwrapped}))
    elif unwrapped is None:
        print("no wSOL account: nothing to unwrap")
    else:
        print(f"unwrapped {_sol(unwrapped)} SOL; the wSOL account is closed")
    return EXIT_OK


# --- the key file ---------------------------------------------------------------------------


def _new(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    if _exists(args.path, "new"):
        return EXIT_USAGE
    from solders.keypair import Keypair

    keypair = Keypair()
    if args.plaintext:
        from galileo._keystore import write_new_private_file

        write_new_private_file(args.path, json.dumps(list(bytes(keypair))))
    else:
        _write_keystore(config, keypair, args.path)
    print(keypair.pubkey())
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    if _exists(args.path, "import"):
        return EXIT_USAGE
    keypair = _read_secret_key()
    if keypair is None:
        print(
            "galileo wallet import: stdin: not a secret key (expected a JSON array of 64 "
            "numbers or a base58 keypair)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    _write_keystore(config, keypair, args.path)
    print(keypair.pubkey())
    return EXIT_OK


def _encrypt(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    from galileo._keyfile import is_keystore_file
    from galileo.tx import Wallet

    if is_keystore_file(args.keyfile):
        print(f"galileo wallet encrypt: {args.keyfile} is a keystore already", file=sys.stderr)
        return EXIT_USAGE
    if _exists(args.path, "encrypt"):
        return EXIT_USAGE
    allow = config.wallet.allow_insecure_permissions
    wallet = Wallet.load(args.keyfile, allow_insecure=allow)
    _write_keystore(config, wallet.keypair, args.path)
    print(wallet.pubkey_str)
    print(
        f"point wallet.keypair_path at {args.path}, then delete {args.keyfile}",
        file=sys.stderr,
    )
    return EXIT_OK


def _pubkey(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    path = args.path or _wallet_path(config)
    if not path:
        print("galileo wallet pubkey: no PATH and no wallet.keypair_path", file=sys.stderr)
        return EXIT_USAGE
    print(_file_pubkey(path, config))
    return EXIT_OK


def _exists(path: str, command: str) -> bool:
    if Path(path).expanduser().exists():
        print(
            f"galileo wallet {command}: {path} exists: a wallet file is never overwritten",
            file=sys.stderr,
        )
        return True
    return False


def _write_keystore(config: Config, keypair: Keypair, path: str) -> None:
    from galileo._keystore import (
        MIN_PASSPHRASE_CHARS,
        KeystoreError,
        read_passphrase,
        seal,
        write_new_private_file,
    )

    passphrase = read_passphrase(
        file=config.wallet.passphrase_file,
        env_name=config.wallet.passphrase_env,
        allow_insecure=config.wallet.allow_insecure_permissions,
        confirm=True,
        purpose=f"the new keystore {path}",
    )
    if len(passphrase.secret.reveal()) < MIN_PASSPHRASE_CHARS:
        raise KeystoreError(
            passphrase.key,
            f"the passphrase from {passphrase.origin} is shorter than {MIN_PASSPHRASE_CHARS} "
            "characters",
        )
    write_new_private_file(path, seal(keypair, passphrase.secret))


def _read_secret_key() -> Keypair | None:
    """A keypair from stdin (asked for without echo on a terminal), or None. The text read is
    never printed: it is the secret key."""
    import getpass

    from solders.keypair import Keypair

    if sys.stdin.isatty():
        text = getpass.getpass("Secret key (JSON array or base58): ")
    else:
        text = sys.stdin.read(4096)
    text = text.strip()
    try:
        if text.startswith("["):
            values = json.loads(text)
            if not (
                isinstance(values, list)
                and len(values) == 64
                and all(type(v) is int and 0 <= v <= 255 for v in values)
            ):
                return None
            return Keypair.from_bytes(bytes(values))
        return Keypair.from_base58_string(text)
    except ValueError:
        return None


# --- showing --------------------------------------------------------------------------------


def _target(config: Config) -> int:
    from galileo._wallet_setup import wrap_target

    return wrap_target(config) if config.wallet.wrap_sol else 0


def _ready(status: WalletStatus, target: int) -> bool:
    return not status.missing and not status.unknown_mints and status.wsol_lamports >= target


def _ready_text(status: WalletStatus, target: int) -> str:
    if _ready(status, target):
        return "yes"
    reasons = []
    if status.missing:
        reasons.append(f"{len(status.missing)} token account(s) missing")
    if status.unknown_mints:
        reasons.append(f"{len(status.unknown_mints)} unknown mint(s)")
    if status.wsol_lamports < target:
        reasons.append(f"wSOL {_sol(target - status.wsol_lamports)} below its target")
    return "no: " + "; ".join(reasons) + " (galileo wallet prepare, or galileo run, fixes it)"


def _sol(lamports: int) -> str:
    """Lamports as SOL, exactly (integer arithmetic, nine decimals)."""
    sign = "-" if lamports < 0 else ""
    whole, frac = divmod(abs(lamports), _LAMPORTS_PER_SOL)
    return f"{sign}{whole}.{frac:09d}"
