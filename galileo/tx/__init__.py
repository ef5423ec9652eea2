"""Transaction building: opportunity → circular swap instructions → compute budget + setup +
swap + tip + cleanup → v0 message with lookup tables → size check → signed bytes.

Also the pieces every builder shares: the wallet (:class:`Wallet`), the blockhash refresher
(:class:`BlockhashRefresher`), the lookup-table cache (:class:`AltCache`), the wallet's
startup preparation (:func:`prepare_wallet`: token accounts, wrapped SOL) and
:func:`get_multiple_accounts` over the shared :class:`galileo.net.JsonRpcClient`. See
docs/transactions.md and docs/wallet.md.
"""

from galileo._solana import JITO_TIP_ACCOUNTS
from galileo.tx._alt import ADDRESS_LOOKUP_TABLE_PROGRAM_ID, AltCache
from galileo.tx._assemble import MAX_COMPUTE_UNIT_LIMIT, PACKET_DATA_SIZE
from galileo.tx._blockhash import BlockhashInfo, BlockhashRefresher
from galileo.tx._builder import BlockhashSource, TxBuilder
from galileo.tx._errors import (
    AltUnavailable,
    BlockhashStale,
    TxError,
    WalletError,
    WalletErrorKind,
)
from galileo.tx._metrics import TxMetrics
from galileo.tx._rpc import AccountData, get_multiple_accounts
from galileo.tx._submit import WalletTxError
from galileo.tx._token_accounts import (
    TokenAccounts,
    TokenAccountsError,
    TokenAccountsReport,
    associated_token_address,
    create_ata_idempotent,
)
from galileo.tx._wallet import Wallet
from galileo.tx._wallet_prep import (
    TokenAccountStatus,
    WalletPlan,
    WalletPrep,
    WalletStatus,
    prepare_wallet,
    unwrap_sol,
    wallet_status,
)

__all__ = [
    "ADDRESS_LOOKUP_TABLE_PROGRAM_ID",
    "JITO_TIP_ACCOUNTS",
    "MAX_COMPUTE_UNIT_LIMIT",
    "PACKET_DATA_SIZE",
    "AccountData",
    "AltCache",
    "AltUnavailable",
    "BlockhashInfo",
    "BlockhashRefresher",
    "BlockhashSource",
    "BlockhashStale",
    "TokenAccountStatus",
    "TokenAccounts",
    "TokenAccountsError",
    "TokenAccountsReport",
    "TxBuilder",
    "TxError",
    "TxMetrics",
    "Wallet",
    "WalletError",
    "WalletErrorKind",
    "WalletPlan",
    "WalletPrep",
    "WalletStatus",
    "WalletTxError",
    "associated_token_address",
    "create_ata_idempotent",
    "get_multiple_accounts",
    "prepare_wallet",
    "unwrap_sol",
    "wallet_status",
]
