"""JSON Lines and JSON arrays through DuckDB's JSON functions, as raw text per key.

A JSON Lines file is read by DuckDB as one text column per line (a byte 0x01 never occurs raw in
valid JSON), after the same streaming line pass as CSV (encoding check, blank lines, lines over
the size limit). A JSON array is read element by element with ``read_json_objects``; a
truncated or malformed array fails as a whole, since nothing after the error can be trusted.

The columns are the union of the top-level keys of all objects in the file (found in a first
DuckDB pass, so a key that appears only at the end is not lost): the keys of the first object in
their order, then the others alphabetically. Values are text: strings as they are, numbers and
booleans as DuckDB's JSON writer renders them (``1.50`` becomes ``1.5``), nested objects and
arrays as compact JSON text, ``null`` and missing keys as null. A line that is not valid JSON is
rejected with ``invalid_json``; valid JSON that is not an object with ``not_an_object``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.ingest.readers.base import FileReader, engine_error, with_location
from insightloop.ingest.readers.encoding import NATIVE_UTF8, utf8_chunks
from insightloop.ingest.readers.layout import CsvLayout, LayoutScanner
from insightloop.ingest.readers.model import MAX_COLUMNS, MAX_RAW_CHARS, ReadError, RejectedRecord
from insightloop.ingest.readers.sniff import unique_names

__all__ = ["JsonReader"]

_LINES = (
    "SELECT j FROM read_csv($path, columns = {'j': 'VARCHAR'}, header = false, delim = $delim,"
    " quote = '', escape = '', auto_detect = false, all_varchar = true, nullstr = $nullstr,"
    " strict_mode = true, max_line_size = 17825792)"
)
_ARRAY = "SELECT json::VARCHAR AS j FROM read_json_objects($path, format = 'array')"
_STATUS = "CASE WHEN NOT json_valid(j) THEN 1 WHEN json_type(j::JSON) <> 'OBJECT' THEN 2 ELSE 0 END"
_REASONS = {1: "invalid_json", 2: "not_an_object"}


class JsonReader(FileReader):
    """A JSON Lines file (``jsonl``) or a JSON array of objects (``json``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
    >>> _ = file.write_text('{"id": 1, "tags": ["a"]}\\n{broken\\n\\n{"id": 3, "x": null}\\n')
    >>> with JsonReader(str(file), "jsonl", "utf-8") as reader:
    ...     rows = reader.read_all().to_pylist()
    >>> rows[1]
    {'id': '3', 'tags': None, 'x': None, '_record': 3, '_line': 4}
    >>> reader.columns, [(r.line, r.reason) for r in reader.rejected]
    (['id', 'tags', 'x'], [(2, 'invalid_json')])
    """

    def __init__(self, path: str, fmt: str, encoding: str) -> None:
        super().__init__(path, encoding)
        self.format = "jsonl" if fmt == "jsonl" else "json"
        import codecs

        source = path
        if codecs.lookup(encoding).name not in NATIVE_UTF8:
            source = str(self.temp_path("utf8.json"))
        scanner = LayoutScanner("\x01", "\x00", fields=1 << 62)
        with open(source, "wb") if source != path else _nothing() as out:
            for chunk in utf8_chunks(path, encoding):
                if out is not None:
                    out.write(chunk)
                if self.format == "jsonl":
                    scanner.feed(chunk)
        self._layout: CsvLayout = scanner.finish()
        self.blank_lines = self._layout.blank_lines if self.format == "jsonl" else 0
        self._source = source
        for reject in self._layout.rejects:
            self.rejected.append(
                RejectedRecord(path, reject.index + 1, reject.line, reject.reason, "")
            )
        if self._layout.rejects:
            raise ReadError(
                f"{path}: line {self._layout.rejects[0].line} is longer than the line limit",
                hint="Split the file's records one per line; JSON Lines records must be short.",
            )
        self._sql = _LINES if self.format == "jsonl" else _ARRAY
        self._keys = self._find_keys()
        self.columns, renamed = unique_names(self._keys)
        self.notes += [f"key {old!r} renamed to {new!r}" for old, new in renamed]

    def _params(self) -> dict[str, Any]:
        if self.format == "json":
            return {"path": self._source}
        return {"path": self._source, "delim": "\x01", "nullstr": "\x00"}

    def _find_keys(self) -> list[str]:
        query = (
            f"WITH lines AS ({self._sql}), objects AS (SELECT j FROM lines WHERE {_STATUS} = 0)"
            " SELECT DISTINCT unnest(json_keys(j)) AS k FROM objects"
        )
        first = (
            f"WITH lines AS ({self._sql})"
            f" SELECT json_keys(j) FROM lines WHERE {_STATUS} = 0 LIMIT 1"
        )
        connection = duckdb.connect()
        try:
            keys = sorted(row[0] for row in connection.execute(query, self._params()).fetchall())
            head = connection.execute(first, self._params()).fetchone()
        except duckdb.Error as error:
            raise engine_error(
                self.path, "JSON" if self.format == "json" else "JSON Lines", error
            ) from None
        finally:
            connection.close()
        if len(keys) > MAX_COLUMNS:
            raise ReadError(
                f"{self.path}: the objects have {len(keys):,} distinct keys, "
                f"more than the limit of {MAX_COLUMNS:,}",
                hint="Flatten or split the file; it cannot be loaded as one table.",
            )
        ordered = list(head[0]) if head else []
        return ordered + [key for key in keys if key not in set(ordered)]

    def _batches(self, rows_per_batch: int) -> Iterator[pa.RecordBatch]:
        values = ", ".join(f"v[{i + 1}] AS c{i}" for i in range(len(self._keys))) or "NULL AS c0"
        query = (
            f"WITH lines AS ({self._sql}), marked AS (SELECT j, {_STATUS} AS s FROM lines)"
            " SELECT s, CASE WHEN s <> 0 THEN j END AS raw,"
            f" CASE WHEN s = 0 THEN json_extract_string(j, $keys) END AS v FROM marked"
        )
        query = f"SELECT s, raw, {values} FROM ({query})"
        params = {**self._params(), "keys": self._keys or [""]}
        connection = duckdb.connect()
        try:
            reader = connection.execute(query, params).to_arrow_reader(rows_per_batch)
            for batch in reader:
                yield from self._split(batch)
        except duckdb.Error as error:
            raise engine_error(self.path, "JSON", error) from None
        finally:
            connection.close()

    def _split(self, batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        first = self.rows_read
        if self.format == "jsonl":
            records, lines = self._layout.locate(first, batch.num_rows, header=False)
        else:
            records = np.arange(first + 1, first + batch.num_rows + 1, dtype=np.int64)
            lines = records
        self.rows_read += batch.num_rows
        status = batch.column(0)
        bad = pc.not_equal(status, 0)
        if pc.any(bad).as_py():
            raws = batch.column(1)
            for i in np.flatnonzero(bad.to_numpy(zero_copy_only=False)):
                raw = raws[int(i)].as_py() or ""
                reason = _REASONS[status[int(i)].as_py()]
                self.rejected.append(
                    RejectedRecord(
                        self.path, int(records[i]), int(lines[i]), reason, raw[:MAX_RAW_CHARS]
                    )
                )
            good = pc.equal(status, 0)
            keep = good.to_numpy(zero_copy_only=False)
            batch, records, lines = batch.filter(good), records[keep], lines[keep]
        if batch.num_rows:
            values = batch.select(list(range(2, 2 + len(self._keys))))
            self.rows_yielded += batch.num_rows
            yield with_location(values, self.columns, records, lines)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None
