"""The ``load_batches`` table: what was loaded when, and what a crashed load left behind.

The table is append-only. A batch gets a ``started`` row before anything is written and a
second row with its final status and account when it ends, so a batch with only a ``started``
row was interrupted: :func:`recover_interrupted` removes what it wrote and records it as failed.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import ibis
import pyarrow as pa

from insightloop.ingest.load.report import BatchReport
from insightloop.store import Engine
from insightloop.store.schema import ENTITY_TABLES

__all__ = [
    "BATCHES_TABLE",
    "last_watermark",
    "loaded_hashes",
    "new_batch_id",
    "now_utc",
    "record_finished",
    "record_started",
    "recover_interrupted",
    "undo_batch",
]

BATCHES_TABLE = "load_batches"
_DONE = ("loaded", "unchanged")


def now_utc() -> datetime:
    """The current time in UTC, naive (as every timestamp column stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_batch_id(at: datetime) -> str:
    """A batch id that sorts by start time and is unique."""
    return f"{at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def _identity(
    report: BatchReport,
    run_id: str,
    started_at: datetime,
    content_hash: str | None,
    size_bytes: int | None,
) -> dict[str, Any]:
    """The columns both records of a batch share."""
    return {
        "batch_id": report.batch_id,
        "run_id": run_id,
        "source": report.source,
        "entity": report.entity,
        "location": report.location,
        "content_hash": content_hash,
        "size_bytes": size_bytes,
        "watermark_from": report.watermark_from,
        "started_at": started_at,
    }


def record_started(
    engine: Engine,
    report: BatchReport,
    *,
    run_id: str,
    started_at: datetime,
    content_hash: str | None = None,
    size_bytes: int | None = None,
) -> None:
    """Record that a batch starts, before it writes anything."""
    row = _identity(report, run_id, started_at, content_hash, size_bytes)
    engine.insert(BATCHES_TABLE, [{**row, "status": "started"}])


def record_finished(
    engine: Engine,
    report: BatchReport,
    *,
    run_id: str,
    started_at: datetime,
    content_hash: str | None = None,
    size_bytes: int | None = None,
) -> None:
    """Record how a batch ended, with its account."""
    row = _identity(report, run_id, started_at, content_hash, size_bytes)
    engine.insert(
        BATCHES_TABLE,
        [
            {
                **row,
                "watermark_to": report.watermark_to,
                "finished_at": now_utc(),
                "status": report.status,
                "rows_read": report.rows_read,
                "rows_loaded": report.rows_loaded,
                "rows_updated": report.rows_updated,
                "rows_quarantined": report.rows_quarantined,
                "duplicates_skipped": report.duplicates_skipped,
                "warnings": json.dumps(report.warnings),
                "rejections": json.dumps(report.rejections),
                "notes": json.dumps(report.notes, ensure_ascii=False),
                "error": report.error,
            }
        ],
    )


def _finished(engine: Engine, source: str) -> Any:
    t = engine.table(BATCHES_TABLE)
    return t.filter((t.source == source) & t.status.isin(_DONE))


def loaded_hashes(engine: Engine, source: str) -> set[str]:
    """Content hashes of the files of ``source`` that were loaded completely."""
    t = _finished(engine, source)
    rows = engine.to_pyarrow(t.filter(t.content_hash.notnull()).select("content_hash").distinct())
    return set(rows.column("content_hash").to_pylist())


def last_watermark(engine: Engine, source: str) -> str | None:
    """The highest watermark a completed increment of ``source`` read, if any."""
    t = _finished(engine, source)
    latest = t.filter(t.watermark_to.notnull()).order_by(ibis.desc("started_at")).limit(1)
    rows = engine.records(latest.select("watermark_to"))
    return rows[0]["watermark_to"] if rows else None


def _has(engine: Engine, table: str, **equal: Any) -> bool:
    t = engine.table(table)
    for column, value in equal.items():
        t = t.filter(t[column] == value)
    return bool(engine.execute(t.count()) > 0)


def undo_batch(
    engine: Engine, batch_id: str, source: str, entity: str, started_at: datetime
) -> None:
    """Remove everything batch ``batch_id`` wrote (for backends without transactions).

    Each table is checked first: on Spark a change rewrites the whole table, so a batch that
    failed before writing costs only the checks.
    """
    table = ENTITY_TABLES[entity]
    if _has(engine, table, _batch_id=batch_id):
        engine.delete_matching(table, pa.table({"_batch_id": [batch_id]}))
    if _has(engine, "quarantine", batch_id=batch_id):
        engine.delete_matching("quarantine", pa.table({"batch_id": [batch_id]}))
    if table == "src_customers" and _has(engine, table, _source=source, valid_to=started_at):
        closed = pa.table(
            {"_source": [source], "valid_to": pa.array([started_at], pa.timestamp("us"))}
        )
        engine.update_matching(table, closed, {"is_current": True, "valid_to": None})


def recover_interrupted(engine: Engine, run_id: str) -> list[str]:
    """Undo the batches that started but never finished (a crash); return their ids.

    Their rows are deleted from the entity's table and from the quarantine, customer versions
    they closed are reopened, and a ``failed`` row records what happened.
    """
    t = engine.table(BATCHES_TABLE)
    ended = t.filter(t.status != "started").select("batch_id")
    open_ = t.filter(t.status == "started").anti_join(ended, "batch_id")
    rows = engine.records(open_.select("batch_id", "source", "entity", "location", "started_at"))
    for row in rows:
        undo_batch(engine, row["batch_id"], row["source"], row["entity"], row["started_at"])
        report = BatchReport(
            row["batch_id"], row["source"], row["entity"], row["location"], status="failed",
            error="interrupted before it finished; everything it wrote was removed",
        )  # fmt: skip
        record_finished(engine, report, run_id=run_id, started_at=row["started_at"])
    return [r["batch_id"] for r in rows]
