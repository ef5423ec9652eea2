"""Keypair-file checks shared by ``doctor`` and the wallet loader.

A Solana CLI keypair is the whole wallet: a file that group or others can read is refused
unless ``wallet.allow_insecure_permissions`` says otherwise (then it is only a warning).
"""

from __future__ import annotations

import enum
import stat
from pathlib import Path

import attrs


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
                "wallet.allow_insecure_permissions) — run: chmod 600 {file}",
            )
        return KeyfileCheck(
            KeyfileStatus.INSECURE,
            f"{file} is mode {octal}: group/others can read the wallet key; run: chmod 600 {file}"
            " (or set wallet.allow_insecure_permissions = true)",
        )
    return KeyfileCheck(KeyfileStatus.OK, f"{file} (mode {oct(stat.S_IMODE(mode))})")
