"""The :class:`DatabaseReader`: a planned read, streamed as Arrow batches of text.

Each batch holds one ``string`` column per result column (values as text, see
:mod:`.values`), then ``_record`` (1-based ordinal within this read), ``_line`` (always null:
a row has no line) and ``_key`` (the primary key as ``id=42`` / ``a=1,b=x``, or ``row:`` and a
hash of the row's values when there is none). While reading, the reader keeps the highest
watermark seen, so :attr:`DatabaseReader.watermark_to` can be stored for the next increment.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType

import numpy as np
import pyarrow as pa

from insightloop.ingest.databases.backend import Connection, DatabaseFailure, Row
from insightloop.ingest.databases.failures import Target, stream_error
from insightloop.ingest.databases.sql import Statement
from insightloop.ingest.databases.values import (
    order_key,
    primary_key_text,
    render,
    row_hash,
)
from insightloop.ingest.readers.base import LOCATION_COLUMNS
from insightloop.ingest.readers.model import ReadError, RejectedRecord

__all__ = ["DATABASE_LOCATION_COLUMNS", "KEY_COLUMN", "DatabaseReader", "ReadPlan"]

KEY_COLUMN = "_key"
#: The columns every batch ends with: ``_record``, ``_line`` and ``_key``.
DATABASE_LOCATION_COLUMNS = (*LOCATION_COLUMNS, KEY_COLUMN)


@dataclass(frozen=True)
class ReadPlan:
    """Everything :func:`~.connect.open_database` found out before reading a row.

    Parameters
    ----------
    target
        The source, its redacted location and what it reads (for messages).
    statement
        The read, with the watermark bound as a parameter.
    columns
        Output column names (unique); ``database_columns`` are the names in the database.
    key_indexes
        Positions of the primary-key columns; empty means ``_key`` is a hash of the row.
    watermark_index
        Position of the watermark column, if one is declared.
    ordered
        The statement orders by the watermark, so its last non-null value is the highest.
    count_null_watermarks
        This is a full read of an incremental source: report rows with a null watermark.
    since
        The watermark the read started from, as given.
    notes
        Notes found while planning (renamed columns, no primary key).
    """

    target: Target
    statement: Statement
    columns: tuple[str, ...]
    database_columns: tuple[str, ...]
    key_indexes: tuple[int, ...]
    watermark_index: int | None
    ordered: bool
    count_null_watermarks: bool
    since: str | None
    notes: tuple[str, ...] = ()


class DatabaseReader:
    """Reads one database table or query as batches of text with a key for every row.

    Attributes
    ----------
    columns
        Column names of the yielded batches, without ``_record``, ``_line`` and ``_key``.
    location
        Where the rows come from, without password: ``postgresql://reader@db:5432/sales#orders``
        (``#query`` for a query).
    rows_read, rows_yielded
        Rows read so far (always equal: every row of a database splits into fields, so
        ``rejected`` stays empty).
    watermark_from
        The ``since`` the read started from, as given.
    watermark_to
        The highest watermark read, as text to give as ``since`` next time; ``since`` itself
        when no row with a watermark was read.
    notes
        Things the loader should report.
    complete
        True once :meth:`batches` has run to the end of the result.
    """

    def __init__(self, connection: Connection, plan: ReadPlan) -> None:
        self._connection = connection
        self._plan = plan
        self.columns: list[str] = list(plan.columns)
        self.location = f"{plan.target.location}#{plan.target.relation.label}"
        self.rows_read = 0
        self.rows_yielded = 0
        self.rejected: list[RejectedRecord] = []
        self.watermark_from = plan.since
        self.watermark_to = plan.since
        self.notes: list[str] = list(plan.notes)
        self.complete = False
        self._highest: object = None
        self._null_watermarks = 0
        self._stream: Generator[list[Row], None, None] | None = None
        self._started = False

    @property
    def schema(self) -> pa.Schema:
        """The schema of every batch."""
        return pa.schema(
            [(name, pa.string()) for name in self.columns]
            + [("_record", pa.int64()), ("_line", pa.int64()), (KEY_COLUMN, pa.string())]
        )

    def batches(self, rows_per_batch: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Yield the rows as Arrow batches of at most ``rows_per_batch`` rows.

        Raises
        ------
        ReadError
            When the read fails part way (the rows yielded so far do not make a complete
            read), or when called a second time.
        """
        if rows_per_batch < 1:
            raise ReadError(f"rows_per_batch must be at least 1, not {rows_per_batch}")
        if self._started:
            raise ReadError(
                f"{self.location}: batches() was already called",
                hint="Open the source again to read it again.",
            )
        self._started = True
        stream = self._connection.stream(self._plan.statement, rows_per_batch)
        self._stream = stream
        try:
            for rows in stream:
                yield self._batch(rows)
        except DatabaseFailure as failure:
            raise stream_error(failure.failure, self._plan.target, self.rows_read) from None
        finally:
            self._stream = None
            _release(stream)
        if self._null_watermarks:
            count = self._null_watermarks
            counted = "1 row" if count == 1 else f"{count:,} rows"
            self.notes.append(
                f"{counted} with a null watermark {'was' if count == 1 else 'were'} read by this "
                "full read; later increments skip such rows"
            )
        self.complete = True

    def _batch(self, rows: list[Row]) -> pa.RecordBatch:
        count = len(rows)
        values = list(zip(*rows, strict=True)) if rows else [()] * len(self.columns)
        texts = [[v if type(v) is str else render(v) for v in column] for column in values]
        plan = self._plan
        if plan.key_indexes:
            names = [plan.database_columns[i] for i in plan.key_indexes]
            parts = zip(*(texts[i] for i in plan.key_indexes), strict=True)
            keys = [primary_key_text(names, part) for part in parts]
        else:
            keys = [row_hash(row) for row in zip(*texts, strict=True)]
        if plan.watermark_index is not None:
            self._track_watermark(values[plan.watermark_index])
        start = self.rows_read + 1
        self.rows_read += count
        self.rows_yielded += count
        arrays = [pa.array(column, pa.string()) for column in texts]
        arrays += [
            pa.array(np.arange(start, start + count, dtype=np.int64)),
            pa.nulls(count, pa.int64()),
            pa.array(keys, pa.string()),
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _track_watermark(self, column: tuple[object, ...]) -> None:
        present = [value for value in column if value is not None]
        if self._plan.count_null_watermarks:
            self._null_watermarks += len(column) - len(present)
        if not present:
            return
        if self._plan.ordered:
            # The database ordered the rows, with its own collation: trust it over Python's.
            self._highest = present[-1]
        else:
            top = max(present, key=order_key)
            if self._highest is None or order_key(top) > order_key(self._highest):
                self._highest = top
        self.watermark_to = render(self._highest)

    def read_all(self) -> pa.Table:
        """Read every batch into one table (small tables and tests)."""
        return pa.Table.from_batches(list(self.batches()), schema=self.schema)

    def close(self) -> None:
        """Release the cursor and close the connection; called on leaving the ``with`` block."""
        stream, self._stream = self._stream, None
        if stream is not None:
            _release(stream)
        self._connection.close()

    def __enter__(self) -> DatabaseReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _release(stream: Generator[list[Row], None, None]) -> None:
    # Closing the cursor of a connection that broke can fail; the connection is closed next
    # anyway, and the read has already failed or been abandoned.
    with suppress(DatabaseFailure):
        stream.close()
