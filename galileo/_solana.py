"""Facts about Solana and Jito that several areas need (the bot and the simulated world)."""

from __future__ import annotations

from typing import Final

WSOL_MINT: Final = "So11111111111111111111111111111111111111112"
"""Wrapped SOL, the default base mint."""

JITO_TIP_ACCOUNTS: Final = (
    "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
    "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
    "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
    "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
    "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
    "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
    "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
    "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
)
"""The eight mainnet Jito tip accounts (constant per Jito's docs; ``getTipAccounts`` at
startup may replace them)."""
