"""A leg of a route, provider-neutral: what a venue quoted, and the instructions that execute
it.

Every provider (the self-hosted Jupiter binary today; Ultra, DFlow and Titan later) turns its
own wire format into these values, so the stages after the quote (evaluation, transaction
building) never read a venue's JSON.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs


class Provider(enum.StrEnum):
    """Who quoted a leg. Values are the ``provider`` metric label and the ledger's record."""

    JUPITER = "jupiter"
    ULTRA = "ultra"
    DFLOW = "dflow"
    TITAN = "titan"


@attrs.frozen(kw_only=True)
class LegQuote:
    """One quoted leg ``input_mint → output_mint``: amounts in atomic units, ``received_at`` the
    trio clock when the answer was complete.

    A provider subclasses this with its own wire fields (e.g. the raw body it must be sent
    back); stages after the quote read only these.
    """

    provider: Provider
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    received_at: float = attrs.field(default=0.0, eq=False)


@attrs.frozen
class AccountMeta:
    pubkey: str
    is_signer: bool
    is_writable: bool


@attrs.frozen
class Instruction:
    """A Solana instruction as venues return it (``data`` stays base64)."""

    program_id: str
    accounts: tuple[AccountMeta, ...]
    data: str


@attrs.frozen
class SwapInstructions:
    """The instructions that execute one leg (or a merged round trip), with the lookup tables
    they need and the venue's compute-unit estimate."""

    compute_budget_instructions: tuple[Instruction, ...]
    setup_instructions: tuple[Instruction, ...]
    swap_instruction: Instruction
    cleanup_instruction: Instruction | None
    other_instructions: tuple[Instruction, ...]
    token_ledger_instruction: Instruction | None
    address_lookup_table_addresses: tuple[str, ...]
    prioritization_fee_lamports: int
    compute_unit_limit: int
    simulation_error: Mapping[str, Any] | None = None
    raw: bytes = attrs.field(default=b"", repr=False, eq=False)
