"""CPU-only pieces of a build: API instructions → solders, compute budget, tip, v0 compile,
size check, signing. No I/O here (the decision-latency benchmark times exactly this)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta as SoldersAccountMeta
from solders.instruction import Instruction as SoldersInstruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from galileo.model import Instruction

PACKET_DATA_SIZE = 1232
"""Largest transaction a Solana node accepts (IPv6 MTU − headers), in bytes."""

MAX_COMPUTE_UNIT_LIMIT = 1_400_000
"""The runtime's per-transaction compute-unit ceiling."""

_SIGNATURE_BYTES = 64


class MalformedInstruction(ValueError):
    """An API instruction with a bad public key or base64 data."""


class PubkeyCache:
    """``str → Pubkey`` memo: routes reuse the same programs, pools and vaults, and parsing
    base58 is the dominant cost of converting an instruction. Bounded by clearing."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self._keys: dict[str, Pubkey] = {}
        self._max = max_entries

    def __call__(self, text: str) -> Pubkey:
        key = self._keys.get(text)
        if key is None:
            try:
                key = Pubkey.from_string(text)
            except ValueError as exc:
                raise MalformedInstruction(f"bad public key {text!r}") from exc
            if len(self._keys) >= self._max:
                self._keys.clear()
            self._keys[text] = key
        return key


def to_solders(ix: Instruction, pubkey: PubkeyCache) -> SoldersInstruction:
    """One API instruction (base58 keys, base64 data) as a solders instruction."""
    try:
        data = base64.b64decode(ix.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedInstruction(f"bad base64 data for program {ix.program_id}") from exc
    accounts = [
        SoldersAccountMeta(pubkey(a.pubkey), a.is_signer, a.is_writable) for a in ix.accounts
    ]
    return SoldersInstruction(pubkey(ix.program_id), data, accounts)


def compute_unit_limit_with_margin(api_limit: int, margin_bps: int) -> int:
    """⌈api_limit × (1 + margin)⌉, capped at the runtime ceiling."""
    return min(MAX_COMPUTE_UNIT_LIMIT, -(-api_limit * (10_000 + margin_bps) // 10_000))


def priority_fee_lamports(cu_limit: int, cu_price_micro_lamports: int) -> int:
    """⌈cu_limit × price / 10⁶⌉ — the runtime rounds the priority fee up."""
    return (cu_limit * cu_price_micro_lamports + 999_999) // 1_000_000


def tip_instruction(payer: Pubkey, tip_account: Pubkey, lamports: int) -> SoldersInstruction:
    """A system transfer payer → tip account (Jito counts any transfer to a tip account)."""
    return transfer(TransferParams(from_pubkey=payer, to_pubkey=tip_account, lamports=lamports))


def instruction_list(
    payer: Pubkey,
    *,
    compute_unit_limit: int,
    compute_unit_price_micro_lamports: int,
    setup: Iterable[SoldersInstruction],
    swaps: Iterable[SoldersInstruction],
    tip_account: Pubkey,
    tip_lamports: int,
    cleanup: Iterable[SoldersInstruction],
) -> list[SoldersInstruction]:
    """Compute budget, setup, swap(s), tip, cleanup — in that order. The tip follows the
    swaps so that a reverted swap never pays it, and it is in the same transaction as the
    strategy (Jito's advice against unbundling)."""
    ixs = [set_compute_unit_limit(compute_unit_limit)]
    if compute_unit_price_micro_lamports:
        ixs.append(set_compute_unit_price(compute_unit_price_micro_lamports))
    ixs.extend(setup)
    ixs.extend(swaps)
    if tip_lamports:
        ixs.append(tip_instruction(payer, tip_account, tip_lamports))
    ixs.extend(cleanup)
    return ixs


def compile_message(
    payer: Pubkey,
    instructions: Sequence[SoldersInstruction],
    tables: Sequence[AddressLookupTableAccount],
    blockhash: Hash,
) -> MessageV0:
    """v0 compile (raises ``solders`` compile errors as ``ValueError``)."""
    try:
        return MessageV0.try_compile(payer, instructions, tables, blockhash)
    except Exception as exc:  # solders' CompileError is not a ValueError subclass
        raise ValueError(str(exc)) from exc


def wire_size(message_bytes: bytes, signatures: int) -> int:
    """Size of the signed transaction: shortvec(signature count) + signatures + message."""
    return 1 + _SIGNATURE_BYTES * signatures + len(message_bytes)


def sign(message: MessageV0, message_bytes: bytes, keypair: Keypair) -> VersionedTransaction:
    """Sign the already-serialized message (avoids serializing it twice)."""
    return VersionedTransaction.populate(message, [keypair.sign_message(message_bytes)])


def message_bytes(message: MessageV0) -> bytes:
    """The bytes that are signed: the version prefix + the message."""
    return to_bytes_versioned(message)
