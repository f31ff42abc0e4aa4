"""CSV through DuckDB's ``read_csv``, with exact record locations and rejected records.

Opening a CSV file makes one streaming pass (:mod:`~insightloop.ingest.readers.layout`) that
transcodes non-UTF-8 files to a temporary UTF-8 file (checking every byte decodes) and finds the
records to reject. When there are any, DuckDB reads a temporary copy without them, so every
row DuckDB returns is a record the pass accepted, in the same order; the pass then
gives each row its ``_record`` and ``_line``. DuckDB reads every column as text, pads short
records with nulls, keeps empty fields as ``''`` and runs in parallel unless a quoted field
holds a newline in a file that also has short records (DuckDB needs a serial scan to pad
such files). UTF-8 files are validated by DuckDB while it reads them: invalid bytes raise
:class:`ReadError` at the end of the read, naming DuckDB's line number.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import duckdb
import pyarrow as pa

from insightloop.ingest.readers.base import FileReader, engine_error, with_location
from insightloop.ingest.readers.encoding import NATIVE_UTF8, utf8_chunks
from insightloop.ingest.readers.layout import CsvLayout, LayoutScanner, Reject
from insightloop.ingest.readers.model import (
    MAX_COLUMNS,
    MAX_RAW_CHARS,
    ReadError,
    ReadOptions,
    RejectedRecord,
)
from insightloop.ingest.readers.sniff import sniff_text

__all__ = ["CsvReader"]

_SQL = (
    "SELECT * FROM read_csv($path, columns = $columns, all_varchar = true, auto_detect = false,"
    " header = $header, delim = $delim, quote = $quote, escape = $quote,"
    " null_padding = $padding, allow_quoted_nulls = false, nullstr = $nullstr, strict_mode = true,"
    " max_line_size = $max_line, parallel = $parallel, store_rejects = true)"
)


_REJECTS = (
    "SELECT count(*), min(line) FILTER (WHERE error_type = 'INVALID ENCODING') FROM reject_errors"
)


class CsvReader(FileReader):
    """A delimited text file (see the module docstring).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = file.write_text('id;note\\n1;"two\\nlines"\\n2;x;extra\\n3\\n')
    >>> with CsvReader(str(file), "utf-8", ReadOptions()) as reader:
    ...     table = reader.read_all()
    >>> table.to_pylist()[1], [r.reason for r in reader.rejected], reader.rows_read
    ({'id': '3', 'note': None, '_record': 3, '_line': 5}, ['too_many_fields'], 3)
    """

    format = "csv"

    def __init__(self, path: str, encoding: str, options: ReadOptions) -> None:
        super().__init__(path, encoding)
        source = path
        chunks = utf8_chunks(path, encoding, validate=False)
        first = next(chunks, b"")
        dialect = sniff_text(first[: 256 * 1024].decode("utf-8", "ignore"), options, path)
        if dialect.fields > MAX_COLUMNS:
            raise ReadError(
                f"{path}: the first record has {dialect.fields:,} fields, more than the limit "
                f"of {MAX_COLUMNS:,}",
                hint="Check the delimiter; a file this wide cannot be loaded as a table.",
            )
        self.dialect = dialect
        self.columns = list(dialect.names)
        self.notes += [f"column {old!r} renamed to {new!r}" for old, new in dialect.renamed]
        scanner = LayoutScanner(dialect.delimiter, dialect.quote, max(dialect.fields, 1))
        if codecs_native(encoding):
            scanner.feed(first)
            for chunk in chunks:
                scanner.feed(chunk)
        else:
            source = str(self.temp_path("utf8.csv"))
            with open(source, "wb") as out:
                out.write(first)
                scanner.feed(first)
                for chunk in chunks:
                    out.write(chunk)
                    scanner.feed(chunk)
        self._layout: CsvLayout = scanner.finish()
        self.blank_lines = self._layout.blank_lines
        if self._layout.rejects:
            self._keep_raw(source, self._layout.rejects)
            source = self._without_rejects(source, self._layout.rejects)
        self._source = source

    def _keep_raw(self, source: str, rejects: list[Reject]) -> None:
        header = self.dialect is not None and self.dialect.header
        with open(source, "rb") as handle:
            for reject in rejects:
                handle.seek(reject.start)
                raw = handle.read(min(reject.end - reject.start, MAX_RAW_CHARS * 4))
                text = raw.decode("utf-8", "replace").removesuffix("\r")[:MAX_RAW_CHARS]
                number = reject.index + (0 if header else 1)
                self.rejected.append(
                    RejectedRecord(self.path, number, reject.line, reject.reason, text)
                )

    def _without_rejects(self, source: str, rejects: list[Reject]) -> str:
        target = self.temp_path("accepted.csv")
        with open(source, "rb") as src, open(target, "wb") as out:
            position = 0
            for reject in rejects:
                _copy(src, out, reject.start - position)
                src.seek(reject.end + 1)
                position = reject.end + 1
            _copy(src, out, None)
        return str(target)

    def _batches(self, rows_per_batch: int) -> Iterator[pa.RecordBatch]:
        assert self.dialect is not None
        layout, header = self._layout, self.dialect.header
        expected = layout.records - (1 if header else 0) - len(layout.rejects)
        params: dict[str, Any] = {
            "path": self._source,
            "columns": {f"c{i}": "VARCHAR" for i in range(len(self.columns))},
            "header": header,
            "delim": self.dialect.delimiter,
            "quote": self.dialect.quote,
            "max_line": 2 * 8 * 1024 * 1024 + 1024,
            # DuckDB's parallel scan finds where records start by their field count, which
            # padding makes ambiguous when a quoted field holds a newline.
            "padding": layout.short,
            "parallel": not (layout.multiline and layout.short),
            "nullstr": "\x00",
        }
        connection, surplus = duckdb.connect(), False
        try:
            batches: Iterable[pa.RecordBatch] = []
            if self.columns:
                batches = connection.execute(_SQL, params).to_arrow_reader(rows_per_batch)
            for batch in batches:
                if self.rows_yielded + batch.num_rows > expected:
                    surplus = True
                    break
                records, lines = layout.locate(self.rows_yielded, batch.num_rows, header)
                self.rows_yielded += batch.num_rows
                self.rows_read = self.rows_yielded + len(self.rejected)
                yield with_location(batch, self.columns, records, lines)
            engine_rejects = connection.execute(_REJECTS).fetchone() if self.columns else (0, None)
        except (duckdb.Error, OSError) as error:  # DuckDB's errors come as OSError from Arrow
            raise engine_error(self.path, "CSV", error) from None
        finally:
            connection.close()
        self.rows_read = self.rows_yielded + len(self.rejected)
        if engine_rejects and engine_rejects[1] is not None:
            raise ReadError(
                f"{self.path}: line {engine_rejects[1]} holds bytes that are not valid utf-8",
                hint="Set the source's encoding (for example encoding='cp1252'), or repair the "
                "file; the line number counts records, so it can be off after blank lines.",
            )
        if surplus or self.rows_yielded != expected or (engine_rejects and engine_rejects[0]):
            raise ReadError(
                f"{self.path}: DuckDB split {self.rows_yielded:,} of {expected:,} records the "
                "way the line scan did; the file's quoting is ambiguous, so the read is "
                "incomplete",
                hint="Check the quote character (a quote inside an unquoted field, or a "
                "backslash-escaped quote, is not supported), or set quote= explicitly.",
            )


def codecs_native(encoding: str) -> bool:
    """Whether DuckDB can read a file in ``encoding`` as it is."""
    import codecs

    return codecs.lookup(encoding).name in NATIVE_UTF8


def _copy(src: Any, out: Any, size: int | None) -> None:
    remaining = size
    while remaining is None or remaining > 0:
        block = src.read(1 << 20 if remaining is None else min(1 << 20, remaining))
        if not block:
            return
        out.write(block)
        if remaining is not None:
            remaining -= len(block)
