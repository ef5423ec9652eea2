"""Keypair-file checks shared by ``doctor`` and the wallet loader.

The wallet file is a Solana CLI keypair (plaintext: the whole wallet) or a galileo keystore
(the keypair sealed under a passphrase, :mod:`galileo._keystore`). Either way a file that
group or others can read is refused unless ``wallet.allow_insecure_permissions`` says
otherwise (then it is only a warning), and one that is neither is refused before anything
starts.
"""

from __future__ import annotations

import enum
import json
import stat
from pathlib import Path

import attrs

from galileo._keystore import keystore_problem, looks_like_keystore


class KeyfileStatus(enum.Enum):
    OK = "ok"
    MISSING = "missing"
    INSECURE = "insecure"
    INSECURE_ALLOWED = "insecure_allowed"


@attrs.frozen
class KeyfileCheck:
    status: KeyfileStatus
    message: str

    @property
    def blocks_run(self) -> bool:
        return self.status in (KeyfileStatus.MISSING, KeyfileStatus.INSECURE)


def check_keypair_file(path: str | Path, *, allow_insecure: bool = False) -> KeyfileCheck:
    """Whether ``path`` exists and is readable only by its owner."""
    file = Path(path)
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        return KeyfileCheck(KeyfileStatus.MISSING, f"{file} does not exist")
    except OSError as exc:
        return KeyfileCheck(KeyfileStatus.MISSING, f"{file}: {exc.strerror}")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        octal = oct(stat.S_IMODE(mode))
        if allow_insecure:
            return KeyfileCheck(
                KeyfileStatus.INSECURE_ALLOWED,
                f"{file} is mode {octal} (readable beyond its owner; allowed by "
                f"wallet.allow_insecure_permissions) — run: chmod 600 {file}",
            )
        return KeyfileCheck(
            KeyfileStatus.INSECURE,
            f"{file} is mode {octal}: group/others can read the wallet key; run: chmod 600 {file}"
            " (or set wallet.allow_insecure_permissions = true)",
        )
    return KeyfileCheck(KeyfileStatus.OK, f"{file} (mode {oct(stat.S_IMODE(mode))})")


_KEYPAIR_MAX_BYTES = 4096
"""A Solana CLI keypair (64 numbers as JSON) is under 300 bytes; anything far larger is some
other file and is not read whole."""


def read_wallet_file(path: str | Path) -> bytes:
    """The first bytes of a wallet file (enough for any keypair or keystore, and one more:
    a longer file is neither). Raises ``OSError``."""
    with Path(path).open("rb") as handle:
        return handle.read(_KEYPAIR_MAX_BYTES + 1)


def is_keystore_file(path: str | Path) -> bool:
    """Whether the file at ``path`` is (claims to be) an encrypted keystore."""
    try:
        return looks_like_keystore(read_wallet_file(path))
    except OSError:
        return False


def keypair_format_problem(path: str | Path) -> str | None:
    """Why the file at ``path`` is neither a Solana CLI keypair (a JSON array of the 64 bytes
    of the secret and public key, the public half matching) nor a well-formed keystore, or
    None. Never quotes the file: its content is the wallet's secret key."""
    file = Path(path)
    expected = "not a Solana CLI keypair (expected a JSON array of 64 numbers)"
    try:
        data = read_wallet_file(file)
    except OSError as exc:
        return f"{file}: cannot read: {exc.strerror or exc}"
    if not data.strip():
        return f"{file} is empty"
    if looks_like_keystore(data):
        problem = keystore_problem(data)
        return f"{file}: not a usable keystore: {problem}" if problem else None
    if len(data) > _KEYPAIR_MAX_BYTES:
        return f"{file}: {expected}"
    try:
        values = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return f"{file}: {expected}"
    if (
        not isinstance(values, list)
        or len(values) != 64
        or not all(type(v) is int and 0 <= v <= 255 for v in values)
    ):
        return f"{file}: {expected}"
    from solders.keypair import Keypair

    try:
        Keypair.from_bytes(bytes(values))
    except ValueError:
        return f"{file}: the public half does not match the secret key"
    return None
