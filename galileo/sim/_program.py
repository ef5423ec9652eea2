"""Instructions the world hands out and understands.

The world cannot run Jupiter's BPF program, so its ``swapInstruction`` is an instruction to the
Jupiter program id whose data encodes the route (amounts and minimum out) and whose accounts
are, per hop, ``[dex program, pool, vault in, vault out, user source, user destination]``.
When a transaction carrying it executes, the chain re-prices the route and replaces this one
instruction by the real SPL Token transfers it stands for (see docs/sim.md).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Sequence
from typing import Any

import attrs
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams
from solders.system_program import transfer as system_transfer_ix
from solders.token.associated import get_associated_token_address

from galileo.sim._constants import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    JUPITER_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)

ROUTE_DISCRIMINATOR = hashlib.sha256(b"global:sim_route").digest()[:8]
_ROUTE_HEAD = struct.Struct("<8sQQQHB")
_ACCOUNTS_HEAD = 2  # token program, user authority
_ACCOUNTS_PER_HOP = 6

TOKEN_PROGRAM = Pubkey.from_string(TOKEN_PROGRAM_ID)
JUPITER_PROGRAM = Pubkey.from_string(JUPITER_PROGRAM_ID)
ATA_PROGRAM = Pubkey.from_string(ASSOCIATED_TOKEN_PROGRAM_ID)
SYSTEM_PROGRAM = Pubkey.from_string(SYSTEM_PROGRAM_ID)


@attrs.frozen
class EncodedHop:
    program_id: str
    pool: str
    vault_in: str
    vault_out: str
    user_source: str
    user_destination: str


@attrs.frozen
class EncodedRoute:
    """What a sim ``swapInstruction`` says: swap ``in_amount`` along ``hops``, fail unless the
    final output is at least ``min_out``."""

    user: str
    in_amount: int
    quoted_out: int
    min_out: int
    slippage_bps: int
    hops: tuple[EncodedHop, ...]


class RouteDecodeError(ValueError):
    """The instruction is not a well-formed sim route."""


def ata(owner: str | Pubkey, mint: str | Pubkey) -> Pubkey:
    owner_key = owner if isinstance(owner, Pubkey) else Pubkey.from_string(owner)
    mint_key = mint if isinstance(mint, Pubkey) else Pubkey.from_string(mint)
    return get_associated_token_address(owner_key, mint_key)


def route_instruction(route: EncodedRoute) -> Instruction:
    user = Pubkey.from_string(route.user)
    metas = [AccountMeta(TOKEN_PROGRAM, False, False), AccountMeta(user, True, False)]
    for hop in route.hops:
        metas += [
            AccountMeta(Pubkey.from_string(hop.program_id), False, False),
            AccountMeta(Pubkey.from_string(hop.pool), False, True),
            AccountMeta(Pubkey.from_string(hop.vault_in), False, True),
            AccountMeta(Pubkey.from_string(hop.vault_out), False, True),
            AccountMeta(Pubkey.from_string(hop.user_source), False, True),
            AccountMeta(Pubkey.from_string(hop.user_destination), False, True),
        ]
    data = _ROUTE_HEAD.pack(
        ROUTE_DISCRIMINATOR,
        route.in_amount,
        route.quoted_out,
        route.min_out,
        route.slippage_bps,
        len(route.hops),
    )
    return Instruction(JUPITER_PROGRAM, data, metas)


def decode_route(data: bytes, accounts: Sequence[str]) -> EncodedRoute:
    if len(data) != _ROUTE_HEAD.size:
        raise RouteDecodeError("route data has the wrong size")
    disc, in_amount, quoted_out, min_out, slippage_bps, n_hops = _ROUTE_HEAD.unpack(data)
    if disc != ROUTE_DISCRIMINATOR:
        raise RouteDecodeError("unknown instruction discriminator")
    if n_hops < 1 or len(accounts) != _ACCOUNTS_HEAD + _ACCOUNTS_PER_HOP * n_hops:
        raise RouteDecodeError("account count does not match the hop count")
    hops = []
    for i in range(n_hops):
        base = _ACCOUNTS_HEAD + _ACCOUNTS_PER_HOP * i
        hops.append(EncodedHop(*accounts[base : base + _ACCOUNTS_PER_HOP]))
    return EncodedRoute(
        user=accounts[1],
        in_amount=in_amount,
        quoted_out=quoted_out,
        min_out=min_out,
        slippage_bps=slippage_bps,
        hops=tuple(hops),
    )


def token_transfer(source: str, destination: str, authority: str, amount: int) -> Instruction:
    """SPL Token ``Transfer`` (instruction 3)."""
    return Instruction(
        TOKEN_PROGRAM,
        bytes([3]) + struct.pack("<Q", amount),
        [
            AccountMeta(Pubkey.from_string(source), False, True),
            AccountMeta(Pubkey.from_string(destination), False, True),
            AccountMeta(Pubkey.from_string(authority), True, False),
        ],
    )


def create_ata_idempotent(payer: str, owner: str, mint: str) -> Instruction:
    payer_key = Pubkey.from_string(payer)
    return Instruction(
        ATA_PROGRAM,
        bytes([1]),
        [
            AccountMeta(payer_key, True, True),
            AccountMeta(ata(owner, mint), False, True),
            AccountMeta(Pubkey.from_string(owner), False, False),
            AccountMeta(Pubkey.from_string(mint), False, False),
            AccountMeta(SYSTEM_PROGRAM, False, False),
            AccountMeta(TOKEN_PROGRAM, False, False),
        ],
    )


def sync_native(account: Pubkey) -> Instruction:
    return Instruction(TOKEN_PROGRAM, bytes([17]), [AccountMeta(account, False, True)])


def close_account(account: Pubkey, destination: str, owner: str) -> Instruction:
    return Instruction(
        TOKEN_PROGRAM,
        bytes([9]),
        [
            AccountMeta(account, False, True),
            AccountMeta(Pubkey.from_string(destination), False, True),
            AccountMeta(Pubkey.from_string(owner), True, False),
        ],
    )


def system_transfer(source: str | Pubkey, destination: str | Pubkey, lamports: int) -> Instruction:
    src = source if isinstance(source, Pubkey) else Pubkey.from_string(source)
    dst = destination if isinstance(destination, Pubkey) else Pubkey.from_string(destination)
    return system_transfer_ix(TransferParams(from_pubkey=src, to_pubkey=dst, lamports=lamports))


def compute_unit_limit(units: int) -> Instruction:
    return set_compute_unit_limit(units)


def compute_unit_price(micro_lamports: int) -> Instruction:
    return set_compute_unit_price(micro_lamports)


def instruction_json(ix: Instruction) -> dict[str, Any]:
    """The Jupiter API's instruction object."""
    return {
        "programId": str(ix.program_id),
        "accounts": [
            {"pubkey": str(m.pubkey), "isSigner": m.is_signer, "isWritable": m.is_writable}
            for m in ix.accounts
        ],
        "data": base64.b64encode(bytes(ix.data)).decode(),
    }


def instruction_from_json(doc: dict[str, Any]) -> Instruction:
    return Instruction(
        Pubkey.from_string(doc["programId"]),
        base64.b64decode(doc["data"]),
        [
            AccountMeta(Pubkey.from_string(m["pubkey"]), m["isSigner"], m["isWritable"])
            for m in doc["accounts"]
        ],
    )
