"""The :class:`FileReader` every format implements: detected settings, batches, rejects.

A reader is a context manager. Its :meth:`~FileReader.batches` yields Arrow record batches whose
columns are the file's columns as ``string`` plus the location columns ``_record`` (1-based
record number in the file) and ``_line`` (physical line where the record starts, the header
being line 1). After the last batch, ``rows_read == rows_yielded + len(rejected)``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from insightloop.ingest.readers.model import Format, ReadError, RejectedRecord
from insightloop.ingest.readers.sniff import CsvDialect

__all__ = ["LOCATION_COLUMNS", "FileReader", "engine_error", "with_location"]

LOCATION_COLUMNS = ("_record", "_line")


def with_location(
    batch: pa.RecordBatch,
    columns: list[str],
    records: npt.NDArray[np.int64],
    lines: npt.NDArray[np.int64],
) -> pa.RecordBatch:
    """Return ``batch`` as ``string`` columns named ``columns`` plus ``_record`` and ``_line``.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> batch = pa.record_batch({"a": pa.array(["x"], pa.large_string())})
    >>> with_location(batch, ["a"], np.array([1]), np.array([2])).schema.names
    ['a', '_record', '_line']
    """
    arrays = [col if col.type == pa.string() else col.cast(pa.string()) for col in batch.columns]
    arrays += [pa.array(records, pa.int64()), pa.array(lines, pa.int64())]
    return pa.RecordBatch.from_arrays(arrays, names=[*columns, *LOCATION_COLUMNS])


def engine_error(path: str, what: str, error: Exception) -> ReadError:
    """Wrap a DuckDB failure without its message, which can quote the file's content."""
    return ReadError(
        f"{path}: could not be read as {what} ({type(error).__name__})",
        hint="Check that the file is complete and really is this format, or set the format, "
        "encoding and delimiter explicitly.",
    )


class FileReader:
    """Reads one file as batches of raw text with a location for every record.

    Attributes
    ----------
    path, format, encoding
        The file and what was detected or used (``encoding`` is ``None`` for binary formats).
    dialect
        The CSV dialect (``None`` for other formats).
    columns
        Column names of the yielded batches, without the location columns.
    rejected
        Records that could not be split into fields.
    rows_read, rows_yielded
        Records seen and records yielded so far.
    blank_lines
        Empty lines skipped (they hold no record).
    notes
        Things the loader should know: renamed duplicate columns, for example.
    complete
        True once :meth:`batches` has run to the end of the file.
    """

    format: Format

    def __init__(self, path: str, encoding: str | None = None) -> None:
        self.path = path
        self.encoding = encoding
        self.dialect: CsvDialect | None = None
        self.columns: list[str] = []
        self.rejected: list[RejectedRecord] = []
        self.rows_read = 0
        self.rows_yielded = 0
        self.blank_lines = 0
        self.notes: list[str] = []
        self.complete = False
        self._tempdir: str | None = None

    def temp_path(self, name: str) -> Path:
        """A path in this reader's temporary directory, deleted by :meth:`close`."""
        if self._tempdir is None:
            self._tempdir = tempfile.mkdtemp(prefix="insightloop-read-")
        return Path(self._tempdir) / name

    def batches(self, rows_per_batch: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Yield the records as Arrow batches of at most ``rows_per_batch`` rows."""
        if rows_per_batch < 1:
            raise ReadError(f"rows_per_batch must be at least 1, not {rows_per_batch}")
        if self.complete:
            raise ReadError(
                f"{self.path}: batches() was already read to the end",
                hint="Open the file again to read it again.",
            )
        yield from self._batches(rows_per_batch)
        self.complete = True

    def _batches(self, rows_per_batch: int) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def read_all(self) -> pa.Table:
        """Read every batch into one table (small files and tests)."""
        schema = pa.schema(
            [(name, pa.string()) for name in self.columns]
            + [(name, pa.int64()) for name in LOCATION_COLUMNS]
        )
        return pa.Table.from_batches(list(self.batches()), schema=schema)

    def close(self) -> None:
        """Delete temporary files; called on leaving the ``with`` block."""
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> FileReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
