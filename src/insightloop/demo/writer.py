"""Append chunks to the output files and the truth tables, keeping line numbers exact.

The writer is the only place that knows how many lines each file already holds, so it is where
row positions inside a chunk become file line numbers (1-based, the CSV header is line 1; in JSON
Lines line 1 is the first document) for the defect log, the value truth and the record map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from insightloop.demo.chunk import ChunkFile, ChunkResult
from insightloop.demo.contact import JUNK_EMAILS, JUNK_PHONES
from insightloop.demo.output import FileChunk, FileSpec, encode

__all__ = ["GeneratedFile", "Writer"]


@dataclass(frozen=True)
class GeneratedFile:
    """One written source file (``path`` is relative to the output directory)."""

    path: str
    system: str
    entity: str
    format: str
    encoding: str
    delimiter: str | None
    rows: int


@dataclass
class _Open:
    spec: FileSpec
    handle: BinaryIO
    header: list[str]
    lines: int
    rows: int
    chunk_first_line: int = 0
    chunk_offsets: np.ndarray | None = None


class Writer:
    """Streams chunk results into ``out/sources`` and ``out/truth``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._files: dict[str, _Open] = {}
        self._truth: dict[str, pq.ParquetWriter] = {}
        self._junk_persons: dict[tuple[str, str], list[np.ndarray]] = {}
        self._junk: dict[tuple[str, str], list[int]] = {
            **{("email", v): [0, 0] for v in JUNK_EMAILS},
            **{("phone", v): [0, 0] for v in JUNK_PHONES},
        }

    def write_static(self, chunk: FileChunk) -> None:
        """Write a file that does not depend on persons (catalogue, campaign list)."""
        self._append(ChunkFile(chunk, encode(chunk), pa.table({})), pa.array([], pa.string()))

    def add(self, result: ChunkResult) -> None:
        """Append one chunk's files and truth."""
        self._junk_persons = {k: [] for k in self._junk}
        for part in result.files:
            self._append(part, result.person_ids)
        for junk_key, found in self._junk_persons.items():
            if found:
                self._junk[junk_key][1] += len(np.unique(np.concatenate(found)))
        for name, table in result.truth.items():
            self._table(name, table)
        for name, (path, table) in result.line_truth.items():
            opened = self._files[path]
            assert opened.chunk_offsets is not None
            rows = np.asarray(table.column("_row"))
            lines = opened.chunk_first_line + opened.chunk_offsets[rows]
            table = table.drop_columns(["_row"]).append_column("line", pa.array(lines))
            self._table(
                name, table.append_column("file", pa.repeat(pa.scalar(path), table.num_rows))
            )

    def _append(self, part: ChunkFile, person_ids: pa.Array) -> None:
        chunk, encoded = part.chunk, part.encoded
        spec = chunk.spec
        opened = self._files.get(spec.path)
        if opened is None:
            target = self.out / spec.path
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = target.open("wb")
            handle.write(encoded.header)
            opened = _Open(spec, handle, encoded.columns, 1 if encoded.header else 0, 0)
            self._files[spec.path] = opened
        first_line = opened.lines + 1
        opened.handle.write(encoded.data)
        opened.lines += encoded.lines
        opened.rows += encoded.rows
        opened.chunk_first_line = first_line
        opened.chunk_offsets = encoded.line_offsets
        if chunk.rows == 0 or len(person_ids) == 0:
            return
        line = first_line + encoded.line_offsets
        owner = person_ids.take(pa.array(np.maximum(chunk.person, 0)))
        self._record_map(spec, chunk, owner)
        self._defects(spec, part, line, owner)
        if spec.truth_values:
            self._values(spec, chunk, line)

    def _record_map(self, spec: FileSpec, chunk: FileChunk, owner: pa.Array) -> None:
        tables = []
        for entity, key in chunk.keys:
            valid = np.asarray(pc.is_valid(key))
            rows = np.flatnonzero(valid)
            if len(rows) == 0:
                continue
            encoded = key.take(pa.array(rows)).dictionary_encode()
            _, first = np.unique(np.asarray(encoded.indices), return_index=True)
            pick = pa.array(rows[np.sort(first)])
            n = len(pick)
            tables.append(
                pa.table(
                    {
                        "system": pa.repeat(pa.scalar(spec.system), n),
                        "file": pa.repeat(pa.scalar(spec.path), n),
                        "entity": pa.repeat(pa.scalar(entity), n),
                        "source_key": key.take(pick),
                        "person_id": owner.take(pick),
                    }
                )
            )
        if tables:
            self._table("record_map", pa.concat_tables(tables))

    def _defects(self, spec: FileSpec, part: ChunkFile, line: np.ndarray, owner: pa.Array) -> None:
        table = part.defects
        if table.num_rows == 0:
            return
        rows = np.asarray(table.column("row"))
        key = part.chunk.keys[0][1] if part.chunk.keys else pa.nulls(part.chunk.rows, pa.string())
        n = len(rows)
        self._table(
            "defects",
            pa.table(
                {
                    "file": pa.repeat(pa.scalar(spec.path), n),
                    "line": pa.array(line[rows]),
                    "source_key": key.take(pa.array(rows)),
                    "defect": table.column("defect"),
                    "column": table.column("column"),
                    "person_id": owner.take(pa.array(rows)),
                }
            ),
        )

    def _values(self, spec: FileSpec, chunk: FileChunk, line: np.ndarray) -> None:
        assert chunk.columns is not None
        key = chunk.keys[0][1]
        n = chunk.rows
        parts = []
        for name, values in chunk.columns.items():
            parts.append(
                pa.table(
                    {
                        "file": pa.repeat(pa.scalar(spec.path), n),
                        "line": pa.array(line),
                        "source_key": key,
                        "column": pa.repeat(pa.scalar(name), n),
                        "value": values,
                    }
                )
            )
            for kind, junk in self._junk:
                hits = np.asarray(pc.fill_null(pc.equal(values, junk), False))
                if hits.any():
                    self._junk[(kind, junk)][0] += int(hits.sum())
                    self._junk_persons[(kind, junk)].append(chunk.person[hits])
        self._table("crm_values", pa.concat_tables(parts))

    def _table(self, name: str, table: pa.Table) -> None:
        writer = self._truth.get(name)
        if writer is None:
            target = self.out / "truth" / f"{name}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(target, table.schema)
            self._truth[name] = writer
        writer.write_table(table.cast(writer.schema))

    def junk_table(self) -> pa.Table:
        """The shared junk identifiers and how many records and persons carry each."""
        items = list(self._junk.items())
        return pa.table(
            {
                "identifier_type": pa.array([k[0] for k, _ in items]),
                "value": pa.array([k[1] for k, _ in items]),
                "records": pa.array([v[0] for _, v in items], pa.int64()),
                "persons": pa.array([v[1] for _, v in items], pa.int64()),
            }
        )

    def close(self) -> list[GeneratedFile]:
        """Close every file and truth table; return the source files written."""
        for writer in self._truth.values():
            writer.close()
        files = []
        for opened in self._files.values():
            opened.handle.close()
            spec = opened.spec
            files.append(
                GeneratedFile(
                    spec.path,
                    spec.system,
                    spec.entity,
                    spec.format,
                    spec.encoding,
                    spec.delimiter,
                    opened.rows,
                )
            )
        return files

    def headers(self) -> dict[str, list[str]]:
        """CSV column names per written file."""
        return {path: opened.header for path, opened in self._files.items()}
