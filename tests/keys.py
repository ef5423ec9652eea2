"""Keypair files as the Solana CLI writes them (a JSON array of 64 numbers), for the tests
of the wallet checks (``from tests.keys import write_keypair``)."""

from __future__ import annotations

import json
from pathlib import Path

from solders.keypair import Keypair


def write_keypair(path: Path, keypair: Keypair | None = None, *, mode: int = 0o600) -> Path:
    """A keypair file at ``path`` (a new keypair unless given) with permissions ``mode``."""
    path.write_text(json.dumps(list(bytes(keypair or Keypair()))))
    path.chmod(mode)
    return path
