"""Reading a generated demo company back: truth tables, manifest, CSV records, JSON lines."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from insightloop.demo import GenerationReport


@dataclass
class Company:
    """A generated company with cached access to its truth tables."""

    report: GenerationReport
    _cache: dict[str, pa.Table] = field(default_factory=dict)
    _records: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    _documents: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.report.out

    def truth(self, name: str) -> pa.Table:
        if name not in self._cache:
            self._cache[name] = pq.read_table(self.root / "truth" / f"{name}.parquet")
        return self._cache[name]

    def params(self) -> dict[str, Any]:
        return json.loads((self.root / "truth" / "params.json").read_text(encoding="utf-8"))

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.root / "manifest.json").read_text(encoding="utf-8"))

    def spec(self, path: str) -> dict[str, Any]:
        return next(f for f in self.manifest()["files"] if f["path"] == path)

    def records(self, path: str) -> list[tuple[int, dict[str, str]]]:
        """CSV records with the file line each starts on (the header is line 1)."""
        if path not in self._records:
            spec = self.spec(path)
            self._records[path] = list(
                read_csv(self.root / path, spec["encoding"], spec["delimiter"])
            )
        return self._records[path]

    def json_lines(self, path: str) -> list[tuple[int, dict[str, Any]]]:
        """JSON documents with their line numbers (parsed once per session; do not modify)."""
        if path not in self._documents:
            with (self.root / path).open(encoding="utf-8") as handle:
                self._documents[path] = [
                    (i, json.loads(line)) for i, line in enumerate(handle, start=1)
                ]
        return self._documents[path]

    def event_files(self) -> list[str]:
        return [f.path for f in self.report.files if f.system == "events"]


def read_csv(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Records of a CSV export, each with the physical line it starts on."""
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader)
        previous = reader.line_num
        for row in reader:
            yield previous + 1, dict(zip(header, row, strict=True))
            previous = reader.line_num
