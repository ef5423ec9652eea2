"""The Solana JSON-RPC face over the world's chain (a subset of the real methods, same shapes).

Also serves GET /sim/markets (the market cache the separate Jupiter-face process loads, like
the real binary's --market-cache) and GET /health.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

import attrs
from solders.hash import Hash
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction

from galileo._httpserver import Request, Response
from galileo.sim._chain import Chain, TxOutcome, TxRejected
from galileo.sim._constants import TOKEN_PROGRAM_ID

_log = logging.getLogger("galileo.sim")

API_VERSION = "2.2.7"
RENT_EPOCH_MAX = 2**64 - 1
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        try:
            number = number * 58 + _B58_INDEX[char]
        except KeyError as exc:
            raise ValueError(f"invalid base58 character {char!r}") from exc
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + raw


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = _B58[rem] + out
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + out


def decode_wire(text: Any, encoding: str) -> bytes:
    if not isinstance(text, str):
        raise RpcError(-32602, "Invalid params: transaction must be a string")
    try:
        if encoding == "base64":
            return base64.b64decode(text, validate=True)
        if encoding == "base58":
            return b58decode(text)
    except ValueError as exc:
        raise RpcError(-32602, f"invalid transaction: failed to decode {encoding}") from exc
    raise RpcError(-32602, f"Invalid params: unsupported encoding {encoding!r}")


def simulation_value(outcome: TxOutcome | None, err: Any = None) -> dict[str, Any]:
    """An RpcSimulateTransactionResult."""
    return {
        "err": outcome.err if outcome is not None else err,
        "logs": list(outcome.logs) if outcome is not None else [],
        "accounts": None,
        "unitsConsumed": outcome.units_consumed if outcome is not None else 0,
        "returnData": None,
        "innerInstructions": None,
        "replacementBlockhash": None,
    }


def preflight_error(outcome: TxOutcome | None, err: Any = None) -> RpcError:
    reason = outcome.err if outcome is not None else err
    text = reason if isinstance(reason, str) else _describe(reason)
    return RpcError(
        -32002, f"Transaction simulation failed: {text}", simulation_value(outcome, err)
    )


def _describe(err: Any) -> str:
    if isinstance(err, dict) and "InstructionError" in err:
        index, detail = err["InstructionError"]
        if isinstance(detail, dict) and "Custom" in detail:
            return (
                f"Error processing Instruction {index}: custom program error: {detail['Custom']:#x}"
            )
        return f"Error processing Instruction {index}: {detail}"
    return str(err)


def _config(params: list[Any], index: int) -> dict[str, Any]:
    if len(params) > index and isinstance(params[index], dict):
        config: dict[str, Any] = params[index]
        return config
    return {}


def _key(value: Any) -> Pubkey:
    if not isinstance(value, str):
        raise RpcError(-32602, "Invalid params: expected a base58 public key")
    try:
        return Pubkey.from_string(value)
    except ValueError as exc:
        raise RpcError(-32602, f"Invalid param: Invalid {value!r}") from exc


class RpcFace:
    """JSON-RPC 2.0 handlers over ``chain``; ``sync`` advances the world to now first."""

    def __init__(
        self,
        chain: Chain,
        *,
        sync: Callable[[], None],
        market_cache: Callable[[], dict[str, Any]],
    ) -> None:
        self.chain = chain
        self._sync = sync
        self._market_cache = market_cache
        self._methods: dict[str, Callable[[list[Any]], Any]] = {
            "getLatestBlockhash": self.get_latest_blockhash,
            "isBlockhashValid": self.is_blockhash_valid,
            "sendTransaction": self.send_transaction,
            "simulateTransaction": self.simulate_transaction,
            "getSignatureStatuses": self.get_signature_statuses,
            "getBalance": self.get_balance,
            "getAccountInfo": self.get_account_info,
            "getMultipleAccounts": self.get_multiple_accounts,
            "getTokenAccountBalance": self.get_token_account_balance,
            "getSlot": self.get_slot,
            "getBlockHeight": self.get_slot,
            "getHealth": lambda params: "ok",
            "getVersion": lambda params: {"solana-core": API_VERSION, "feature-set": 0},
            "getMinimumBalanceForRentExemption": self.get_minimum_balance,
            "getTransaction": self.get_transaction,
        }
        self.transactions = TransactionLog(chain)

    async def handle(self, request: Request) -> Response:
        self._sync()
        if request.method == "GET":
            if request.path == "/sim/markets":
                return Response.json(self._market_cache())
            if request.path == "/health":
                return Response.text("ok")
            return Response.json({"error": "Not Found"}, status=404)
        if request.method != "POST":
            return Response.json({"error": "Method Not Allowed"}, status=405)
        try:
            doc = request.json()
        except ValueError:
            return Response.json(_envelope(None, error={"code": -32700, "message": "Parse error"}))
        if isinstance(doc, list):
            if not doc:
                return Response.json(
                    _envelope(None, error={"code": -32600, "message": "Invalid request"})
                )
            return Response.json([self.call(item) for item in doc])
        return Response.json(self.call(doc))

    def call(self, doc: Any) -> dict[str, Any]:
        if not isinstance(doc, dict) or not isinstance(doc.get("method"), str):
            return _envelope(None, error={"code": -32600, "message": "Invalid request"})
        request_id = doc.get("id")
        method = self._methods.get(doc["method"])
        if method is None:
            return _envelope(request_id, error={"code": -32601, "message": "Method not found"})
        params = doc.get("params", [])
        if not isinstance(params, list):
            return _envelope(request_id, error={"code": -32602, "message": "Invalid params"})
        try:
            return _envelope(request_id, result=method(params))
        except RpcError as err:
            return _envelope(request_id, error=err.payload())

    def _context(self, value: Any) -> dict[str, Any]:
        return {"context": {"apiVersion": API_VERSION, "slot": self.chain.slot}, "value": value}

    # --- methods --------------------------------------------------------------------------

    def get_slot(self, params: list[Any]) -> int:
        return self.chain.slot

    def get_latest_blockhash(self, params: list[Any]) -> dict[str, Any]:
        return self._context(
            {
                "blockhash": str(self.chain.blockhash()),
                "lastValidBlockHeight": self.chain.last_valid_block_height(),
            }
        )

    def is_blockhash_valid(self, params: list[Any]) -> dict[str, Any]:
        if not params or not isinstance(params[0], str):
            raise RpcError(-32602, "Invalid params: expected a blockhash")
        try:
            bh = Hash.from_string(params[0])
        except ValueError as exc:
            raise RpcError(-32602, "Invalid params: invalid blockhash") from exc
        return self._context(self.chain.blockhash_valid(bh))

    def get_minimum_balance(self, params: list[Any]) -> int:
        size = params[0] if params and isinstance(params[0], int) else 0
        return int(self.chain.svm.minimum_balance_for_rent_exemption(size))

    def send_transaction(self, params: list[Any]) -> str:
        if not params:
            raise RpcError(-32602, "Invalid params: missing transaction")
        config = _config(params, 1)
        raw = decode_wire(params[0], config.get("encoding", "base58"))
        return self.submit(raw, skip_preflight=bool(config.get("skipPreflight", False)))

    def submit(self, raw: bytes, *, skip_preflight: bool) -> str:
        """sendTransaction semantics: with preflight, a failing transaction is refused with
        -32002; without, it lands failed (paying its fee)."""
        chain = self.chain
        try:
            prepared = chain.prepare(raw)
        except TxRejected as err:
            raise RpcError(err.rpc_code, str(err)) from err
        try:
            chain.check_landable(prepared)
        except TxRejected as err:
            if skip_preflight:  # a real node accepts it and it simply never lands
                return prepared.signature
            raise preflight_error(None, err.reason) from err
        if not skip_preflight:
            simulated = chain.execute(prepared, commit=False)
            if not simulated.ok:
                raise preflight_error(simulated)
        try:
            chain.execute(prepared, commit=True)
        except TxRejected as err:
            raise RpcError(err.rpc_code, str(err)) from err
        return prepared.signature

    def simulate_transaction(self, params: list[Any]) -> dict[str, Any]:
        if not params:
            raise RpcError(-32602, "Invalid params: missing transaction")
        config = _config(params, 1)
        raw = decode_wire(params[0], config.get("encoding", "base58"))
        sig_verify = bool(config.get("sigVerify", False))
        replace = bool(config.get("replaceRecentBlockhash", False))
        chain = self.chain
        try:
            prepared = chain.prepare(raw, verify_signatures=sig_verify)
        except TxRejected as err:
            raise RpcError(err.rpc_code, str(err)) from err
        if not replace and not chain.blockhash_valid(prepared.blockhash):
            return self._context(simulation_value(None, "BlockhashNotFound"))
        svm = chain.svm
        if not sig_verify:
            svm.with_sigverify(False)
        try:
            outcome = chain.execute(prepared, commit=False)
        except TxRejected as err:
            return self._context(simulation_value(None, err.reason))
        finally:
            svm.with_sigverify(True)
        value = simulation_value(outcome)
        if replace:
            value["replacementBlockhash"] = {
                "blockhash": str(chain.blockhash()),
                "lastValidBlockHeight": chain.last_valid_block_height(),
            }
        return self._context(value)

    def get_signature_statuses(self, params: list[Any]) -> dict[str, Any]:
        if not params or not isinstance(params[0], list):
            raise RpcError(-32602, "Invalid params: expected a list of signatures")
        if len(params[0]) > 256:
            raise RpcError(-32602, "Too many inputs provided; max 256")
        values: list[Any] = []
        for signature in params[0]:
            status = self.chain.statuses.get(signature)
            if status is None:
                values.append(None)
                continue
            confirmation, confirmations = self.chain.confirmation(status.slot)
            values.append(
                {
                    "slot": status.slot,
                    "confirmations": confirmations,
                    "err": status.err,
                    "status": {"Ok": None} if status.err is None else {"Err": status.err},
                    "confirmationStatus": confirmation,
                }
            )
        return self._context(values)

    def get_balance(self, params: list[Any]) -> dict[str, Any]:
        if not params:
            raise RpcError(-32602, "Invalid params: missing pubkey")
        return self._context(self.chain.balance(_key(params[0])))

    def _account_json(self, key: Pubkey, encoding: str) -> Any:
        acct = self.chain.account(key)
        if acct is None:
            return None
        data = bytes(acct.data)
        if encoding == "base58":
            encoded: Any = [b58encode(data), "base58"]
        else:
            encoded = [base64.b64encode(data).decode(), "base64"]
        return {
            "data": encoded,
            "executable": acct.executable,
            "lamports": acct.lamports,
            "owner": str(acct.owner),
            "rentEpoch": RENT_EPOCH_MAX,
            "space": len(data),
        }

    def get_account_info(self, params: list[Any]) -> dict[str, Any]:
        if not params:
            raise RpcError(-32602, "Invalid params: missing pubkey")
        encoding = _config(params, 1).get("encoding", "base58")
        return self._context(self._account_json(_key(params[0]), encoding))

    def get_multiple_accounts(self, params: list[Any]) -> dict[str, Any]:
        if not params or not isinstance(params[0], list):
            raise RpcError(-32602, "Invalid params: expected a list of pubkeys")
        if len(params[0]) > 100:
            raise RpcError(-32602, "Too many inputs provided; max 100")
        encoding = _config(params, 1).get("encoding", "base64")
        return self._context([self._account_json(_key(k), encoding) for k in params[0]])

    def get_token_account_balance(self, params: list[Any]) -> dict[str, Any]:
        if not params:
            raise RpcError(-32602, "Invalid params: missing pubkey")
        key = _key(params[0])
        amount = self.chain.token_amount(key)
        if amount is None:
            raise RpcError(-32602, "Invalid param: could not find account")
        acct = self.chain.account(key)
        assert acct is not None
        mint = str(Pubkey(bytes(acct.data)[:32]))
        token = self.chain.market.tokens.get(mint)
        decimals = token.decimals if token is not None else 0
        ui = amount / 10**decimals
        return self._context(
            {
                "amount": str(amount),
                "decimals": decimals,
                "uiAmount": ui,
                "uiAmountString": _ui_string(amount, decimals),
            }
        )

    def get_transaction(self, params: list[Any]) -> dict[str, Any] | None:
        """A landed transaction with its balance changes (``null`` when not landed).

        Like a real node, a v0 transaction needs ``maxSupportedTransactionVersion: 0``
        (-32015 otherwise). ``encoding``: ``json`` (default), ``base64`` or ``base58``.
        """
        if not params or not isinstance(params[0], str):
            raise RpcError(-32602, "Invalid params: expected a signature")
        config = _config(params, 1)
        encoding = config.get("encoding", "json")
        if encoding not in ("json", "base64", "base58"):
            raise RpcError(-32602, f"Invalid params: unsupported encoding {encoding!r}")
        record = self.transactions.get(params[0])
        if record is None:
            return None
        tx = record.tx
        is_v0 = isinstance(tx.message, MessageV0)
        max_version = config.get("maxSupportedTransactionVersion")
        if is_v0 and (not isinstance(max_version, int) or max_version < 0):
            raise RpcError(
                -32015,
                "Transaction version (0) is not supported by the requesting client. Please "
                "try the request again with the following configuration parameter: "
                '"maxSupportedTransactionVersion": 0',
            )
        raw = bytes(tx)
        if encoding == "base64":
            transaction: Any = [base64.b64encode(raw).decode(), "base64"]
        elif encoding == "base58":
            transaction = [b58encode(raw), "base58"]
        else:
            transaction = _transaction_json(tx)
        return {
            "slot": record.slot,
            "blockTime": None,
            "version": 0 if is_v0 else "legacy",
            "transaction": transaction,
            "meta": {
                "err": record.err,
                "status": {"Ok": None} if record.err is None else {"Err": record.err},
                "fee": record.fee,
                "preBalances": list(record.pre_balances),
                "postBalances": list(record.post_balances),
                "preTokenBalances": list(record.pre_token_balances),
                "postTokenBalances": list(record.post_token_balances),
                "innerInstructions": [],
                "logMessages": list(record.logs),
                "rewards": [],
                "loadedAddresses": {
                    "writable": list(record.loaded_writable),
                    "readonly": list(record.loaded_readonly),
                },
                "computeUnitsConsumed": record.units_consumed,
            },
        }


@attrs.frozen
class TransactionRecord:
    """What ``getTransaction`` reports about one landed transaction (successful or failed)."""

    tx: VersionedTransaction
    slot: int
    err: Any
    fee: int
    logs: tuple[str, ...]
    units_consumed: int
    loaded_writable: tuple[str, ...]
    loaded_readonly: tuple[str, ...]
    pre_balances: tuple[int, ...]
    post_balances: tuple[int, ...]
    pre_token_balances: tuple[dict[str, Any], ...]
    post_token_balances: tuple[dict[str, Any], ...]


class TransactionLog:
    """Records the balances around every committed transaction, for ``getTransaction``.

    The chain keeps only statuses, so this wraps the chain's ``execute`` (which both the RPC
    and the Jito face go through, bundles included) and reads the accounts of the
    transaction before and after. A bundle that is rolled back also rolls back the
    transaction's status; a record whose status is gone (or from another slot) is not
    reported, so only what really landed is visible.
    """

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._records: dict[str, TransactionRecord] = {}
        original = chain.execute

        def execute(prepared: Any, *, commit: bool) -> TxOutcome:
            if not commit:
                return original(prepared, commit=False)
            keys: list[Pubkey] = list(prepared.keys)
            pre = [chain.balance(k) for k in keys]
            pre_tokens = self._token_balances(keys)
            outcome = original(prepared, commit=True)
            if outcome.signature in chain.statuses:
                n_static = len(prepared.tx.message.account_keys)
                loaded = list(zip(keys[n_static:], prepared.writable[n_static:], strict=True))
                self._records[outcome.signature] = TransactionRecord(
                    tx=prepared.tx,
                    slot=chain.statuses[outcome.signature].slot,
                    err=outcome.err,
                    fee=outcome.fee,
                    logs=outcome.logs,
                    units_consumed=outcome.units_consumed,
                    loaded_writable=tuple(str(k) for k, w in loaded if w),
                    loaded_readonly=tuple(str(k) for k, w in loaded if not w),
                    pre_balances=tuple(pre),
                    post_balances=tuple(chain.balance(k) for k in keys),
                    pre_token_balances=tuple(pre_tokens),
                    post_token_balances=tuple(self._token_balances(keys)),
                )
            return outcome

        chain.execute = execute  # type: ignore[method-assign]

    def get(self, signature: str) -> TransactionRecord | None:
        record = self._records.get(signature)
        status = self.chain.statuses.get(signature)
        if record is None or status is None or status.slot != record.slot:
            return None
        return record

    def _token_balances(self, keys: list[Pubkey]) -> list[dict[str, Any]]:
        balances: list[dict[str, Any]] = []
        for index, key in enumerate(keys):
            acct = self.chain.account(key)
            if acct is None or str(acct.owner) != TOKEN_PROGRAM_ID:
                continue
            try:
                state = TokenAccount.from_bytes(bytes(acct.data))
            except ValueError:
                continue
            mint = str(state.mint)
            token = self.chain.market.tokens.get(mint)
            decimals = token.decimals if token is not None else 0
            balances.append(
                {
                    "accountIndex": index,
                    "mint": mint,
                    "owner": str(state.owner),
                    "programId": TOKEN_PROGRAM_ID,
                    "uiTokenAmount": {
                        "amount": str(state.amount),
                        "decimals": decimals,
                        "uiAmount": state.amount / 10**decimals,
                        "uiAmountString": _ui_string(state.amount, decimals),
                    },
                }
            )
        return balances


def _transaction_json(tx: VersionedTransaction) -> dict[str, Any]:
    message = tx.message
    header = message.header
    doc: dict[str, Any] = {
        "signatures": [str(s) for s in tx.signatures],
        "message": {
            "accountKeys": [str(k) for k in message.account_keys],
            "header": {
                "numRequiredSignatures": header.num_required_signatures,
                "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
            },
            "recentBlockhash": str(message.recent_blockhash),
            "instructions": [
                {
                    "programIdIndex": ix.program_id_index,
                    "accounts": list(ix.accounts),
                    "data": b58encode(bytes(ix.data)),
                    "stackHeight": None,
                }
                for ix in message.instructions
            ],
        },
    }
    if isinstance(message, MessageV0):
        doc["message"]["addressTableLookups"] = [
            {
                "accountKey": str(lookup.account_key),
                "writableIndexes": list(lookup.writable_indexes),
                "readonlyIndexes": list(lookup.readonly_indexes),
            }
            for lookup in message.address_table_lookups
        ]
    return doc


def _ui_string(amount: int, decimals: int) -> str:
    if decimals == 0:
        return str(amount)
    whole, frac = divmod(amount, 10**decimals)
    text = f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".")
    return text


def _envelope(request_id: Any, *, result: Any = None, error: Any = None) -> dict[str, Any]:
    if error is not None:
        return {"jsonrpc": "2.0", "error": error, "id": request_id}
    return {"jsonrpc": "2.0", "result": result, "id": request_id}
