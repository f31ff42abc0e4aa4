"""The system tables of loading and data quality (migration 3): load batches and the scorecard."""

from __future__ import annotations

from insightloop.store.schema.spec import TableSpec, _c

__all__ = ["LOAD_TABLES"]

LOAD_TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "load_batches",
        "system",
        "ingest.load",
        "One row per batch a source delivered (a file, or a database increment), with the account "
        "of its rows: read = loaded + quarantined + duplicates skipped.",
        3,
        (
            _c("batch_id", "string", "Batch key (sortable by start time); the rows' `_batch_id`."),
            _c("run_id", "string", "Pipeline run (or command) that loaded it."),
            _c("source", "string", "Source name."),
            _c("entity", "string", "Canonical entity."),
            _c("location", "string", "File path (relative to the workspace) or database table."),
            _c("content_hash", "string", "SHA-256 of the file; empty for database increments."),
            _c("size_bytes", "int64", "File size."),
            _c("watermark_from", "string", "Database: watermark the increment started after."),
            _c("watermark_to", "string", "Database: highest watermark read."),
            _c("started_at", "timestamp", "Start (UTC)."),
            _c("finished_at", "timestamp", "End (UTC)."),
            _c("status", "string", "started, loaded, unchanged (same file again) or failed."),
            _c("rows_read", "int64", "Rows that arrived."),
            _c("rows_loaded", "int64", "Rows written to the entity's table (new and updated)."),
            _c("rows_updated", "int64", "Of those, new versions of rows loaded before."),
            _c("rows_quarantined", "int64", "Rows written to the quarantine."),
            _c("duplicates_skipped", "int64", "Exact copies skipped (in the batch or loaded)."),
            _c("warnings", "string", "JSON: warning code -> rows."),
            _c("rejections", "string", "JSON: reject code -> rows."),
            _c("notes", "string", "JSON: what the reader detected and noticed."),
            _c("error", "string", "What failed (never personal data)."),
        ),
    ),
    TableSpec(
        "quality_metrics",
        "system",
        "quality.scorecard",
        "The data-quality scorecard over time: one measure per source, entity, field and batch.",
        3,
        (
            _c("batch_id", "string", "Batch measured (empty for workspace-wide measures)."),
            _c("run_id", "string", "Run that measured it."),
            _c("source", "string", "Source name."),
            _c("entity", "string", "Canonical entity."),
            _c("metric", "string", "completeness, validity, uniqueness, freshness or volume."),
            _c("field", "string", "Canonical column, or empty for the whole batch."),
            _c("value", "float64", "Share 0-1 (freshness: hours; volume: ratio to usual)."),
            _c("flagged", "boolean", "Whether the value breaks its threshold."),
            _c("detail", "string", "JSON: what the value was compared with."),
            _c("measured_at", "timestamp", "When (UTC)."),
        ),
    ),
    TableSpec(
        "landing_progress",
        "system",
        "ingest.collect",
        "How far the loader has moved each landing-log segment of received events into the "
        "database; written in the same transaction as the events, so each is loaded once.",
        5,
        (
            _c("segment", "string", "Segment file name in the workspace's landing folder."),
            _c("offset", "int64", "Bytes of the segment loaded (the next record starts here)."),
            _c("records", "int64", "Requests (records) of the segment loaded."),
            _c("messages", "int64", "Messages of the segment read by the loader."),
            _c("finished", "boolean", "The segment is complete and wholly loaded."),
            _c("updated_at", "timestamp", "When (UTC)."),
        ),
    ),
)
