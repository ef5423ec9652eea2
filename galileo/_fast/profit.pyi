import numpy as np
import numpy.typing as npt

TIP_STATIC: int
TIP_PERCENT: int
TIP_FLOOR: int
REASON_OK: int
REASON_NO_CANDIDATES: int
REASON_STALE: int
REASON_NEGATIVE: int
REASON_BELOW_MIN_PROFIT: int

def priority_fee_lamports(cu_limit: int, cu_price_micro_lamports: int) -> int: ...
def net_profit(
    sell_out: int,
    size: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip: int,
) -> int: ...
def tip_lamports(
    policy: int,
    gross_profit: int,
    static_lamports: int,
    percent_bps: int,
    floor_lamports: int,
    min_lamports: int,
    max_lamports: int,
) -> int: ...
def evaluate(
    sell_out: int,
    size: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
) -> tuple[int, int]: ...
def evaluate_sizes(
    sizes: npt.NDArray[np.int64],
    sell_outs: npt.NDArray[np.int64],
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def best_size(
    sizes: npt.NDArray[np.int64],
    sell_outs: npt.NDArray[np.int64],
    ages_ms: npt.NDArray[np.int64],
    max_age_ms: int,
    min_profit: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip_policy: int,
    tip_static: int,
    tip_percent_bps: int,
    tip_floor: int,
    tip_min: int,
    tip_max: int,
) -> tuple[int, int, int, int]: ...
