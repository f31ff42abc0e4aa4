"""Data quality: contracts, quarantine, and the volume history of every canonical table."""

from __future__ import annotations

from insightloop.quality.contracts import (
    Contract,
    ContractError,
    ContractResult,
    LoadAccount,
    contracts_from_config,
    default_contract,
    evaluate,
    quarantine_rows,
)
from insightloop.quality.volume import count_rows_expr, snapshot_table_counts

__all__ = [
    "Contract",
    "ContractError",
    "ContractResult",
    "LoadAccount",
    "contracts_from_config",
    "count_rows_expr",
    "default_contract",
    "evaluate",
    "quarantine_rows",
    "snapshot_table_counts",
]
