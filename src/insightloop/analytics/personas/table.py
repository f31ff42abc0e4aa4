"""Reading a customer feature table: the id column, numeric matrices, the fitting sample.

The input is a pyarrow Table or a pandas DataFrame with one row per customer. Everything
downstream works on float64 NumPy matrices in which a null (or an infinite value) is NaN.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.analytics.personas.settings import PersonaError

__all__ = [
    "as_arrow",
    "check_ids",
    "is_numeric",
    "numeric_columns",
    "numeric_matrix",
    "sample_rows",
]


def as_arrow(features: Any) -> pa.Table:
    """The feature table as a pyarrow Table (a pandas DataFrame is converted, index dropped)."""
    if isinstance(features, pa.Table):
        return features
    if isinstance(features, pd.DataFrame):
        return pa.Table.from_pandas(features, preserve_index=False)
    raise PersonaError(
        f"features must be a pyarrow Table or a pandas DataFrame, not {type(features).__name__}",
        hint="Pull the feature table from the engine as Arrow (expr.to_pyarrow()).",
    )


def check_ids(table: pa.Table, id_column: str) -> pa.ChunkedArray:
    """The id column, checked to be present, complete and unique."""
    if id_column not in table.column_names:
        raise PersonaError(
            f"the feature table has no id column {id_column!r}",
            hint=f"Pass id_column=...; the table has {', '.join(table.column_names[:12])}.",
        )
    ids = table.column(id_column)
    problems = []
    if ids.null_count:
        problems.append(f"{ids.null_count} null id(s)")
    distinct = pc.count_distinct(ids, mode="only_valid").as_py()
    if distinct < len(ids) - ids.null_count:
        problems.append(f"{len(ids) - ids.null_count - distinct} duplicate id(s)")
    if problems:
        raise PersonaError(
            f"column {id_column!r} must identify each customer once: {'; '.join(problems)}",
            hint="Segment one row per customer: aggregate the features by customer first.",
        )
    return ids


def is_numeric(data_type: pa.DataType) -> bool:
    """Whether a column of this type can be a clustering feature (numbers and booleans)."""
    return bool(
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
        or pa.types.is_decimal(data_type)
    )


def numeric_columns(table: pa.Table, exclude: Sequence[str]) -> list[str]:
    """Numeric and boolean columns of ``table`` in table order, except those in ``exclude``."""
    skip = set(exclude)
    return [f.name for f in table.schema if f.name not in skip and is_numeric(f.type)]


def numeric_matrix(table: pa.Table, columns: Sequence[str]) -> np.ndarray:
    """Columns as an ``(n, len(columns))`` float64 matrix; nulls and infinities become NaN.

    Examples
    --------
    >>> t = pa.table({"a": [1, None, 3], "b": [0.5, float("inf"), 2.0]})
    >>> numeric_matrix(t, ["a", "b"]).tolist()
    [[1.0, 0.5], [nan, nan], [3.0, 2.0]]
    """
    missing = [c for c in columns if c not in table.column_names]
    wrong = [c for c in columns if c in table.column_names and not is_numeric(table[c].type)]
    if missing or wrong:
        problems = [f"missing column(s): {', '.join(missing)}"] if missing else []
        if wrong:
            problems.append("not numeric: " + ", ".join(f"{c} ({table[c].type})" for c in wrong))
        raise PersonaError(
            "feature columns cannot be used: " + "; ".join(problems),
            hint="Features are numbers or booleans; pass text columns as categorical_columns.",
        )
    out = np.empty((table.num_rows, len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        values = pc.cast(table.column(name), pa.float64()).to_numpy()
        out[:, j] = values
    out[~np.isfinite(out)] = np.nan
    return out


def sample_rows(ids: pa.ChunkedArray, size: int, seed: int) -> np.ndarray:
    """Row positions of the fitting sample: the ``size`` customers with the smallest id hash.

    The sample and its order depend only on the set of ids and the seed, never on the row
    order of the table, so a shuffled table yields exactly the same model.

    Examples
    --------
    >>> ids = pa.chunked_array([["c1", "c2", "c3", "c4"]])
    >>> shuffled = pa.chunked_array([["c3", "c1", "c4", "c2"]])
    >>> [ids[int(i)].as_py() for i in sample_rows(ids, 2, seed=0)] == [
    ...     shuffled[int(i)].as_py() for i in sample_rows(shuffled, 2, seed=0)
    ... ]
    True
    """
    values = ids.to_numpy()
    if values.dtype.kind in "iub":
        values = values.astype(np.int64)
    elif values.dtype.kind != "O":
        values = values.astype(str).astype(object)
    base = pd.util.hash_array(values, categorize=False)
    salt = int.from_bytes(hashlib.sha256(f"personas:{seed}".encode()).digest()[:8], "little")
    mixed = pd.util.hash_array(base ^ np.uint64(salt), categorize=False)
    if size >= len(mixed):
        return np.argsort(mixed, kind="stable")
    chosen = np.argpartition(mixed, size - 1)[:size]
    return chosen[np.argsort(mixed[chosen], kind="stable")]
