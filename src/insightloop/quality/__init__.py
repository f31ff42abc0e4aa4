"""Data quality: contracts, quarantine, the volume history of every canonical table, and the
data-quality scorecard per source and entity over time."""

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
from insightloop.quality.scorecard import (
    Measure,
    QualityThresholds,
    Scorecard,
    batch_metrics,
    freshness_metrics,
    previous_completeness,
    quality_metrics_schema,
    record_metrics,
    scorecard,
    volume_metric,
)
from insightloop.quality.volume import count_rows_expr, snapshot_table_counts

__all__ = [
    "Contract",
    "ContractError",
    "ContractResult",
    "LoadAccount",
    "Measure",
    "QualityThresholds",
    "Scorecard",
    "batch_metrics",
    "contracts_from_config",
    "count_rows_expr",
    "default_contract",
    "evaluate",
    "freshness_metrics",
    "previous_completeness",
    "quality_metrics_schema",
    "quarantine_rows",
    "record_metrics",
    "scorecard",
    "snapshot_table_counts",
    "volume_metric",
]
