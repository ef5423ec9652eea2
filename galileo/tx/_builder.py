"""Opportunity → signed v0 transaction.

Merged mode (default): the leg provider turns the buy and sell legs into one circular route
(for Jupiter: one quote with routePlan = buy legs + sell legs) whose minimum-out is size +
base fee + priority fee + tip + min profit, encoded in the swap instruction, so an execution
that would lose money fails on chain.

Two-swap mode: each leg becomes its own swap instruction; the buy leg must return at least
what the sell leg spends, the sell leg at least the same minimum-out.

Then: compute-unit limit (the API's value × (1 + margin)) and price, setup instructions, the
swap instruction(s), the tip transfer to a random tip account (a static key, never looked up
through a table), cleanup; v0 compile with the route's lookup tables; size check; sign.
"""

from __future__ import annotations

import base64
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

import trio
from prometheus_client import CollectorRegistry
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import Instruction as SoldersInstruction
from solders.message import MessageV0
from solders.pubkey import Pubkey

from galileo._config import ExecutionConfig
from galileo._solana import JITO_TIP_ACCOUNTS
from galileo.model import (
    BadRequest,
    BuiltTx,
    Instruction,
    LeaseKind,
    LeaseResult,
    LegProvider,
    LegQuote,
    NoRoute,
    Opportunity,
    Provider,
    QuoteError,
    RouteMode,
    SwapInstructions,
    TxSkip,
    TxSkipReason,
)
from galileo.net import IpAllocator, NoIpAvailable
from galileo.obs import Recorder
from galileo.tx._alt import AltCache
from galileo.tx._assemble import (
    PACKET_DATA_SIZE,
    MalformedInstruction,
    PubkeyCache,
    compile_message,
    compute_unit_limit_with_margin,
    instruction_list,
    message_bytes,
    priority_fee_lamports,
    sign,
    to_solders,
    wire_size,
)
from galileo.tx._errors import AltUnavailable, BlockhashStale
from galileo.tx._metrics import TxMetrics
from galileo.tx._wallet import Wallet

_log = logging.getLogger("galileo.tx")


class BlockhashSource(Protocol):
    """What the builder needs from :class:`~galileo.tx.BlockhashRefresher`."""

    def current(self) -> tuple[Hash, int]: ...


class TxBuilder:
    """Builds one signed transaction per opportunity; share one per process.

    ``config``: ``execution`` (compute-unit price and margin, lamports per signature).
    ``tip_accounts``: where tips go (one chosen at random per transaction; ``rng`` for
    determinism). ``route_mode``: default :class:`RouteMode` (per-call override in ``build``).
    ``leases``: the shared allocator; instructions are then fetched under a ``swap`` lease on
    the opportunity's IP (paced with its quotes, ahead of them; cooled down like them).
    ``venues``: more leg providers (multi-leg): each leg's instructions come from the
    provider that quoted it, and an opportunity whose legs come from two venues is always
    built in two-swap mode (one atomic transaction, the minimum-out on the final leg).
    """

    def __init__(
        self,
        config: ExecutionConfig,
        *,
        wallet: Wallet,
        provider: LegProvider,
        blockhashes: BlockhashSource,
        alts: AltCache,
        recorder: Recorder | None = None,
        registry: CollectorRegistry | None = None,
        metrics: TxMetrics | None = None,
        tip_accounts: Sequence[str] = JITO_TIP_ACCOUNTS,
        route_mode: RouteMode = RouteMode.MERGED,
        instructions_timeout_s: float = 1.0,
        rng: random.Random | None = None,
        leases: IpAllocator | None = None,
        venues: Sequence[LegProvider] = (),
    ) -> None:
        if not tip_accounts:
            raise ValueError("tip_accounts must not be empty")
        self._wallet = wallet
        self._payer = wallet.pubkey
        self._keypair = wallet.keypair
        self._providers: dict[Provider, LegProvider] = {provider.provider: provider}
        for extra in venues:
            self._providers[extra.provider] = extra
        self._blockhashes = blockhashes
        self._alts = alts
        self._recorder = recorder if recorder is not None else Recorder()
        self._metrics = (
            metrics
            if metrics is not None
            else TxMetrics(registry if registry is not None else CollectorRegistry())
        )
        self._cu_price = config.compute_unit_price_micro_lamports
        self._cu_margin_bps = config.compute_unit_limit_margin_bps
        self._lamports_per_signature = config.lamports_per_signature
        self._tip_accounts = [Pubkey.from_string(a) for a in tip_accounts]
        self.route_mode = route_mode
        self._timeout = instructions_timeout_s
        self._rng = rng or random.Random()
        self._pubkeys = PubkeyCache()
        self._leases = leases

    # -- public --------------------------------------------------------------------------

    async def build(
        self, opportunity: Opportunity, *, ip: str, route_mode: RouteMode | None = None
    ) -> BuiltTx | TxSkip:
        """Fetch the swap instructions from ``ip`` and return the signed transaction, or the
        reason it was not built (counted in ``galileo_tx_skips_total``)."""
        started = trio.current_time()
        mode = route_mode or self.route_mode
        result = await self._build(opportunity, ip, mode)
        outcome = "built" if isinstance(result, BuiltTx) else "skipped"
        self._metrics.build_seconds.labels(outcome).observe(trio.current_time() - started)
        return result

    def min_out(self, opportunity: Opportunity) -> int:
        """Size + base fee + priority fee + tip + min profit: what the route must return on
        chain (all in lamports of the base mint)."""
        return opportunity.min_out

    def assemble(
        self,
        opportunity: Opportunity,
        instructions: SwapInstructions,
        tables: Sequence[AddressLookupTableAccount],
    ) -> BuiltTx | TxSkip:
        """Merged mode without I/O: the provider's round-trip instructions for ``opportunity``
        (with its ``min_out``) and their lookup tables → the signed transaction."""
        return self._finish(
            opportunity,
            RouteMode.MERGED,
            [instructions],
            tables,
        )

    def assemble_two_swap(
        self,
        opportunity: Opportunity,
        buy: SwapInstructions,
        sell: SwapInstructions,
        tables: Sequence[AddressLookupTableAccount],
    ) -> BuiltTx | TxSkip:
        """Two-swap mode without I/O: the buy and the sell leg's instructions."""
        return self._finish(opportunity, RouteMode.TWO_SWAP, [buy, sell], tables)

    # -- internals -----------------------------------------------------------------------

    async def _build(self, opportunity: Opportunity, ip: str, mode: RouteMode) -> BuiltTx | TxSkip:
        min_out = self.min_out(opportunity)
        if min_out > opportunity.sell.out_amount:
            return self._skip(
                opportunity,
                TxSkipReason.UNPROFITABLE,
                f"min out {min_out} > sell out {opportunity.sell.out_amount}",
            )
        try:
            # Fail fast: no point asking for instructions we could not sign.
            self._blockhashes.current()
        except BlockhashStale as exc:
            return self._skip(opportunity, TxSkipReason.BLOCKHASH_STALE, exc.detail)
        deadline = trio.current_time() + self._timeout
        if opportunity.buy.provider is not opportunity.sell.provider:
            mode = RouteMode.TWO_SWAP  # two venues: no circular route; each leg on its own
        try:
            answers = await self._leased_instructions(ip, opportunity, mode, deadline)
        except NoRoute as exc:
            return self._skip(opportunity, TxSkipReason.NO_ROUTE, str(exc))
        except QuoteError as exc:
            return self._skip(opportunity, TxSkipReason.INSTRUCTIONS_FAILED, str(exc))
        except NoIpAvailable as exc:
            return self._skip(opportunity, TxSkipReason.INSTRUCTIONS_FAILED, str(exc))
        for answer in answers:
            if answer.simulation_error is not None:
                return self._skip(
                    opportunity, TxSkipReason.SIMULATION_ERROR, str(answer.simulation_error)
                )
        addresses = list(
            dict.fromkeys(a for answer in answers for a in answer.address_lookup_table_addresses)
        )
        tables = self._alts.cached(addresses)
        if tables is None:
            try:
                tables = await self._alts.get(addresses)
            except AltUnavailable as exc:
                return self._skip(opportunity, TxSkipReason.ALT_UNAVAILABLE, str(exc))
        return self._finish(opportunity, mode, answers, tables)

    async def _leased_instructions(
        self, ip: str, opportunity: Opportunity, mode: RouteMode, deadline: float
    ) -> list[SwapInstructions]:
        if mode is RouteMode.TWO_SWAP:
            return await self._two_instructions(ip, opportunity, deadline)
        provider = self._provider_for(opportunity.buy)
        answer = await self._leased(
            ip,
            provider,
            deadline,
            functools.partial(
                provider.round_trip_instructions,
                ip=ip,
                buy=opportunity.buy,
                sell=opportunity.sell,
                min_out=self.min_out(opportunity),
                user_public_key=self._wallet.pubkey_str,
                deadline=deadline,
            ),
        )
        return [answer]

    def _provider_for(self, leg: LegQuote) -> LegProvider:
        provider = self._providers.get(leg.provider)
        if provider is None:
            raise BadRequest(f"no provider for {leg.provider.value} legs is configured")
        return provider

    async def _leased(
        self,
        ip: str,
        provider: LegProvider,
        deadline: float,
        call: Callable[[], Awaitable[SwapInstructions]],
    ) -> SwapInstructions:
        """``call`` under a ``swap`` lease on ``provider``'s lane of ``ip``: paced ahead of
        the quotes (urgent), its answer recorded on the lane."""
        if self._leases is None:
            return await call()
        async with self._leases.acquire(
            LeaseKind.SWAP, deadline, ip=ip, upstream=provider.provider.value
        ) as lease:
            await lease.pace()
            lease.sending()
            try:
                answer = await call()
            except QuoteError as exc:
                lease.mark(exc.lease_result, retry_after=exc.retry_after)
                raise
            lease.mark(LeaseResult.SUCCESS)
            return answer

    async def _two_instructions(
        self, ip: str, opportunity: Opportunity, deadline: float
    ) -> list[SwapInstructions]:
        """Each leg from its own venue, both at once. The buy leg must return at least what
        the sell leg spends (its quoted input), the sell leg at least the minimum-out; the
        first leg that fails fails the build."""
        floors = (opportunity.sell.in_amount, self.min_out(opportunity))
        legs = (opportunity.buy, opportunity.sell)
        results: list[SwapInstructions | None] = [None, None]
        errors: list[QuoteError | NoIpAvailable] = []

        async def fetch(index: int) -> None:
            provider = self._provider_for(legs[index])
            try:
                results[index] = await self._leased(
                    ip,
                    provider,
                    deadline,
                    functools.partial(
                        provider.leg_instructions,
                        ip=ip,
                        quote=legs[index],
                        min_out=floors[index],
                        user_public_key=self._wallet.pubkey_str,
                        deadline=deadline,
                    ),
                )
            except (QuoteError, NoIpAvailable) as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(fetch, 0)
            nursery.start_soon(fetch, 1)
        if errors:
            raise errors[0]
        buy, sell = results
        assert buy is not None and sell is not None
        return [buy, sell]

    def _finish(
        self,
        opportunity: Opportunity,
        mode: RouteMode,
        answers: Sequence[SwapInstructions],
        tables: Sequence[AddressLookupTableAccount],
    ) -> BuiltTx | TxSkip:
        with self._recorder.stage("build"):
            prepared = self._prepare(opportunity, mode, answers, tables)
        if isinstance(prepared, TxSkip):
            return prepared
        message, raw, blockhash, last_valid, extra = prepared
        with self._recorder.stage("sign"):
            tx = sign(message, raw, self._keypair)
            wire = bytes(tx)
        self._metrics.size_bytes.observe(len(wire))
        return BuiltTx(
            opportunity_id=opportunity.id,
            wire=wire,
            base64=base64.b64encode(wire).decode("ascii"),
            signature=str(tx.signatures[0]),
            blockhash=str(blockhash),
            last_valid_block_height=last_valid,
            route_mode=mode,
            size=opportunity.size,
            expected_out=opportunity.sell.out_amount,
            min_out=self.min_out(opportunity),
            tip_lamports=opportunity.tip_lamports,
            tip_account=extra[0],
            base_fee_lamports=self._lamports_per_signature,
            priority_fee_lamports=extra[1],
            compute_unit_limit=extra[2],
            compute_unit_price_micro_lamports=self._cu_price,
        )

    def _prepare(
        self,
        opportunity: Opportunity,
        mode: RouteMode,
        answers: Sequence[SwapInstructions],
        tables: Sequence[AddressLookupTableAccount],
    ) -> tuple[MessageV0, bytes, Hash, int, tuple[str, int, int]] | TxSkip:
        # Compute budget: the API's estimate plus the margin, but never a priority fee above
        # the one the minimum-out covers (the margin shrinks first; then skip).
        api_limit = sum(a.compute_unit_limit for a in answers)
        cu_limit = compute_unit_limit_with_margin(api_limit, self._cu_margin_bps)
        price = self._cu_price
        if price:
            affordable = opportunity.priority_fee_lamports * 1_000_000 // price
            if cu_limit > affordable:
                if api_limit > affordable:
                    return self._skip(
                        opportunity,
                        TxSkipReason.FEES_EXCEED_ESTIMATE,
                        f"computeUnitLimit {api_limit} × {price} µlamports > "
                        f"{opportunity.priority_fee_lamports} lamports covered",
                    )
                cu_limit = affordable
        fee = priority_fee_lamports(cu_limit, price)
        try:
            if len(answers) == 1:
                (answer,) = answers
                setup = self._convert(answer.setup_instructions)
                swaps = self._convert([*_token_ledger(answer), answer.swap_instruction])
                cleanup = self._convert(_cleanup(answer))
            else:
                # Both legs ask for the same token accounts: create (and close) them once.
                setup = self._convert(
                    dict.fromkeys(ix for a in answers for ix in a.setup_instructions)
                )
                swaps = self._convert(
                    [ix for a in answers for ix in _token_ledger(a)]
                    + [a.swap_instruction for a in answers]
                )
                cleanup = self._convert(dict.fromkeys(ix for a in answers for ix in _cleanup(a)))
        except MalformedInstruction as exc:
            return self._skip(opportunity, TxSkipReason.MALFORMED_INSTRUCTIONS, str(exc))
        tip_account = self._rng.choice(self._tip_accounts)
        ixs = instruction_list(
            self._payer,
            compute_unit_limit=cu_limit,
            compute_unit_price_micro_lamports=price,
            setup=setup,
            swaps=swaps,
            tip_account=tip_account,
            tip_lamports=opportunity.tip_lamports,
            cleanup=cleanup,
        )
        # Read the blockhash last, right before compiling and signing: never sign with one
        # the refresher does not vouch for.
        try:
            blockhash, last_valid = self._blockhashes.current()
        except BlockhashStale as exc:
            return self._skip(opportunity, TxSkipReason.BLOCKHASH_STALE, exc.detail)
        try:
            message = compile_message(self._payer, ixs, tables, blockhash)
        except ValueError as exc:
            return self._skip(opportunity, TxSkipReason.COMPILE_FAILED, str(exc))
        if opportunity.tip_lamports and tip_account not in message.account_keys:
            # AltCache blanks tip accounts out of every table; a table built elsewhere might not.
            return self._skip(
                opportunity, TxSkipReason.COMPILE_FAILED, "tip account resolved through a table"
            )
        raw = message_bytes(message)
        size = wire_size(raw, message.header.num_required_signatures)
        if size > PACKET_DATA_SIZE:
            return self._skip(
                opportunity, TxSkipReason.TOO_LARGE, f"{size} bytes > {PACKET_DATA_SIZE}"
            )
        return message, raw, blockhash, last_valid, (str(tip_account), fee, cu_limit)

    def _convert(self, instructions: Iterable[Instruction]) -> list[SoldersInstruction]:
        pubkey = self._pubkeys
        return [to_solders(ix, pubkey) for ix in instructions]

    def _skip(self, opportunity: Opportunity, reason: TxSkipReason, detail: str) -> TxSkip:
        self._metrics.skips.labels(reason.value).inc()
        _log.info(
            "tx skipped",
            extra={
                "fields": {"opportunity": opportunity.id, "reason": reason.value, "detail": detail}
            },
        )
        return TxSkip(reason, detail, opportunity.id)


def _token_ledger(answer: SwapInstructions) -> list[Instruction]:
    ledger = answer.token_ledger_instruction
    return [ledger] if ledger is not None else []


def _cleanup(answer: SwapInstructions) -> list[Instruction]:
    cleanup = answer.cleanup_instruction
    return [cleanup] if cleanup is not None else []
