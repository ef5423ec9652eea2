"""Program ids, well-known accounts and protocol constants used by the simulated world."""

from __future__ import annotations

import hashlib
from typing import Final

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from galileo._solana import JITO_TIP_ACCOUNTS, WSOL_MINT

__all__ = ["JITO_TIP_ACCOUNTS", "WSOL_MINT"]

JUPITER_PROGRAM_ID: Final = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
TOKEN_PROGRAM_ID: Final = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
ASSOCIATED_TOKEN_PROGRAM_ID: Final = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
SYSTEM_PROGRAM_ID: Final = "11111111111111111111111111111111"
COMPUTE_BUDGET_PROGRAM_ID: Final = "ComputeBudget111111111111111111111111111111"
ADDRESS_LOOKUP_TABLE_PROGRAM_ID: Final = "AddressLookupTab1e1111111111111111111111111"

# Real mainnet program ids of the DEXes the world imitates (label -> program id). A label
# not listed here gets a program id derived from its name.
KNOWN_DEX_PROGRAM_IDS: Final = {
    "Raydium": "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",
    "Raydium CLMM": "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK",
    "Orca Whirlpool": "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc",
    "Orca V2": "9W959DqEETiGZocYWCQPaJ6sBmUzgfxXfqGeTEdp3aQP",
    "Meteora DLMM": "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo",
    "Meteora": "Eo7WjKq67rjJQSZxS6z3YkapzY3eMj6Xy8X5EQVn5UaB",
    "Phoenix": "PhoeNiXZ8ByJGLkxNfZRnkUfjvmuYqLR89jjFHGqdXY",
    "Lifinity V2": "2wT8Yq49kHgDzXuPxZSaeLaH1qbmGXtEyPy64bL7aD3c",
}


# Jupiter v6 on-chain error: SlippageToleranceExceeded.
SLIPPAGE_TOLERANCE_EXCEEDED: Final = 6001
LAMPORTS_PER_SIGNATURE: Final = 5000
MAX_PROCESSING_AGE_SLOTS: Final = 150
U64_MAX: Final = 2**64 - 1


def derived_keypair(seed: int, *parts: object) -> Keypair:
    """A keypair that is a pure function of the world seed and a label (deterministic worlds)."""
    material = ":".join(["galileo-sim", str(seed), *map(str, parts)]).encode()
    return Keypair.from_seed(hashlib.sha256(material).digest())


def derived_pubkey(seed: int, *parts: object) -> Pubkey:
    return derived_keypair(seed, *parts).pubkey()


def dex_program_id(label: str) -> str:
    known = KNOWN_DEX_PROGRAM_IDS.get(label)
    if known is not None:
        return known
    return str(derived_pubkey(0, "dex", label))
