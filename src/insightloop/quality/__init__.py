"""Data quality: contracts, quarantine, and the volume history of every canonical table."""

from __future__ import annotations

from insightloop.quality.volume import count_rows_expr, snapshot_table_counts

__all__ = ["count_rows_expr", "snapshot_table_counts"]
