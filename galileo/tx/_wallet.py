"""The signing wallet: a Solana CLI JSON keypair (a JSON array of 64 byte values).

The file is the whole wallet, so it is refused when group or others can read it unless
``wallet.allow_insecure_permissions`` is set (then it is loaded with a warning).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from galileo._config import WalletConfig
from galileo._keyfile import KeyfileStatus, check_keypair_file
from galileo.tx._errors import WalletError, WalletErrorKind

_log = logging.getLogger("galileo.tx")


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
        cls, config: WalletConfig | str | Path, *, allow_insecure: bool | None = None
    ) -> Wallet:
        """Load the keypair at ``config.keypair_path`` (or a path).

        Raises :class:`WalletError` (``missing``, ``insecure``, ``malformed``). A file readable
        by group/others is ``insecure`` unless ``allow_insecure`` (default:
        ``config.allow_insecure_permissions``; ``False`` for a bare path).
        """
        if isinstance(config, WalletConfig):
            path = config.keypair_path
            allowed = (
                config.allow_insecure_permissions if allow_insecure is None else allow_insecure
            )
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
        keypair = _read_keypair(Path(path))
        wallet = cls(keypair, path=path)
        _log.info("wallet loaded", extra={"fields": {"pubkey": wallet.pubkey_str, "path": path}})
        return wallet

    @property
    def keypair(self) -> Keypair:
        """The solders keypair (for signing; never log it)."""
        return self._keypair

    def __repr__(self) -> str:
        return f"Wallet(pubkey={self.pubkey_str!r}, path={self.path!r})"


def _read_keypair(path: Path) -> Keypair:
    def malformed(reason: str) -> WalletError:
        # Never echo the file's content: it is the secret key.
        return WalletError(WalletErrorKind.MALFORMED, str(path), f"{path}: {reason}")

    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise malformed(f"cannot read: {type(exc).__name__}") from None
    try:
        values = json.loads(text)
    except ValueError:
        raise malformed("not a Solana CLI keypair (expected a JSON array of 64 numbers)") from None
    if (
        not isinstance(values, list)
        or len(values) != 64
        or not all(type(v) is int and 0 <= v <= 255 for v in values)
    ):
        raise malformed("not a Solana CLI keypair (expected a JSON array of 64 numbers)")
    try:
        keypair = Keypair.from_bytes(bytes(values))
    except ValueError:
        raise malformed("the public half does not match the secret key") from None
    return keypair
