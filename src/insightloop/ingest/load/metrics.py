"""The scorecard measures of a batch: measured per chunk, combined per batch, then recorded.

:func:`~insightloop.quality.scorecard.batch_metrics` measures one chunk; a file of many chunks
gets one measure per metric and field, whose value is the row-weighted mean of its chunks and
whose counts are summed, so a large file is scored exactly as if it were read at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from insightloop.quality.contracts import Contract, ContractResult
from insightloop.quality.scorecard import (
    QualityThresholds,
    batch_metrics,
    previous_completeness,
    quality_metrics_schema,
    volume_metric,
)
from insightloop.store import Engine

__all__ = ["BatchMetrics", "merge_metrics"]


class BatchMetrics:
    """Collects the measures of one batch's chunks; :meth:`finish` returns them combined."""

    def __init__(
        self,
        engine: Engine,
        *,
        source: str,
        entity: str,
        batch_id: str,
        run_id: str,
        contract: Contract,
        columns: Sequence[str],
        thresholds: QualityThresholds,
        measured_at: datetime,
    ) -> None:
        self.engine = engine
        self.stamp: dict[str, Any] = {
            "source": source,
            "entity": entity,
            "batch_id": batch_id,
            "run_id": run_id,
            "measured_at": measured_at,
        }
        self.contract, self.columns, self.thresholds = contract, list(columns), thresholds
        self.previous = previous_completeness(engine, source=source, entity=entity)
        self.parts: list[pa.Table] = []

    def add(self, mapped: pa.Table, result: ContractResult) -> None:
        self.parts.append(
            batch_metrics(
                mapped,
                result,
                contract=self.contract,
                previous=self.previous,
                thresholds=self.thresholds,
                columns=self.columns,
                **self.stamp,
            )
        )

    def finish(self, rows_read: int) -> pa.Table:
        """The batch's measures, with its volume against earlier batches of the source."""
        t = self.thresholds
        volume = volume_metric(
            self.engine, rows_read=rows_read, history=t.volume_history, low=t.volume_low,
            high=t.volume_high, min_history=t.volume_min_history, **self.stamp,
        )  # fmt: skip
        return pa.concat_tables([merge_metrics(self.parts, self.thresholds), volume])


def merge_metrics(parts: Sequence[pa.Table], thresholds: QualityThresholds) -> pa.Table:
    """Combine the measures of several chunks of one batch.

    Examples
    --------
    >>> from datetime import datetime
    >>> def part(value, rows):
    ...     return pa.Table.from_pylist([{"metric": "completeness", "field": "email",
    ...         "value": value, "flagged": False, "measured_at": datetime(2025, 1, 1),
    ...         "detail": json.dumps({"rows": rows, "present": int(value * rows)})}],
    ...         schema=quality_metrics_schema())
    >>> merged = merge_metrics([part(1.0, 30), part(0.5, 10)], QualityThresholds())
    >>> merged.column("value").to_pylist(), json.loads(merged.column("detail")[0].as_py())
    ([0.875], {'present': 35, 'rows': 40})
    """
    schema = quality_metrics_schema()
    if not parts:
        return schema.empty_table()
    if len(parts) == 1:
        return parts[0]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in pa.concat_tables(parts).to_pylist():
        groups.setdefault((row["metric"], row["field"]), []).append(row)
    out = []
    for rows in groups.values():
        details = [json.loads(r["detail"] or "{}") for r in rows]
        detail = _merge_details(details)
        weighted = [(r["value"], d.get("rows", 0)) for r, d in zip(rows, details, strict=True)]
        total = sum(w for v, w in weighted if v is not None)
        value = sum(v * w for v, w in weighted if v is not None) / total if total else None
        row = {**rows[0], "value": value, "detail": json.dumps(detail, sort_keys=True)}
        row["flagged"] = _flagged(row["metric"], value, detail, thresholds)
        out.append(row)
    return pa.Table.from_pylist(out, schema=schema)


def _merge_details(details: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for d in details:
        for key, value in d.items():
            if isinstance(value, bool) or not isinstance(value, int | dict):
                merged.setdefault(key, value)
            elif isinstance(value, dict):
                inner = merged.setdefault(key, {})
                for k, v in value.items():
                    inner[k] = inner.get(k, 0) + v
            else:
                merged[key] = merged.get(key, 0) + value
    return merged


def _flagged(
    metric: str, value: float | None, detail: dict[str, Any], t: QualityThresholds
) -> bool:
    if value is None:
        return False
    if metric == "completeness":
        low = detail.get("required") and value < t.min_required_completeness
        before = detail.get("previous")
        drop = before is not None and round(before - value, 9) > t.max_completeness_drop
        return bool(low or drop)
    if metric == "validity":
        return value < t.min_validity
    if metric == "uniqueness":
        return value < t.min_uniqueness
    return False
