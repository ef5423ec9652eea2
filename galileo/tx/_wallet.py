"""The signing wallet: a Solana CLI JSON keypair (a JSON array of 64 byte values), or an
encrypted keystore holding one (:mod:`galileo._keystore`, opened with a passphrase).

Either file is the wallet, so it is refused when group or others can read it unless
``wallet.allow_insecure_permissions`` is set (then it is loaded with a warning).
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from galileo._config import WalletConfig
from galileo._keyfile import KeyfileStatus, check_keypair_file, read_wallet_file
from galileo._keystore import (
    PASSPHRASE_ENV_DEFAULT,
    KeystoreMalformed,
    Passphrase,
    looks_like_keystore,
    open_keystore,
    read_passphrase,
)
from galileo.tx._errors import WalletError, WalletErrorKind

_log = logging.getLogger("galileo.tx")

_NOT_A_KEYPAIR = "not a Solana CLI keypair (expected a JSON array of 64 numbers)"


class Wallet:
    """The keypair that pays for and signs every transaction. Its repr never shows the key."""

    __slots__ = ("_keypair", "path", "pubkey", "pubkey_str")

    def __init__(self, keypair: Keypair, *, path: str = "") -> None:
        self._keypair = keypair
        self.pubkey: Pubkey = keypair.pubkey()
        self.pubkey_str = str(self.pubkey)
        self.path = path

    @classmethod
    def load(
        cls,
        config: WalletConfig | str | Path,
        *,
        allow_insecure: bool | None = None,
        passphrase: Passphrase | None = None,
        environ: MutableMapping[str, str] | None = None,
        interactive: bool | None = None,
    ) -> Wallet:
        """Load the keypair at ``config.keypair_path`` (or a path): a plaintext keypair, or a
        keystore opened with ``passphrase`` (default: from ``config.passphrase_file``, else
        ``$config.passphrase_env`` in ``environ``, else a prompt when ``interactive``, by
        default when stdin is a terminal).

        Raises :class:`WalletError` (``missing``, ``insecure``, ``malformed``),
        :class:`~galileo._keystore.KeystoreError` (a configuration error: no passphrase, or
        a wrong one). A file readable by group/others is ``insecure`` unless
        ``allow_insecure`` (default: ``config.allow_insecure_permissions``; ``False`` for a
        bare path).
        """
        passphrase_file, passphrase_env = "", PASSPHRASE_ENV_DEFAULT
        if isinstance(config, WalletConfig):
            path = config.keypair_path
            allowed = (
                config.allow_insecure_permissions if allow_insecure is None else allow_insecure
            )
            passphrase_file, passphrase_env = config.passphrase_file, config.passphrase_env
        else:
            path = str(config)
            allowed = bool(allow_insecure)
        if not path:
            raise WalletError(
                WalletErrorKind.MISSING, "", "wallet.keypair_path is empty: no wallet to sign with"
            )
        check = check_keypair_file(path, allow_insecure=allowed)
        if check.status is KeyfileStatus.MISSING:
            raise WalletError(WalletErrorKind.MISSING, path, check.message)
        if check.status is KeyfileStatus.INSECURE:
            raise WalletError(WalletErrorKind.INSECURE, path, check.message)
        if check.status is KeyfileStatus.INSECURE_ALLOWED:
            _log.warning("insecure keypair file", extra={"fields": {"path": path}})
        data = _read(Path(path))
        encrypted = looks_like_keystore(data)
        if encrypted:
            passphrase = passphrase or read_passphrase(
                file=passphrase_file,
                env_name=passphrase_env,
                allow_insecure=allowed,
                purpose=f"keystore {path}",
                environ=environ,
                interactive=interactive,
            )
            try:
                keypair = open_keystore(data, passphrase, path=path)
            except KeystoreMalformed as exc:
                raise WalletError(
                    WalletErrorKind.MALFORMED, path, f"{path}: not a usable keystore: {exc}"
                ) from None
        else:
            keypair = _parse_keypair(Path(path), data)
        wallet = cls(keypair, path=path)
        _log.info(
            "wallet loaded",
            extra={"fields": {"pubkey": wallet.pubkey_str, "path": path, "encrypted": encrypted}},
        )
        return wallet

    @property
    def keypair(self) -> Keypair:
        """The solders keypair (for signing; never log it)."""
        return self._keypair

    def __repr__(self) -> str:
        return f"Wallet(pubkey={self.pubkey_str!r}, path={self.path!r})"


def _malformed(path: Path, reason: str) -> WalletError:
    # Never echo the file's content: it is the secret key.
    return WalletError(WalletErrorKind.MALFORMED, str(path), f"{path}: {reason}")


def _read(path: Path) -> bytes:
    try:
        return read_wallet_file(path)
    except OSError as exc:
        raise _malformed(path, f"cannot read: {type(exc).__name__}") from None


def _parse_keypair(path: Path, data: bytes) -> Keypair:
    """A Solana CLI keypair from the file's bytes."""
    try:
        values = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise _malformed(path, _NOT_A_KEYPAIR) from None
    if (
        not isinstance(values, list)
        or len(values) != 64
        or not all(type(v) is int and 0 <= v <= 255 for v in values)
    ):
        raise _malformed(path, _NOT_A_KEYPAIR)
    try:
        keypair = Keypair.from_bytes(bytes(values))
    except ValueError:
        raise _malformed(path, "the public half does not match the secret key") from None
    return keypair
