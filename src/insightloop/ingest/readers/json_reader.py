"""JSON Lines and JSON arrays through DuckDB's JSON functions, as raw text per key.

The columns are the union of the top-level keys of all objects in the file (so a key that
appears only at the end is not lost): the keys of the first object in their order, then the
others alphabetically. Values are text: strings as they are, numbers and booleans as DuckDB's
JSON writer renders them (``1.50`` becomes ``1.5``), nested objects and arrays as compact JSON
text, ``null`` and missing keys as null. A line that is not valid JSON is rejected with
``invalid_json``; valid JSON that is not an object with ``not_an_object``.

A JSON Lines file is read in three passes, none holding more than a batch in memory:

1. One streaming pass over its bytes checks the encoding (Arrow's UTF-8 validation; other
   encodings are transcoded to a temporary UTF-8 file) and finds blank lines and lines over
   the size limit (:class:`~insightloop.ingest.readers.layout.LineScanner`).
2. DuckDB reads the file as one text column per line (a byte 0x01 never occurs raw in valid
   JSON) and parses each line once: ``TRY(json_keys(line))``, NULL exactly when the line is
   not valid JSON, gives the keys; valid JSON is an object exactly when its first non-blank
   character is ``{``.
3. When every line is an object, DuckDB's own newline-delimited reader reads the values, one
   ``JSON`` column per key (no copy of each line, parallel parsing), each string then extracted
   from its JSON text. It stops with an error on anything it does not take line for line (an
   object with a duplicate key, for one); the line-by-line query then carries on from the
   first record it did not yield: ``TRY(json_extract_string(line, pointers))`` extracts every
   key at once (JSON Pointers, so any key text is literal).

A JSON array is read element by element with ``read_json_objects`` and the line-by-line query;
a truncated or malformed array fails as a whole, since nothing after the error can be trusted.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.ingest.readers.base import FileReader, engine_error, with_location
from insightloop.ingest.readers.encoding import NATIVE_UTF8, utf8_chunks
from insightloop.ingest.readers.layout import CsvLayout, LineScanner
from insightloop.ingest.readers.model import MAX_COLUMNS, MAX_RAW_CHARS, ReadError, RejectedRecord
from insightloop.ingest.readers.sniff import unique_names

__all__ = ["JsonReader", "json_pointer"]

# buffer_size: DuckDB's default is 16 times max_line_size, 272 MiB per buffer here.
_LINES = (
    "SELECT j FROM read_csv($path, columns = {'j': 'VARCHAR'}, header = false, delim = $delim,"
    " quote = '', escape = '', auto_detect = false, all_varchar = true, nullstr = $nullstr,"
    " strict_mode = true, max_line_size = 17825792, buffer_size = 17825792)"
)
_ARRAY = "SELECT json::VARCHAR AS j FROM read_json_objects($path, format = 'array')"
# Every key as a JSON column; a string's JSON text (it starts with a quote) is then extracted
# as json_extract_string would, on DuckDB's threads. COLUMNS(*) applies this to each column.
_OBJECTS = (
    "SELECT CASE WHEN starts_with(COLUMNS(*)::VARCHAR, '\"') THEN COLUMNS(*)->>'$'"
    " ELSE COLUMNS(*)::VARCHAR END FROM read_json($path, format = 'newline_delimited',"
    " records = true, columns = $columns, maximum_object_size = 17825792)"
)
# JSON allows these before a value; a line never holds a newline.
_BLANK = " \t\r"
_OBJECT = "ltrim(j, $blank)[1] = '{'"
# DuckDB's threads stop parsing when this much of a streamed result waits to be fetched. A
# batch of 100,000 events is some 50 MB: with less room than two batches the threads wait while
# each one is converted to Arrow (8.7 s instead of 5.9 s for the benchmark's 1M events).
_STREAM_BUFFER = (16 << 20, 512 << 20)
_SAMPLE_LINES = 1_000
_VALID, _INVALID, _NOT_OBJECT = 0, 1, 2
_REASONS = {_INVALID: "invalid_json", _NOT_OBJECT: "not_an_object"}


def _status(parsed: str) -> str:
    """0 for an object, 1 for a line that is not valid JSON (``parsed`` is NULL), 2 for other
    JSON values."""
    return f"CASE WHEN {parsed} IS NULL THEN 1 WHEN NOT {_OBJECT} THEN 2 ELSE 0 END"


def _parsed(call: str, checked: bool) -> str:
    """``call`` (a JSON function of the line ``j``), NULL when the line is not valid JSON.

    ``TRY`` parses each line once, but when a line fails it re-runs the whole vector of 2,048
    lines row by row, several times slower; so once invalid lines are known to occur,
    ``json_valid`` guards the call instead (one more parse per line).
    """
    return f"CASE WHEN json_valid(j) THEN {call} END" if checked else f"try({call})"


def _keys_sql(lines: str, checked: bool) -> str:
    """Per status (see :func:`_values_sql`): the distinct top-level keys of the objects, or
    NULL for the other lines, and how many lines have each (at most ``$limit`` rows)."""
    status = _status("k")
    return (
        "SELECT k, s, count(*) FROM (SELECT s, unnest(CASE WHEN s = 0 THEN k"
        f" ELSE [NULL::VARCHAR] END) AS k FROM (SELECT k, {status} AS s FROM"
        f" (SELECT j, {_parsed('json_keys(j)', checked)} AS k FROM ({lines}))))"
        " GROUP BY k, s LIMIT $limit"
    )


def _first_keys_sql(lines: str) -> str:
    """The keys of the first object, in their order."""
    return f"SELECT json_keys(j) FROM ({lines}) WHERE json_valid(j) AND {_OBJECT} LIMIT 1"


def _values_sql(lines: str, keys: int, checked: bool) -> str:
    """Per line: status (0 object, 1 invalid JSON, 2 not an object), the line if rejected, and
    the value of every key (``$pointers``) as text."""
    values = "".join(f", v[{i + 1}] AS c{i}" for i in range(keys))
    extract = _parsed("json_extract_string(j, $pointers)", checked)
    return (
        f"SELECT s, CASE WHEN s <> 0 THEN j END AS raw{values} FROM ("
        f" SELECT j, v, {_status('v')} AS s"
        f" FROM (SELECT j, {extract} AS v FROM ({lines})))"
    )


def json_pointer(key: str) -> str:
    """The JSON Pointer (RFC 6901) of a top-level key: DuckDB reads any key text literally.

    Examples
    --------
    >>> json_pointer("a.b"), json_pointer("x/y~"), json_pointer("")
    ('/a.b', '/x~1y~0', '/')
    """
    return "/" + key.replace("~", "~0").replace("/", "~1")


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
        self._source = path
        self._head, self._whole = b"", True
        self._layout: CsvLayout = self._scan(encoding)
        self.blank_lines = self._layout.blank_lines if self.format == "jsonl" else 0
        for reject in self._layout.rejects:
            self.rejected.append(
                RejectedRecord(path, reject.index + 1, reject.line, reject.reason, "")
            )
        if self._layout.rejects:
            raise ReadError(
                f"{path}: line {self._layout.rejects[0].line} is longer than the line limit",
                hint="Split the file's records one per line; JSON Lines records must be short.",
            )
        self._lines = _LINES if self.format == "jsonl" else _ARRAY
        self._checked = False  # the file has invalid lines
        self._objects = False  # every line is an object: read_json can read them
        self._keys = self._find_keys()
        self.columns, renamed = unique_names(self._keys)
        self.notes += [f"key {old!r} renamed to {new!r}" for old, new in renamed]

    def _scan(self, encoding: str) -> CsvLayout:
        """Check the encoding (transcoding if needed) and find the lines, in one pass."""
        scanner = LineScanner()
        lines = self.format == "jsonl"
        if codecs.lookup(encoding).name in NATIVE_UTF8:
            check = _Utf8Check()
            for chunk in utf8_chunks(self.path, encoding, validate=False):
                if not check.feed(chunk):
                    break
                self._keep_head(chunk)
                if lines:
                    scanner.feed(chunk)
            if not check.finish():
                for _ in utf8_chunks(self.path, encoding):  # raises, naming the line
                    pass
                raise ReadError(
                    f"{self.path}: holds bytes that are not valid {encoding}",
                    hint="Set the source's encoding, or repair the file.",
                )
            return scanner.finish()
        self._source = str(self.temp_path("utf8.json"))
        with open(self._source, "wb") as out:
            for chunk in utf8_chunks(self.path, encoding):
                out.write(chunk)
                self._keep_head(chunk)
                if lines:
                    scanner.feed(chunk)
        return scanner.finish()

    def _keep_head(self, chunk: bytes) -> None:
        """Keep the first chunk, whose lines :meth:`_sample` looks at."""
        self._whole = not self._head
        if self._whole:
            self._head = chunk

    def _params(self, **extra: Any) -> dict[str, Any]:
        if self.format == "json":
            return {"path": self._source, **extra}
        return {"path": self._source, "delim": "\x01", "nullstr": "\x00", **extra}

    def _find_keys(self) -> list[str]:
        """The union of the objects' keys: the first object's in order, then the others sorted.

        The first lines (already in memory from the scan) give the first object and tell
        whether the file has invalid lines (see :func:`_parsed`); one DuckDB pass over the
        whole file finds every key and counts the lines that are not objects.
        """
        connection = _connect()
        try:
            head, checked = None, False
            if self.format == "jsonl":
                head, checked = self._sample(connection)
            rows = connection.execute(
                _keys_sql(self._lines, checked), self._params(blank=_BLANK, limit=MAX_COLUMNS + 3)
            ).fetchall()
            if head is None:
                first = connection.execute(
                    _first_keys_sql(self._lines), self._params(blank=_BLANK)
                ).fetchone()
                head = first[0] if first else []
        except duckdb.Error as error:
            raise engine_error(
                self.path, "JSON" if self.format == "json" else "JSON Lines", error
            ) from None
        finally:
            connection.close()
        found = [key for key, status, _ in rows if status == _VALID]
        if len(found) > MAX_COLUMNS:
            raise ReadError(
                f"{self.path}: the objects have more than {MAX_COLUMNS:,} distinct keys",
                hint="Flatten or split the file; it cannot be loaded as one table.",
            )
        self._checked = checked or any(status == _INVALID for _, status, _ in rows)
        self._objects = (
            self.format == "jsonl"
            and bool(found)
            and all(status == _VALID for _, status, _ in rows)
            and not self._head.startswith(codecs.BOM_UTF8)  # read_json does not skip a BOM
        )
        ordered = list(dict.fromkeys(head))
        first_keys = set(ordered)
        return ordered + sorted(key for key in found if key not in first_keys)

    def _sample(self, connection: duckdb.DuckDBPyConnection) -> tuple[list[str] | None, bool]:
        """The first object's keys (None if not among the first lines) and whether any of
        the first lines is not valid JSON."""
        lines = _first_lines(self._head, self._whole)
        if not lines:
            return None, False
        status = _status("CASE WHEN json_valid(j) THEN j END")
        found = connection.execute(
            f"SELECT list_transform($lines, lambda j: {status})", {"lines": lines, "blank": _BLANK}
        ).fetchone()
        statuses: list[int] = found[0] if found else []
        invalid = _INVALID in statuses
        if _VALID not in statuses:
            return None, invalid
        keys = connection.execute(
            "SELECT json_keys($line)", {"line": lines[statuses.index(_VALID)]}
        ).fetchone()
        return (keys[0] if keys else []), invalid

    def _batches(self, rows_per_batch: int) -> Iterator[pa.RecordBatch]:
        if self._objects:
            yield from self._object_batches(rows_per_batch)
        if self._objects:
            if self.rows_read != self._layout.records:
                raise self._incomplete()
        else:
            yield from self._line_batches(rows_per_batch)

    def _object_batches(self, rows_per_batch: int) -> Iterator[pa.RecordBatch]:
        """Every line through ``read_json`` (see the module docstring); when it stops with an
        error, ``_objects`` is set to False and the rows yielded so far stand."""
        params = {"path": self._source, "columns": dict.fromkeys(self._keys, "JSON")}
        connection = _connect(self._batch_bytes(rows_per_batch))
        try:
            for batch in connection.execute(_OBJECTS, params).to_arrow_reader(rows_per_batch):
                if self.rows_read + batch.num_rows > self._layout.records:
                    raise self._incomplete()
                records, lines = self._layout.locate(self.rows_read, batch.num_rows, False)
                self.rows_read += batch.num_rows
                self.rows_yielded += batch.num_rows
                yield with_location(batch, self.columns, records, lines)
        except (duckdb.Error, OSError):  # Arrow's reader raises DuckDB's errors as OSError
            self._objects = False
        finally:
            connection.close()

    def _batch_bytes(self, rows_per_batch: int) -> int:
        """Room for two batches of average lines in DuckDB's stream buffer."""
        if self.format == "json":  # the elements are not counted beforehand
            return _STREAM_BUFFER[0]
        size = os.path.getsize(self._source)
        return 2 * size * rows_per_batch // max(self._layout.records, 1)

    def _incomplete(self) -> ReadError:
        return ReadError(
            f"{self.path}: DuckDB's JSON reader did not return one row per line "
            f"({self.rows_read:,} rows so far, {self._layout.records:,} lines); the read is "
            "incomplete",
            hint="Check that the file has one JSON object per line.",
        )

    def _line_batches(self, rows_per_batch: int) -> Iterator[pa.RecordBatch]:
        """Every line through the line-by-line query, from the first one not yet read."""
        query = _values_sql(self._lines, len(self._keys), self._checked)
        pointers = [json_pointer(key) for key in self._keys] or ["/"]
        params = self._params(blank=_BLANK, pointers=pointers)
        skip = self.rows_read
        connection = _connect(self._batch_bytes(rows_per_batch))
        try:
            for batch in connection.execute(query, params).to_arrow_reader(rows_per_batch):
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                yield from self._split(batch.slice(skip))
                skip = 0
        except (duckdb.Error, OSError) as error:  # DuckDB's errors come as OSError from Arrow
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
        if pc.max(status).as_py():
            raws = batch.column(1)
            for i in np.flatnonzero(status.to_numpy(zero_copy_only=False)):
                raw = raws[int(i)].as_py() or ""
                reason = _REASONS[status[int(i)].as_py()]
                self.rejected.append(
                    RejectedRecord(
                        self.path, int(records[i]), int(lines[i]), reason, raw[:MAX_RAW_CHARS]
                    )
                )
            good = pc.equal(status, _VALID)
            keep = good.to_numpy(zero_copy_only=False)
            batch, records, lines = batch.filter(good), records[keep], lines[keep]
        if batch.num_rows:
            values = batch.select(list(range(2, 2 + len(self._keys))))
            self.rows_yielded += batch.num_rows
            yield with_location(values, self.columns, records, lines)


def _connect(stream_bytes: int = _STREAM_BUFFER[0]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    low, high = _STREAM_BUFFER
    size = min(max(stream_bytes, low), high)
    connection.execute("SET streaming_buffer_size = $size", {"size": f"{size}B"})
    return connection


def _first_lines(head: bytes, whole: bool) -> list[str]:
    """The non-blank lines among the first ``_SAMPLE_LINES`` of ``head``, the file's first
    chunk (the whole file if ``whole``), as DuckDB reads them (no BOM, no CR before LF)."""
    pieces = head.removeprefix(codecs.BOM_UTF8).split(b"\n", _SAMPLE_LINES)
    if len(pieces) > _SAMPLE_LINES or not whole:
        pieces = pieces[:-1]  # the rest of the chunk, or a line the chunk's end cuts
    return [piece.removesuffix(b"\r").decode() for piece in pieces if piece not in {b"", b"\r"}]


class _Utf8Check:
    """Validates a stream of byte chunks as UTF-8 with Arrow, carrying split characters over.

    Examples
    --------
    >>> check = _Utf8Check()
    >>> check.feed("Malm".encode()), check.feed("ö".encode()[:1]), check.finish()
    (True, True, False)
    """

    def __init__(self) -> None:
        self._carry = b""
        self._valid = True

    def feed(self, chunk: bytes) -> bool:
        """Check the next chunk; False once invalid bytes have been seen."""
        data = self._carry + chunk if self._carry else chunk
        cut = _complete(data)
        self._carry = data[cut:]
        self._valid = self._valid and _valid_utf8(data, cut)
        return self._valid

    def finish(self) -> bool:
        """Whether the whole stream was valid, its end included."""
        return self._valid and not self._carry


def _complete(data: bytes) -> int:
    """Length of the prefix of ``data`` that ends on a character boundary."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= need else len(data) - back
    return len(data)


def _valid_utf8(data: bytes, length: int) -> bool:
    offsets = pa.py_buffer(np.array([0, length], np.int64))
    text = pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data))
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True
