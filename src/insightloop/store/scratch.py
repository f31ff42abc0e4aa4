"""Queries over Arrow tables in a throw-away in-process DuckDB, apart from the workspace.

For work on tables that live in Python (person records being matched, digests), whatever the
workspace's engine: DuckDB scans the Arrow data in place and runs on every core.

Examples
--------
>>> import pyarrow as pa
>>> t = pa.table({"k": ["a", "b", "c"]})
>>> query_arrow("SELECT k FROM t WHERE k <> ? ORDER BY k", {"t": t}, ["b"])["k"].to_pylist()
['a', 'c']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

__all__ = ["query_arrow"]


def query_arrow(
    sql: str,
    tables: Mapping[str, pa.Table],
    params: Sequence[Any] = (),
    *,
    setup: Sequence[str] = (),
) -> pa.Table:
    """The result of ``sql`` over ``tables`` (registered by name), after the ``setup``
    statements (temporary tables, say), as an Arrow table."""
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        for statement in setup:
            con.execute(statement)
        result = con.execute(sql, list(params)).arrow()
        # DuckDB 1.5 answers with a record batch reader, 1.4 with a table.
        return result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    finally:
        con.close()
