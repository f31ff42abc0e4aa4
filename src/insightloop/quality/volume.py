"""Row counts of the canonical tables after each run: the history volume checks compare against.

The counts of all tables are computed in one query (a UNION ALL of per-table counts) so that the
snapshot costs one round trip on every backend, which matters on Spark.
"""

from __future__ import annotations

from datetime import UTC, datetime

import ibis
import ibis.expr.types as ir

from insightloop.store import CANONICAL_MODEL, Engine

__all__ = ["count_rows_expr", "snapshot_table_counts"]

STATS_TABLE = "table_stats"


def count_rows_expr(engine: Engine, tables: list[str]) -> ir.Table:
    """One expression giving ``table_name, row_count`` for each of ``tables``."""
    parts = [
        engine.table(name)
        .aggregate(row_count=lambda t: t.count())
        .mutate(table_name=ibis.literal(name))
        for name in tables
    ]
    return ibis.union(*parts).select("table_name", "row_count").order_by("table_name")


def snapshot_table_counts(engine: Engine, run_id: str) -> dict[str, int]:
    """Count the rows of every canonical (non-system) table and record them for ``run_id``.

    Returns the counts by table name. Idempotent in effect: a second snapshot of unchanged data
    records the same counts under its own run.
    """
    tables = [s.name for s in CANONICAL_MODEL if s.layer != "system" and engine.has_table(s.name)]
    rows = engine.records(count_rows_expr(engine, tables))
    now = datetime.now(UTC).replace(tzinfo=None)
    engine.insert(
        STATS_TABLE,
        [{"run_id": run_id, "measured_at": now, **r} for r in rows],
    )
    return {r["table_name"]: int(r["row_count"]) for r in rows}
