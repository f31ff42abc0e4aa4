"""Parquet (through pyarrow, row group by row group) and Excel ``.xlsx`` (openpyxl, streaming).

Every value becomes text: Parquet columns are cast by Arrow (timestamps as ISO text, nested
values as JSON text); Excel cells as ISO dates (``2024-05-01``, or ``2024-05-01T13:30:00`` when
there is a time), integers without ``.0``, other numbers in their shortest exact form
(``0.1``, not ``0.1000000000000000055``), booleans as ``true``/``false``. For both formats
``_line`` is the row number (the Excel header row being row 1) and ``_record`` counts the
non-empty data rows; empty Excel rows are skipped and counted in ``blank_lines``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from insightloop.ingest.readers.base import FileReader, with_location
from insightloop.ingest.readers.model import MAX_COLUMNS, MAX_RAW_CHARS, ReadError, RejectedRecord
from insightloop.ingest.readers.sniff import unique_names

__all__ = ["ParquetReader", "XlsxReader", "cell_text"]


def cell_text(value: Any) -> str | None:
    """The text of one spreadsheet cell value.

    Examples
    --------
    >>> import datetime as dt
    >>> [cell_text(v) for v in (3.0, 0.1, 12, True, dt.datetime(2024, 5, 1), None)]
    ['3', '0.1', '12', 'true', '2024-05-01', None]
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _as_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    kind = column.type
    if pa.types.is_nested(kind):
        return pa.array(
            [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()],
            pa.string(),
        )
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.array([None if v is None else v.hex() for v in column.to_pylist()], pa.string())
    return column.cast(pa.string())


class ParquetReader(FileReader):
    """A Parquet file, streamed in batches."""

    format = "parquet"

    def __init__(self, path: str) -> None:
        super().__init__(path)
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as error:
            raise ReadError(
                f"{path}: is not a readable Parquet file ({type(error).__name__})",
                hint="Check that the file is complete (a Parquet file ends with its footer).",
            ) from None
        self.columns, renamed = unique_names(list(self._file.schema_arrow.names))
        self.notes += [f"column {old!r} renamed to {new!r}" for old, new in renamed]

    def _batches(self, rows_per_batch: int) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self._file.iter_batches(batch_size=rows_per_batch):
                first = self.rows_read + 1
                rows = np.arange(first, first + batch.num_rows, dtype=np.int64)
                text = pa.RecordBatch.from_arrays(
                    [_as_text(c) for c in batch.columns], names=self.columns
                )
                self.rows_read += batch.num_rows
                self.rows_yielded += batch.num_rows
                yield with_location(text, self.columns, rows, rows)
        except (pa.ArrowException, OSError) as error:
            raise ReadError(
                f"{self.path}: Parquet data after row {self.rows_read} cannot be read "
                f"({type(error).__name__})",
                hint="The file is damaged; export it again.",
            ) from None
        finally:
            self._file.close()


class XlsxReader(FileReader):
    """One worksheet of an ``.xlsx`` workbook; the first row holds the column names.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "t.xlsx"
    >>> book = openpyxl.Workbook(); sheet = book.active
    >>> sheet.append(["name", "spend"]); sheet.append(["Åsa", 12.5]); book.save(file)
    >>> with XlsxReader(str(file), None, True) as reader:
    ...     reader.read_all().to_pylist()
    [{'name': 'Åsa', 'spend': '12.5', '_record': 1, '_line': 2}]
    """

    format = "xlsx"

    def __init__(self, path: str, sheet: str | None, header: bool | None) -> None:
        super().__init__(path)
        import openpyxl  # type: ignore[import-untyped]

        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as error:  # noqa: BLE001 - openpyxl raises zipfile/KeyError/... for bad files
            raise ReadError(
                f"{path}: is not a readable .xlsx workbook ({type(error).__name__})",
                hint="Save it again as .xlsx (old .xls files are not supported).",
            ) from None
        names = self._book.sheetnames
        if sheet is not None and sheet not in names:
            self._book.close()
            raise ReadError(f"{path}: has no sheet {sheet!r}", hint=f"Choose one of {names}.")
        self.sheet = sheet or names[0]
        self._rows = self._book[self.sheet].iter_rows(values_only=True)
        first = [cell_text(v) for v in next(self._rows, ())]
        while first and first[-1] is None:
            first.pop()
        if len(first) > MAX_COLUMNS:
            raise ReadError(f"{path}: row 1 has more than {MAX_COLUMNS:,} columns")
        self._header = header is not False
        if self._header:
            self.columns, renamed = unique_names([v or "" for v in first])
            self.notes += [f"column {old!r} renamed to {new!r}" for old, new in renamed]
            self._pending: list[tuple[Any, ...]] = []
        else:
            self.columns = [f"column_{i}" for i in range(1, len(first) + 1)]
            self._pending = [tuple(first)]

    def _batches(self, rows_per_batch: int) -> Iterator[pa.RecordBatch]:
        width, row_number = len(self.columns), 1 if self._header else 0
        buffer: list[list[str | None]] = []
        numbers: list[int] = []
        records: list[int] = []
        try:
            for values in (self._pending, self._rows):
                for raw in values:
                    row_number += 1
                    cells = [cell_text(v) for v in raw]
                    while cells and cells[-1] is None:
                        cells.pop()
                    if not cells:
                        self.blank_lines += 1
                        continue
                    self.rows_read += 1
                    record = self.rows_read
                    if len(cells) > width:
                        text = ",".join(c or "" for c in cells)[:MAX_RAW_CHARS]
                        self.rejected.append(
                            RejectedRecord(self.path, record, row_number, "too_many_fields", text)
                        )
                        continue
                    buffer.append(cells + [None] * (width - len(cells)))
                    numbers.append(row_number)
                    records.append(record)
                    if len(buffer) >= rows_per_batch:
                        yield self._batch(buffer, records, numbers)
                        buffer, records, numbers = [], [], []
            if buffer:
                yield self._batch(buffer, records, numbers)
        finally:
            self._book.close()

    def _batch(
        self, rows: list[list[str | None]], numbers: list[int], lines: list[int]
    ) -> pa.RecordBatch:
        arrays = [pa.array([row[i] for row in rows], pa.string()) for i in range(len(self.columns))]
        self.rows_yielded += len(rows)
        batch = pa.RecordBatch.from_arrays(arrays, names=self.columns)
        return with_location(
            batch, self.columns, np.array(numbers, np.int64), np.array(lines, np.int64)
        )
