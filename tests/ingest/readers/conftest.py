"""Shared helpers of the reader tests: read a file completely and check the invariant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from insightloop.ingest.readers import FileReader, ReadOptions, open_file

Read = Callable[..., tuple[list[dict[str, Any]], FileReader]]


def read_rows(
    path: Path, rows_per_batch: int = 100_000, **options: Any
) -> tuple[list[dict[str, Any]], FileReader]:
    """Read ``path`` to the end; check every batch's schema and the record invariant."""
    with open_file(path, ReadOptions(**options)) as reader:
        rows: list[dict[str, Any]] = []
        for batch in reader.batches(rows_per_batch):
            assert batch.schema.names == [*reader.columns, "_record", "_line"]
            assert all(t == pa.string() for t in batch.schema.types[:-2])
            assert batch.schema.types[-2:] == [pa.int64(), pa.int64()]
            rows += batch.to_pylist()
    assert reader.complete
    assert (
        reader.rows_read
        == reader.rows_yielded + len(reader.rejected)
        == len(rows) + len(reader.rejected)
    )
    numbers = sorted([r["_record"] for r in rows] + [r.record for r in reader.rejected])
    assert numbers == list(range(1, reader.rows_read + 1)), "every record yielded or rejected once"
    return rows, reader


@pytest.fixture
def read() -> Read:
    return read_rows
