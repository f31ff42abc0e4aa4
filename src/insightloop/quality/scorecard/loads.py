"""Measures against the load history: volume anomalies, freshness, and the previous batch.

Each function builds Ibis expressions over ``load_batches``, ``quality_metrics`` and the canonical
tables, and the engine runs them: the aggregation happens in the database (DuckDB or Spark) and
only a handful of aggregated rows come back to Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from insightloop.quality.scorecard.thresholds import (
    METRICS_TABLE,
    QualityThresholds,
    measure_table,
    utc_naive,
)
from insightloop.store import Engine
from insightloop.store.schema import ENTITY_TABLES

__all__ = [
    "EVENT_TIME_COLUMNS",
    "LOADS_TABLE",
    "SUCCESSFUL_LOADS",
    "freshness_metrics",
    "last_loads_expr",
    "newest_records_expr",
    "previous_completeness",
    "previous_completeness_expr",
    "record_metrics",
    "volume_history_expr",
    "volume_metric",
]

LOADS_TABLE = "load_batches"
SUCCESSFUL_LOADS = ("loaded", "unchanged")
"""Statuses of a batch that count as a successful load for freshness."""

EVENT_TIME_COLUMNS: Mapping[str, str] = {
    "orders": "ordered_at",
    "events": "timestamp",
    "interactions": "started_at",
    "feedback": "responded_at",
    "consents": "recorded_at",
    "campaign_members": "assigned_at",
    "customers": "updated_at",
}
"""The column that dates a record of each entity that has a natural event time."""


def record_metrics(engine: Engine, metrics: pa.Table) -> int:
    """Append measures to ``quality_metrics``; returns the number of rows written."""
    return engine.insert(METRICS_TABLE, metrics)


def previous_completeness_expr(
    engine: Engine, *, source: str, entity: str, before_batch: str | None = None
) -> ir.Table:
    """``field, value`` of the completeness measures of the source's latest measured batch."""
    t = engine.table(METRICS_TABLE)
    t = t.filter(t.source == source, t.entity == entity, t.metric == "completeness")
    if before_batch is not None:
        t = t.filter(t.batch_id != before_batch)
    latest = ibis.dense_rank().over(order_by=[ibis.desc(t.measured_at), ibis.desc(t.batch_id)])
    ranked = t.mutate(position=latest)
    return ranked.filter(ranked.position == 0).select("field", "value")


def previous_completeness(
    engine: Engine, *, source: str, entity: str, before_batch: str | None = None
) -> dict[str, float | None]:
    """Completeness per column of the source's previous batch, for ``batch_metrics(previous=)``.

    Parameters
    ----------
    before_batch
        The batch being measured, left out in case its measures were recorded already.

    Returns
    -------
    dict
        Column name to share; empty when the source has no measured batch yet.
    """
    expr = previous_completeness_expr(
        engine, source=source, entity=entity, before_batch=before_batch
    )
    return {r["field"]: r["value"] for r in engine.records(expr)}


def volume_history_expr(
    engine: Engine, *, source: str, entity: str, history: int, exclude_batch: str | None = None
) -> ir.Table:
    """``batches, median_rows`` of the last ``history`` loaded batches of a source (one row)."""
    t = engine.table(LOADS_TABLE)
    t = t.filter(
        t.source == source, t.entity == entity, t.status == "loaded", t.rows_read.notnull()
    )
    if exclude_batch is not None:
        t = t.filter(t.batch_id != exclude_batch)
    recent = t.order_by([ibis.desc(t.started_at), ibis.desc(t.batch_id)]).limit(history)
    return recent.aggregate(batches=recent.count(), median_rows=recent.rows_read.median())


def volume_metric(
    engine: Engine,
    *,
    source: str,
    entity: str,
    rows_read: int,
    batch_id: str,
    run_id: str,
    measured_at: datetime,
    history: int = 10,
    low: float = 0.5,
    high: float = 2.0,
    min_history: int = 3,
) -> pa.Table:
    """Rows read compared with the source's usual volume: one ``volume`` row of ``quality_metrics``.

    The usual volume is the median ``rows_read`` of the source's last ``history`` batches with
    status ``loaded`` (the median, so that one odd batch does not shift it). The value is the
    ratio ``rows_read / median``, flagged at ``low`` or below and at ``high`` or above
    (exactly half, or twice, the usual rows is flagged). With fewer than
    ``min_history`` earlier batches the value is 1.0, not flagged, and the detail says
    ``"not enough history"``.

    Raises
    ------
    ConfigError
        When a threshold is out of range (``0 < low <= 1 <= high``, ``1 <= min_history <=
        history``).

    Notes
    -----
    Earlier batches of 100, 110, 90 and 105 rows have a median of 102.5; 50 rows now is a ratio
    of about 0.49, below 0.5, so it is flagged (see docs/data-quality.md).
    """
    if rows_read < 0:
        raise ValueError(f"rows_read must be at least 0, got {rows_read}")
    QualityThresholds.from_config(
        {
            "volume_history": history,
            "volume_min_history": min_history,
            "volume_low": low,
            "volume_high": high,
        }
    )
    expr = volume_history_expr(
        engine, source=source, entity=entity, history=history, exclude_batch=batch_id
    )
    found = engine.records(expr)[0]
    batches = int(found["batches"] or 0)
    median = None if found["median_rows"] is None else float(found["median_rows"])
    detail: dict[str, Any] = {
        "rows": rows_read,
        "earlier_batches": batches,
        "median_rows": median,
        "history": history,
        "low": low,
        "high": high,
    }
    value: float | None
    if batches < min_history or median is None:
        value, flagged = 1.0, False
        detail["reason"] = "not enough history"
        detail["min_history"] = min_history
    elif median == 0:
        # Nothing is usual: an empty batch is normal, any rows at all are an anomaly with no ratio.
        value, flagged = (1.0, False) if rows_read == 0 else (None, True)
        detail["reason"] = "usual volume is zero"
    else:
        value = rows_read / median
        flagged = not (low < value < high)
    measure = {
        "metric": "volume",
        "field": "",
        "value": value,
        "flagged": flagged,
        "detail": detail,
    }
    return measure_table(
        [measure],
        batch_id=batch_id,
        run_id=run_id,
        source=source,
        entity=entity,
        measured_at=measured_at,
    )


def last_loads_expr(engine: Engine) -> ir.Table:
    """``source, entity, last_loaded_at, last_batch_id`` per source and entity (null if it never
    loaded successfully)."""
    t = engine.table(LOADS_TABLE)
    ok = t.status.isin(SUCCESSFUL_LOADS)
    at = t.finished_at.coalesce(t.started_at)
    return t.group_by("source", "entity").aggregate(
        last_loaded_at=at.max(where=ok),
        last_batch_id=t.batch_id.argmax(at, where=ok),
    )


def newest_records_expr(engine: Engine, sources: Mapping[str, list[str]]) -> ir.Table | None:
    """``source, entity, newest`` event time per source, over the canonical tables (one query).

    ``sources`` lists the sources to look at per entity; entities without an event time are left
    out. ``None`` when there is nothing to look at.
    """
    parts = []
    for entity, column in EVENT_TIME_COLUMNS.items():
        names = sources.get(entity)
        if not names:
            continue
        t = engine.table(ENTITY_TABLES[entity])
        parts.append(
            t.filter(t._source.isin(names))
            .group_by(source=t._source)
            .aggregate(newest=t[column].max())
            .mutate(entity=ibis.literal(entity))
            .select("source", "entity", "newest")
        )
    return ibis.union(*parts) if parts else None


def freshness_metrics(
    engine: Engine,
    *,
    now: datetime,
    run_id: str,
    max_age_hours: float | Mapping[str, float | None] | None = None,
) -> pa.Table:
    """How old each source's data is: ``freshness`` rows of ``quality_metrics``, in hours.

    For every source and entity in ``load_batches``, one row with field ``""``: hours since the
    last batch with status ``loaded`` or ``unchanged`` finished (null if none ever did). For
    entities with a natural event time (:data:`EVENT_TIME_COLUMNS`), one more row with the event
    column as field: hours since the newest record of that source in its canonical table (null
    if it has none; negative when records are dated in the future).

    Parameters
    ----------
    now
        The time measured against (UTC; an aware time is converted).
    max_age_hours
        Flag ages above this; a mapping gives it per source (sources not named are not flagged).
        ``None``: report only. A source that never loaded is flagged whenever it has a limit.

    Raises
    ------
    ConfigError
        When a limit is not a positive number of hours.
    """
    limits = max_age_hours.values() if isinstance(max_age_hours, Mapping) else [max_age_hours]
    for limit in limits:
        QualityThresholds.from_config({"max_age_hours": limit})
    at = utc_naive(now)
    loads = engine.records(last_loads_expr(engine))
    by_entity: dict[str, list[str]] = {}
    for row in loads:
        by_entity.setdefault(row["entity"], []).append(row["source"])
    newest_expr = newest_records_expr(engine, by_entity)
    newest = {}
    if newest_expr is not None:
        newest = {(r["source"], r["entity"]): r["newest"] for r in engine.records(newest_expr)}
    measures: list[dict[str, Any]] = []
    for row in sorted(loads, key=lambda r: (r["source"], r["entity"])):
        source, entity = row["source"], row["entity"]
        limit = _limit(max_age_hours, source)
        last = row["last_loaded_at"]
        detail: dict[str, Any] = {
            "basis": "last successful load",
            "last_batch_id": row["last_batch_id"],
            "last_loaded_at": None if last is None else utc_naive(last).isoformat(),
            "max_age_hours": limit,
        }
        if last is None:
            detail["reason"] = "never loaded successfully"
        measures.append(_freshness(source, entity, "", last, at, limit, detail))
        column = EVENT_TIME_COLUMNS.get(entity)
        if column is not None:
            # The newest event time itself stays out of the detail: it is a value of the data.
            detail = {"basis": "newest record", "max_age_hours": limit}
            record = newest.get((source, entity))
            if record is None:
                detail["reason"] = "no records with a time"
            measures.append(_freshness(source, entity, column, record, at, limit, detail))
    return measure_table(
        measures, batch_id="", run_id=run_id, source=None, entity=None, measured_at=at
    )


def _limit(max_age_hours: float | Mapping[str, float | None] | None, source: str) -> float | None:
    if isinstance(max_age_hours, Mapping):
        return max_age_hours.get(source)
    return max_age_hours


def _freshness(
    source: str,
    entity: str,
    field: str,
    since: datetime | None,
    now: datetime,
    limit: float | None,
    detail: dict[str, Any],
) -> dict[str, Any]:
    hours = None if since is None else (now - utc_naive(since)).total_seconds() / 3600
    flagged = limit is not None and (hours is None or hours > limit)
    return {
        "source": source,
        "entity": entity,
        "metric": "freshness",
        "field": field,
        "value": hours,
        "flagged": flagged,
        "detail": detail,
    }
