"""Load one batch (a file, or a database increment) of one source: map, check, write.

Each chunk the reader yields is mapped to canonical columns, checked against the contract and
matched with what the source loaded before (see :mod:`.compare`): new rows are inserted, changed
rows replace their earlier version (customers keep it as history: the old version gets
``valid_to`` and ``is_current = false``), rows identical to the loaded version are skipped, and
rejected rows go to the quarantine with every reason. The caller runs the whole batch in one
transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.ingest.load.ahead import ahead
from insightloop.ingest.load.compare import CHANGED, CHANGED_IN_BATCH, SAME, UNTRACKED, classify
from insightloop.ingest.load.keys import LoadedKeys
from insightloop.ingest.load.report import BatchReport
from insightloop.ingest.readers import LOCATION_COLUMNS, RejectedRecord
from insightloop.ingest.sources import SourceDeclaration, apply_mapping, entity_table
from insightloop.ingest.sources.apply import KEY_COLUMN
from insightloop.ingest.sources.explode import explode_json
from insightloop.quality.contracts import (
    Contract,
    ContractResult,
    UniqueKeyRule,
    evaluate,
    quarantine_id,
    quarantine_rows,
    quarantine_schema,
)
from insightloop.store import Engine
from insightloop.store.schema import table_spec

__all__ = ["BatchWriter"]

_SCD = "src_customers"
_HIDDEN = (*LOCATION_COLUMNS, KEY_COLUMN)


def key_columns(contract: Contract) -> list[str]:
    """The entity's key: the columns of the contract's first unique-key rule."""
    for rule in contract.rules:
        if isinstance(rule, UniqueKeyRule):
            return list(rule.columns)
    return []


@dataclass(frozen=True)
class PreparedChunk:
    """One chunk mapped to the canonical columns and checked against the contract, ready to be
    compared with the loaded rows and written."""

    raw: pa.Table
    location: pa.Array
    mapped: pa.Table
    result: ContractResult


@dataclass
class BatchWriter:
    """Writes the chunks of one batch and keeps its account in ``report``."""

    engine: Engine
    source: SourceDeclaration
    contract: Contract
    report: BatchReport
    loaded_at: datetime
    reference_keys: Mapping[str, pa.Array]
    has_rows: bool  # whether the source had rows in its table before this batch
    on_chunk: Callable[[pa.Table, ContractResult], None] | None = None  # e.g. the scorecard
    loaded_keys: LoadedKeys | None = None  # which keys the source may have loaded (see .keys)

    def __post_init__(self) -> None:
        self.table = entity_table(self.source.entity)
        self.columns = [c.name for c in table_spec(self.table).columns]
        self.keys = key_columns(self.contract)
        self.compare = [c for c in self.columns if c not in UNTRACKED and c not in self.keys]
        self.mapping = self.source.model_copy(update={"explode": None})
        self._warnings: Counter[str] = Counter()
        self._rejections: Counter[str] = Counter()
        self._seen: list[pa.Array] = []  # keys this batch loaded, as text

    # -- one chunk ----------------------------------------------------------------------------

    def write_chunk(self, raw: pa.Table | pa.RecordBatch, location: pa.Array) -> None:
        """Map, check and write one chunk; ``location`` gives each raw row's place."""
        self.write_prepared(self.prepare(raw, location))

    def write_chunks(self, chunks: Iterable[tuple[pa.Table | pa.RecordBatch, pa.Array]]) -> None:
        """Write ``(raw, location)`` chunks in order, reading and mapping the next chunk in a
        second thread while one is written (see :mod:`.ahead`)."""
        with closing(ahead(chunks, lambda chunk: self.prepare(*chunk))) as prepared:
            for chunk in prepared:
                self.write_prepared(chunk)

    def prepare(self, raw: pa.Table | pa.RecordBatch, location: pa.Array) -> PreparedChunk:
        """Map one chunk and check it against the contract: Arrow work only, without the
        engine or the batch's state (the reference keys stay the same for the whole batch)."""
        table = pa.Table.from_batches([raw]) if isinstance(raw, pa.RecordBatch) else raw
        if self.source.explode:
            table = explode_json(table, self.source.explode)
            location = self._locations(table)
        mapped = apply_mapping(self.mapping, table)
        result = evaluate(self.contract, mapped, reference_keys=self.reference_keys)
        return PreparedChunk(table, location, mapped, result)

    def write_prepared(self, chunk: PreparedChunk) -> None:
        """Compare a prepared chunk with the loaded rows, write it and account for it."""
        table, location, mapped, result = chunk.raw, chunk.location, chunk.mapped, chunk.result
        codes = self._match(mapped, result)
        same = codes == SAME
        in_batch = codes == CHANGED_IN_BATCH
        if in_batch.any():
            code = f"duplicate_key:{','.join(self.keys)}"
            result = _reject(result, in_batch, code)
        unchanged = pa.array(same)
        result = replace(result, accepted=pc.and_(result.accepted, pc.invert(unchanged)))
        accepted = result.accepted.to_numpy(zero_copy_only=False)
        changed = accepted & (codes == CHANGED)
        self._write_rows(mapped, accepted, changed)
        self._quarantine(result, table, location)
        if self.on_chunk is not None:
            self.on_chunk(mapped, result)
        r = self.report
        r.rows_read += mapped.num_rows
        r.rows_loaded += int(accepted.sum())
        r.rows_updated += int(changed.sum())
        r.rows_quarantined += result.rows_rejected
        r.duplicates_in_batch += result.exact_duplicates
        r.unchanged_rows += int(same.sum())
        self._warnings.update(result.warning_counts())
        self._rejections.update(result.rejection_counts())
        r.warnings = dict(sorted(self._warnings.items()))
        r.rejections = dict(sorted(self._rejections.items()))

    def _locations(self, table: pa.Table) -> pa.Array:
        """Locations after an explode: the parent row's line, with the element's position."""
        line = table.column("_line").cast(pa.string())
        pos = table.column(f"{self.source.explode}._position").cast(pa.string())
        shown = pa.scalar(self.report.location, pa.string())
        return pc.binary_join_element_wise(shown, line, pos, ":")

    def _match(self, mapped: pa.Table, result: ContractResult) -> np.ndarray:
        """Compare the accepted rows with the loaded ones of the same keys.

        Only keys the source may have loaded are looked up: those whose hash the load's
        :class:`~.keys.LoadedKeys` holds, or, without those (Spark), when the source had no rows
        before this batch, those an earlier chunk of the batch loaded (usually none).
        """
        n = mapped.num_rows
        codes = np.zeros(n, dtype=np.int8)
        accepted = result.accepted.to_numpy(zero_copy_only=False)
        if not self.keys or not accepted.any():
            return codes
        candidates = accepted.copy()
        if self.loaded_keys is not None:
            # Only keys whose hash the source has loaded can match a loaded row.
            hashes = self.loaded_keys.hashes(mapped)
            candidates &= self.loaded_keys.may_contain(hashes, has_rows=self.has_rows)
            self.loaded_keys.add(hashes[accepted])
        elif not self.has_rows:
            keys = _key_text(mapped, self.keys)
            seen = pa.concat_arrays(self._seen) if self._seen else pa.array([], pa.string())
            candidates &= np.asarray(
                pc.fill_null(pc.is_in(keys, value_set=seen), False).to_numpy(zero_copy_only=False)
            )
            self._seen.append(pc.filter(keys, pa.array(accepted)))
        if not candidates.any():
            return codes
        rows = np.flatnonzero(candidates)
        incoming = mapped.take(pa.array(rows))
        wanted = incoming.select(self.keys).group_by(self.keys).aggregate([])
        t = self.engine.table(self.table)
        known = t.filter(t._source == self.source.name)
        if self.table == _SCD:
            known = known.filter(known.is_current)
        known = known.semi_join(ibis.memtable(wanted), self.keys)
        existing = self.engine.to_pyarrow(known.select(*self.keys, *self.compare, "_batch_id"))
        codes[rows] = classify(incoming, existing, self.keys, self.compare, self.report.batch_id)
        return codes

    def _write_rows(self, mapped: pa.Table, accepted: np.ndarray, changed: np.ndarray) -> None:
        if not accepted.any():
            return
        rows = mapped.select([c for c in self.columns if c in mapped.column_names])
        if not accepted.all():  # filtering copies every value: not for a chunk taken whole
            rows = rows.filter(pa.array(accepted))
        n = rows.num_rows
        at = pa.array(np.full(n, np.datetime64(self.loaded_at, "us")))
        rows = _set(rows, "_batch_id", pa.repeat(pa.scalar(self.report.batch_id), n))
        rows = _set(rows, "_loaded_at", at)
        if changed.any():
            old = mapped.filter(pa.array(changed)).select(self.keys)
            old = old.append_column("_source", pa.repeat(pa.scalar(self.source.name), len(old)))
            if self.table == _SCD:
                self.engine.update_matching(
                    self.table,
                    old,
                    {"is_current": False, "valid_to": self.loaded_at},
                    where={"is_current": True},
                )
            else:
                self.engine.delete_matching(self.table, old)
        if self.table == _SCD:
            rows = _set(rows, "valid_from", at)
            rows = _set(rows, "valid_to", pa.nulls(n, pa.timestamp("us")))
            rows = _set(rows, "is_current", pa.repeat(pa.scalar(True), n))
        self.engine.insert(self.table, rows)

    def _quarantine(self, result: ContractResult, raw: pa.Table, location: pa.Array) -> None:
        if result.rows_rejected == 0:
            return
        values = raw.select([c for c in raw.column_names if c not in _HIDDEN])
        rows = quarantine_rows(
            result,
            values,
            source=self.source.name,
            entity=self.source.entity,
            batch_id=self.report.batch_id,
            locations=location,
            quarantined_at=self.loaded_at,
        )
        self._upsert_quarantine(rows)

    def quarantine_unreadable(self, records: Iterable[RejectedRecord]) -> None:
        """Quarantine the records the reader could not split into fields."""
        records = list(records)
        if not records:
            return
        schema = quarantine_schema()
        locs = [f"{self.report.location}:{r.line}" for r in records]
        data = {
            "quarantine_id": [quarantine_id(self.source.name, self.source.entity, x) for x in locs],
            "source": [self.source.name] * len(records),
            "entity": [self.source.entity] * len(records),
            "batch_id": [self.report.batch_id] * len(records),
            "location": locs,
            "reason_codes": [[r.reason] for r in records],
            "raw": [json.dumps({"_text": r.raw}, ensure_ascii=False) for r in records],
            "quarantined_at": [self.loaded_at] * len(records),
            "retried_at": [None] * len(records),
            "resolved": [False] * len(records),
        }
        self._upsert_quarantine(
            pa.table([pa.array(data[f.name], f.type) for f in schema], schema=schema)
        )
        self.report.rows_read += len(records)
        self.report.rows_quarantined += len(records)
        self._rejections.update(r.reason for r in records)
        self.report.rejections = dict(sorted(self._rejections.items()))

    def _upsert_quarantine(self, rows: pa.Table) -> None:
        """Replace earlier quarantine rows of the same input (same id), then add these."""
        ids = rows.select(["quarantine_id"])
        t = self.engine.table("quarantine")
        present = t.semi_join(ibis.memtable(ids), "quarantine_id").count()
        if int(self.engine.execute(present)) > 0:
            self.engine.delete_matching("quarantine", ids)
        self.engine.insert("quarantine", rows)


def _key_text(table: pa.Table, keys: list[str]) -> pa.Array:
    """Each row's key as one text value (columns joined by a unit separator)."""
    parts = [table.column(k).combine_chunks().cast(pa.string()) for k in keys]
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def _reject(result: ContractResult, mask: np.ndarray, code: str) -> ContractResult:
    """``result`` with the rows of ``mask`` rejected for ``code`` as well."""
    codes = result.reject_codes.to_pylist()
    for i in np.flatnonzero(mask):
        codes[i] = [*codes[i], code]
    flag = pa.array(mask)
    return replace(
        result,
        reject_codes=pa.array(codes, pa.list_(pa.string())),
        accepted=pc.and_(result.accepted, pc.invert(flag)),
        rejected=pc.or_(result.rejected, flag),
    )
