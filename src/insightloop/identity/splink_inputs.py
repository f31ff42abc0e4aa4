"""The prepared inputs of a model: checked, conformed, junk values removed, sampled, hashed.

Examples
--------
>>> import pyarrow as pa
>>> t = pa.table({"unique_id": ["1", "2", "3"], "phone": ["000", "000", "123"]})
>>> cleaned, report = drop_junk({"records": t}, max_records=1)
>>> cleaned["records"]["phone"].to_pylist(), report["phone"]["records"]
([None, None, '123'], 2)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.identity.splink_prepare import roles_of
from insightloop.identity.splink_settings import MatchError

__all__ = [
    "conform",
    "drop_junk",
    "drop_known_junk",
    "frequent_values",
    "hash_tables",
    "inputs_of",
    "merged_roles",
    "null_values",
    "null_where",
    "sample_records",
    "usable_columns",
]

_JUNK_COLUMNS = {"email": ("email", "email_local"), "phone": ("phone",)}


def inputs_of(records: pa.Table | Mapping[str, pa.Table]) -> tuple[dict[str, pa.Table], bool]:
    """Name -> prepared table, all with the same columns, and whether they are to be linked."""
    inputs = {"records": records} if isinstance(records, pa.Table) else dict(records)
    if not inputs or any(t.num_rows == 0 for t in inputs.values()):
        raise MatchError("There are no records to match.", hint="Give at least one record.")
    missing = [n for n, t in inputs.items() if "unique_id" not in t.column_names]
    if missing:
        raise MatchError(
            f"Input(s) {', '.join(missing)} are not prepared (no unique_id column).",
            hint="Prepare records with insightloop.identity.splink_prepare.prepare_records().",
        )
    link = len(inputs) > 1
    columns = sorted({c for t in inputs.values() for c in t.column_names})
    return {n: conform(t, columns) for n, t in inputs.items()}, link


def conform(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """``table`` with exactly ``columns`` (missing ones null strings), schema metadata kept."""
    arrays = [
        table[c] if c in table.column_names else pa.nulls(table.num_rows, pa.string())
        for c in columns
    ]
    return pa.table(arrays, names=list(columns)).replace_schema_metadata(table.schema.metadata)


def merged_roles(inputs: Mapping[str, pa.Table]) -> dict[str, list[str]]:
    """The roles the inputs were prepared from, merged (for the model's description)."""
    merged: dict[str, list[str]] = {}
    for table in inputs.values():
        for role, cols in roles_of(table).items():
            merged.setdefault(role, [])
            merged[role] += [c for c in cols if c not in merged[role]]
    return merged


def frequent_values(
    inputs: Mapping[str, pa.Table], max_records: int
) -> dict[str, tuple[pa.Array, int]]:
    """Per e-mail and phone column, the values held by more than ``max_records`` records of
    ``inputs``, and how many records hold them."""
    found: dict[str, tuple[pa.Array, int]] = {}
    for column in _JUNK_COLUMNS:
        if not all(column in t.column_names for t in inputs.values()):
            continue
        # value_counts counts nulls as a value; drop_null first is slow on chunked strings.
        # Chunks, not the columns: pa.chunked_array() of chunked arrays walks them value by
        # value (0.6 s at a million e-mails).
        chunks = [chunk for t in inputs.values() for chunk in t[column].chunks]
        kind = next(iter(inputs.values()))[column].type
        counts = pc.value_counts(pa.chunked_array(chunks, type=kind))
        frequent = pc.and_(
            pc.greater(counts.field("counts"), max_records), pc.is_valid(counts.field("values"))
        )
        junk = counts.field("values").filter(frequent)
        if len(junk):
            found[column] = (junk, int(pc.sum(counts.field("counts").filter(frequent)).as_py()))
    return found


def drop_junk(
    inputs: Mapping[str, pa.Table], max_records: int
) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """Null e-mails and phones held by more than ``max_records`` records (reported by count;
    the values are kept only as SHA-256 hashes, to recognise them in later batches)."""
    report: dict[str, Any] = {}
    found = frequent_values(inputs, max_records)
    for column, (junk, records) in found.items():
        hashes = sorted(hashlib.sha256(v.encode()).hexdigest() for v in junk.to_pylist())
        report[column] = {"values": len(junk), "records": records, "hashes": hashes}
    return {name: null_values(t, found) for name, t in inputs.items()}, report


def null_values(table: pa.Table, junk: Mapping[str, tuple[pa.Array, int]]) -> pa.Table:
    """``table`` with the values of :func:`frequent_values` (and what depends on them) nulled."""
    for column, (values, _) in junk.items():
        table = null_where(table, column, _JUNK_COLUMNS[column], values)
    return table


def null_where(table: pa.Table, column: str, dependants: Sequence[str], junk: pa.Array) -> pa.Table:
    """``table`` with ``dependants`` nulled where ``column`` holds one of ``junk``."""
    is_junk = pc.fill_null(pc.is_in(table[column], value_set=junk), False)
    for dependant in dependants:
        if dependant in table.column_names:
            index = table.schema.get_field_index(dependant)
            nulled = pc.if_else(is_junk, pa.scalar(None, pa.string()), table[dependant])
            table = table.set_column(index, dependant, nulled)
    return table


def drop_known_junk(table: pa.Table, hashes: Mapping[str, set[str]]) -> pa.Table:
    """Null the values found junk in training (known by their SHA-256) in a later batch."""
    for column, known in hashes.items():
        if column not in table.column_names or not known:
            continue
        values = pc.unique(table[column].drop_null()).to_pylist()
        junk = [v for v in values if hashlib.sha256(v.encode()).hexdigest() in known]
        if junk:
            table = null_where(table, column, _JUNK_COLUMNS[column], pa.array(junk, pa.string()))
    return table


def sample_records(table: pa.Table, proportion: float, seed: int) -> pa.Table:
    """A seeded random sample of about ``proportion`` of the rows."""
    import numpy as np

    keep = np.random.default_rng(seed).random(table.num_rows) < proportion
    return table.filter(pa.array(keep))


def usable_columns(
    inputs: Mapping[str, pa.Table], min_fill: float
) -> tuple[list[str], dict[str, float]]:
    """The columns filled on at least ``min_fill`` of the records, and every column's fill."""
    total = sum(t.num_rows for t in inputs.values())
    fill: dict[str, float] = {}
    for column in next(iter(inputs.values())).column_names:
        if column == "unique_id":
            continue
        filled = sum(t.num_rows - t[column].null_count for t in inputs.values())
        fill[column] = filled / total
    usable = [c for c, v in fill.items() if v >= min_fill]
    # Auxiliary columns of the first name (for its guards and its mistyped-nickname level) go
    # with it, however sparse.
    for auxiliary in ("first_name_known", "first_name_slips"):
        if "first_name" in usable and auxiliary in fill and auxiliary not in usable:
            usable.append(auxiliary)
    return usable, fill


def hash_tables(tables: Iterable[pa.Table]) -> str:
    """BLAKE2 of the Arrow buffers of the prepared inputs (order-sensitive; no copy)."""
    digest = hashlib.blake2b(digest_size=16)
    for table in tables:
        for column in table.columns:
            for chunk in column.chunks:
                for buffer in chunk.buffers():
                    if buffer is not None:
                        digest.update(memoryview(buffer))
    return digest.hexdigest()
